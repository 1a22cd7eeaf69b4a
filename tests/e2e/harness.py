"""The real bot ``Application`` against the fake Bot API and fake providers, all over loopback HTTP.

``BotHarness`` plays the people in the chats (``say``, ``upload``, ``press``) and reads what the bot answered.
The bot runs in the test's event loop through PTB's own lifecycle: initialize, ``post_init``, polling, stop,
``post_stop``, shutdown, ``post_shutdown`` — the order ``run_polling`` uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from telegram.error import TelegramError

from bot.app import SmsApplication, build_application
from bot.config import Settings
from bot.lifecycle import polling
from bot.providers.sms254 import Sms254Client
from bot.providers.texin import TexinClient
from bot.providers.types import ProviderName, SmsProvider
from bot.runtime import Services, utc_now
from bot.services.registry import ProviderRegistry
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer
from tests.providers.support import FAST_RETRY

REPO = Path(__file__).resolve().parents[2]
ADMIN = 1001
SENDER = 2002
VIEWER = 3003
STRANGER = 4004

# Long enough for a loaded CI machine, short enough that fault tests stay quick.
PROVIDER_TIMEOUT = httpx.Timeout(connect=1.0, read=1.0, write=1.0, pool=1.0)


def test_settings(
    telegram: FakeTelegram,
    texin: TexinFakeServer | None,
    sms254: Sms254FakeServer | None,
    database_path: Path,
    **overrides: Any,
) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": SecretStr(telegram.token),
        "telegram_api_url": telegram.base_url,
        "telegram_file_url": telegram.base_file_url,
        "admin_chat_ids": [ADMIN],
        "database_path": database_path,
        "balance_check_interval": 0,
        "delivery_check_interval": 0,
        "provider_timeout": 1.0,
        "confirm_above_units": 3,
        "bulk_progress_interval": 0.2,
        "alert_fold_window": 5.0,
    }
    if texin is not None:
        values.update(texin_api_key=SecretStr(texin.api_key), texin_base_url=texin.base_url)
    if sms254 is not None:
        values.update(
            sms254_username=sms254.username,
            sms254_api_key=SecretStr(sms254.api_key),
            sms254_send_url=sms254.send_url,
            sms254_credits_url=sms254.credits_url,
        )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def fast_registry(settings: Settings, *, batch_size: int | None = None) -> ProviderRegistry:
    """Like production's registry, with quick retries so failure paths do not slow the suite."""
    providers: dict[ProviderName, SmsProvider] = {}
    size = batch_size or settings.bulk_batch_size
    if settings.texin_api_key is not None:
        providers[ProviderName.TEXIN] = TexinClient(
            api_key=settings.texin_api_key,
            base_url=settings.texin_base_url,
            sender_id=settings.texin_sender_id,
            timeout=PROVIDER_TIMEOUT,
            retry=FAST_RETRY,
            max_batch_size=size,
        )
    if settings.sms254_username is not None and settings.sms254_api_key is not None:
        providers[ProviderName.SMS254] = Sms254Client(
            username=settings.sms254_username,
            api_key=settings.sms254_api_key,
            send_url=settings.sms254_send_url,
            credits_url=settings.sms254_credits_url,
            sender_id=settings.sms254_sender_id,
            timeout=PROVIDER_TIMEOUT,
            retry=FAST_RETRY,
            max_batch_size=size,
        )
    return ProviderRegistry(providers, settings.chosen_default_provider)


def process_environment(
    telegram: FakeTelegram, database: Path, texin: TexinFakeServer | None = None, **variables: str
) -> dict[str, str]:
    """The environment of a ``python -m bot`` process pointed at the fakes (nothing of ours inherited)."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(database.parent),
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(REPO),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.base_url,
        "TELEGRAM_FILE_URL": telegram.base_file_url,
        "ADMIN_CHAT_IDS": str(ADMIN),
        "DATABASE_PATH": str(database),
    }
    if texin is not None:
        environment.update(TEXIN_API_KEY=texin.api_key, TEXIN_BASE_URL=texin.base_url)
    environment.update(variables)
    return environment


def command_environment(database: Path, **variables: str) -> dict[str, str]:
    """The environment of a ``python -m bot <command>`` that reaches no Telegram: the simulator as its provider."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(database.parent),
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(REPO),
        "TELEGRAM_BOT_TOKEN": "123456:TEST-token-for-commands",
        "ADMIN_CHAT_IDS": str(ADMIN),
        "SMS_SIMULATOR": "true",
        "DATABASE_PATH": str(database),
    }
    environment.update(variables)
    return environment


def bulk_process_environment(
    telegram: FakeTelegram,
    database: Path,
    texin: TexinFakeServer | None,
    *,
    batch: int,
    concurrency: int,
    progress: float,
    provider_timeout: float,
    **variables: str,
) -> dict[str, str]:
    """``process_environment`` for a bulk job's process test: its batches and slots, no periodic provider checks,
    quiet logs unless ``LOG_LEVEL`` is given."""
    return process_environment(
        telegram,
        database,
        texin,
        BULK_BATCH_SIZE=str(batch),
        BULK_CONCURRENCY=str(concurrency),
        BULK_PROGRESS_INTERVAL=str(progress),
        PROVIDER_TIMEOUT=str(provider_timeout),
        BALANCE_CHECK_INTERVAL="0",
        DELIVERY_CHECK_INTERVAL="0",
        **({"LOG_LEVEL": "WARNING"} | variables),
    )


def start_bot_process(environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``python -m bot`` as a real process, its output appended to ``log`` (restarts append to the same file)."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=log.parent, env=environment, stdout=output, stderr=output
        )


def stop_bot_process(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, as ``docker stop`` does; a process still running after ``timeout`` is killed and fails the test."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


async def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll a cheap condition (a fake's counter) until it holds; fails naming ``what``."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.asynccontextmanager
async def running(
    application: SmsApplication, *, polling_errors_to_handler: bool = False
) -> AsyncIterator[SmsApplication]:
    """Run the application the way ``run_polling`` does, and stop it the same way.

    ``polling_errors_to_handler``: failed getUpdates calls go to the error handler, as under ``run_polling``
    (otherwise PTB logs them itself); for tests where Telegram goes away."""

    def polling_failed(error: TelegramError) -> None:
        application.create_task(application.process_error(error=error, update=None))

    error_callback = polling_failed if polling_errors_to_handler else None
    async with polling(application, poll_interval=0, timeout=1, error_callback=error_callback):
        yield application


@dataclass
class BotHarness:
    telegram: FakeTelegram
    texin: TexinFakeServer
    sms254: Sms254FakeServer
    application: SmsApplication
    settings: Settings

    @property
    def services(self) -> Services:
        return self.application.bot_data.services

    async def say(
        self,
        chat_id: int,
        text: str,
        *,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> SentMessage:
        """Type ``text`` in ``chat_id`` and return the bot's first answer there (new or edited)."""
        mark = self.telegram.mark()
        self.telegram.send_text(chat_id, text, **kwargs)
        return await self.telegram.wait_for_message(chat_id, predicate, timeout=timeout, after=mark)

    async def upload(
        self, chat_id: int, content: bytes, file_name: str, caption: str, *, mime_type: str = "text/csv"
    ) -> SentMessage:
        mark = self.telegram.mark()
        self.telegram.send_document(chat_id, content, file_name, mime_type=mime_type, caption=caption)
        return await self.telegram.wait_for_message(chat_id, timeout=10.0, after=mark)

    async def press(
        self,
        chat_id: int,
        message: SentMessage,
        label_part: str,
        *,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
    ) -> SentMessage:
        """Press the button whose label contains ``label_part``; return the next bot message or edit."""
        data = button_data(message, label_part)
        mark = self.telegram.mark()
        self.telegram.press_button(chat_id, message.message_id, data)
        return await self.telegram.wait_for_message(chat_id, predicate, timeout=timeout, after=mark)

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until the bot has fetched every update queued so far and finished handling each one: after this,
        a message the bot did not answer was really left unanswered (no sleeping and hoping)."""
        # PTB puts a batch on its update queue before the getUpdates that confirms it.
        await self.telegram.wait_until_confirmed(timeout)
        async with asyncio.timeout(timeout):
            await self.application.update_queue.join()

    async def alert(self, predicate: Callable[[SentMessage], bool], timeout: float = 10.0) -> SentMessage:
        return await self.telegram.wait_for_message(ADMIN, predicate, timeout=timeout)


def button_data(message: SentMessage, label_part: str) -> str:
    markup = message.reply_markup or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if label_part in button["text"]:
                return str(button["callback_data"])
    raise AssertionError(f"no button with {label_part!r} under: {message.text!r} ({markup})")


async def bulk_sent_by_admin(telegram: FakeTelegram, command: str) -> SentMessage:
    """In a bot process that is starting: once it is up, the admin types ``command`` (a /bulk), gets the preview
    and presses Send. Returns the preview."""
    await telegram.wait_for_request("setMyCommands", timeout=30)
    mark = telegram.mark()
    telegram.send_text(ADMIN, command)
    preview = await telegram.wait_for_message(ADMIN, lambda m: "preview" in m.text, after=mark, timeout=30)
    telegram.press_button(ADMIN, preview.message_id, button_data(preview, "Send"))
    return preview


async def start_bot(
    telegram: FakeTelegram,
    texin: TexinFakeServer,
    sms254: Sms254FakeServer,
    database_path: Path,
    *,
    clock: Callable[[], datetime] = utc_now,
    use_texin: bool = True,
    use_sms254: bool = True,
    batch_size: int | None = None,
    **overrides: Any,
) -> tuple[SmsApplication, Settings]:
    settings = test_settings(
        telegram, texin if use_texin else None, sms254 if use_sms254 else None, database_path, **overrides
    )
    application = build_application(settings, providers=fast_registry(settings, batch_size=batch_size), clock=clock)
    return application, settings
