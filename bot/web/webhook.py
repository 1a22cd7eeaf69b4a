"""Webhook mode (``WEBHOOK_URL``): Telegram POSTs updates to our HTTP server instead of us polling.

The run mirrors ``Application.run_polling`` step for step (initialize → ``post_init`` → register → start → run
until a stop signal → stop → ``post_stop`` → shutdown → ``post_shutdown``), only "start polling" becomes
``setWebhook`` with the secret and the bot's ``allowed_updates``. The webhook stays registered when the bot stops
(Telegram keeps the updates for it meanwhile); going back to polling removes it, because PTB's polling start
calls ``deleteWebhook`` (checked by tests/e2e/test_http_webhook.py).

Nothing else calls Telegram while the bot is idle, so a light ``getWebhookInfo`` every third of
``HEALTH_STALE_SECONDS`` keeps ``/healthz`` truthful about Telegram being reachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from typing import Any

from telegram.error import TelegramError

from bot.config import Settings

log = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)


def _raise_system_exit() -> None:
    raise SystemExit


async def _keep_in_touch(application: Any, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await application.bot.get_webhook_info()
        except TelegramError as exc:
            log.warning("Telegram not reachable: %s", exc)


def run_webhook_mode(application: Any, settings: Settings, allowed_updates: Sequence[str]) -> None:
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for sig in _STOP_SIGNALS:  # until post_init installs the shutdown budget's own handlers
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, _raise_system_exit)
    probe: asyncio.Task[None] | None = None
    try:
        loop.run_until_complete(application.initialize())
        if application.post_init is not None:
            loop.run_until_complete(application.post_init(application))
        loop.run_until_complete(
            application.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=list(allowed_updates),
            )
        )
        log.info("webhook registered; Telegram now delivers updates over HTTP")
        loop.run_until_complete(application.start())
        probe = loop.create_task(_keep_in_touch(application, max(settings.health_stale_seconds / 3, 1.0)))
        loop.run_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        try:
            if probe is not None:
                probe.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    loop.run_until_complete(probe)
            if application.running:
                loop.run_until_complete(application.stop())
            if application.post_stop is not None:
                loop.run_until_complete(application.post_stop(application))
            loop.run_until_complete(application.shutdown())
            if application.post_shutdown is not None:
                loop.run_until_complete(application.post_shutdown(application))
        finally:
            loop.close()
