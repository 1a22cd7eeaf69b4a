"""When the bot last reached Telegram, and which Bot API calls failed: recorded where every call is made.

``TrackingRequest`` is python-telegram-bot's own ``HTTPXRequest`` with one more step: any HTTP answer from
Telegram (even an error status: Telegram was reached) stamps ``TelegramContact``; an error status or no answer at
all counts in ``smsrelay_telegram_api_errors`` under the method name (the last path segment, never the token).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from telegram.error import TelegramError
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.web.metrics import Metrics


class TelegramContact:
    """The monotonic time of the last answer from Telegram (None: never)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: float | None = None

    def reached(self) -> None:
        self._last = self._clock()

    def seconds_since(self) -> float | None:
        return None if self._last is None else self._clock() - self._last


def method_of(url: str) -> str:
    """``…/bot<token>/sendMessage`` → ``sendMessage``; only the last segment, so the token never becomes a label."""
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0] or "unknown"


class TrackingRequest(HTTPXRequest):
    def __init__(self, contact: TelegramContact, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._contact = contact
        self._metrics = metrics

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        try:
            status, body = await super().do_request(
                url,
                method,
                request_data=request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except TelegramError:
            self._metrics.telegram_errors.labels(method=method_of(url)).inc()
            raise
        self._contact.reached()
        if status >= 400:
            self._metrics.telegram_errors.labels(method=method_of(url)).inc()
        return status, body
