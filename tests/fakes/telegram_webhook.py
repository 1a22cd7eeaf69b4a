"""Webhook delivery for the fake Bot API, as Telegram does it.

While a webhook is set (``setWebhook``), getUpdates answers 409 Conflict and a delivery thread POSTs each pending
update as JSON to the webhook URL with ``X-Telegram-Bot-Api-Secret-Token``; a 2xx answer confirms the update, any
other answer (or none) leaves it pending and it is tried again shortly. ``deleteWebhook`` stops the deliveries.
Only loopback URLs are accepted (tests never reach anything else).
"""

from __future__ import annotations

import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.fakes.telegram_rules import Params
from tests.fakes.telegram_state import TelegramState
from tests.fakes.telegram_wire import ApiError

WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
RETRY_SECONDS = 0.1


@dataclass
class WebhookRecord:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    answers: list[int] = field(default_factory=list)  # HTTP status of every delivery attempt (0: no answer)


def set_webhook(state: TelegramState, params: Params) -> bool:
    url = str(params.get("url") or "")
    if not url:  # Telegram: an empty url removes the webhook
        state.webhook = None
        return True
    host = urllib.parse.urlsplit(url).hostname
    if host != "127.0.0.1":
        raise ApiError(400, "Bad Request: bad webhook: the fake delivers to 127.0.0.1 only")
    allowed = params.get("allowed_updates")
    secret = params.get("secret_token")
    state.webhook = WebhookRecord(url, str(secret) if secret is not None else None, allowed)
    state.changed()
    return True


def webhook_info(state: TelegramState) -> dict[str, Any]:
    hook: WebhookRecord | None = state.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }
    if hook and hook.allowed_updates is not None:
        info["allowed_updates"] = hook.allowed_updates
    return info


class WebhookDeliverer:
    """One thread per running fake: delivers the oldest pending update while a webhook is set."""

    def __init__(self, state: TelegramState) -> None:
        self._state = state
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="fake-telegram-webhook", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._state.lock:
            self._stop = True
            self._state.changed()
        self._thread.join(timeout=5)

    def _next(self) -> tuple[WebhookRecord, dict[str, Any]] | None:
        state = self._state
        with state.lock:
            while not self._stop:
                hook: WebhookRecord | None = state.webhook
                if hook is not None and state.updates and not state.closed:
                    return hook, state.updates[0]
                state.lock.wait(0.5)
        return None

    def _run(self) -> None:
        while True:
            found = self._next()
            if found is None:
                return
            hook, update = found
            status = _post(hook, update)
            with self._state.lock:
                hook.answers.append(status)
                if 200 <= status < 300:
                    self._state.updates = [u for u in self._state.updates if u["update_id"] != update["update_id"]]
                    self._state.changed()
                else:
                    self._state.lock.wait(RETRY_SECONDS)


def _post(hook: WebhookRecord, update: dict[str, Any]) -> int:
    headers = {}
    if hook.secret_token is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
    try:
        return httpx.post(hook.url, json=update, headers=headers, timeout=5, trust_env=False).status_code
    except httpx.HTTPError:
        return 0


def refuse_polling_while_webhook(state: TelegramState) -> None:
    if state.webhook is not None:
        raise ApiError(409, WEBHOOK_CONFLICT)
