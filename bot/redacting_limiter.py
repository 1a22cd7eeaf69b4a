"""One choke point for what the bot writes into chats: every text and caption passes the secrets redactor.

Replies are built in many handlers (previews quote the message typed, /status quotes a stored body, provider
words reach errors); rather than trust each of them, the redaction sits where every Bot API call passes:
python-telegram-bot hands each call (except getUpdates, which carries no text) to the rate limiter, so this
wrapper cleans the call's parameters and then lets the real limiter do its job.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

from telegram.ext import BaseRateLimiter

RLARGS = TypeVar("RLARGS")  # the inner limiter's per-call arguments, passed through untouched

# The parameters that carry words to a chat (sendMessage, editMessageText, answerCallbackQuery, captions).
TEXT_PARAMETERS = ("text", "caption")


class RedactingRateLimiter(BaseRateLimiter[RLARGS], Generic[RLARGS]):
    def __init__(self, inner: BaseRateLimiter[RLARGS], redact: Callable[[str], str]) -> None:
        self._inner = inner
        self._redact = redact

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RLARGS | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        # ``data`` is the dict this one call was built from, and ``args`` holds that same dict: cleaning it in
        # place changes what goes on the wire (the e2e test on pasted keys checks that it does).
        for name in TEXT_PARAMETERS:
            value = data.get(name)
            if isinstance(value, str):
                data[name] = self._redact(value)
        return await self._inner.process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
