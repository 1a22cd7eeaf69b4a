"""Calls to Telegram that must get through: retried with back-off through outages, 5xx pages and flood limits.

For what a chat is owed at the end of a bulk job (the last state of its progress message, its summary), which no
later call would repair. A refusal that will not change (400 Bad Request, 403 blocked or removed, 401) ends the
attempts at once with ``Refused``; a group that became a supergroup is followed to its new id. Everything else
(connection refused, timeouts, 5xx, 429 with its ``retry_after``) is tried again until ``Patience.give_up_after``
has passed since the first attempt (``GaveUp``). A cancellation (the bot stopping) ends the waiting at once.

A read timeout can mean Telegram did post the message: the next attempt may then show it twice, which beats a
summary nobody sees.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from telegram.error import BadRequest, ChatMigrated, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_MIGRATIONS = 3  # a chat id followed more often than this is a loop, not a migration


@dataclass(frozen=True, slots=True)
class Patience:
    """Back-off doubling from ``first_delay`` up to ``max_delay``; nothing more after ``give_up_after`` seconds."""

    first_delay: float = 1.0
    max_delay: float = 10.0
    give_up_after: float = 300.0


class Refused(Exception):
    """Telegram refused for good (``error`` says why): another try would be refused the same way."""

    def __init__(self, error: TelegramError) -> None:
        super().__init__(str(error))
        self.error = error


class GaveUp(Exception):
    """Still failing when the patience ran out; the message is the last error."""


class Persistent:
    """Retries calls to one chat; several calls share one deadline (the patience counts from construction)."""

    def __init__(self, chat_id: int, patience: Patience, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.chat_id = chat_id  # changes when the chat turns out to have migrated
        self._patience = patience
        self._clock = clock
        self._deadline = clock() + patience.give_up_after

    async def call(self, make: Callable[[int], Awaitable[_T]], what: str) -> _T:
        """``make(chat_id)`` until it succeeds; raises ``Refused`` or ``GaveUp``."""
        delay = self._patience.first_delay
        migrations = 0
        while True:
            try:
                return await make(self.chat_id)
            except ChatMigrated as exc:
                if migrations >= _MIGRATIONS:
                    raise Refused(exc) from exc
                migrations += 1
                log.info("chat %s became %s; sending %s there", self.chat_id, exc.new_chat_id, what)
                self.chat_id = exc.new_chat_id
                continue
            except RetryAfter as exc:
                wait, error = _retry_after_seconds(exc), str(exc)
            except BadRequest as exc:  # a NetworkError subclass in PTB, but nothing a retry would change
                raise Refused(exc) from exc
            except NetworkError as exc:  # connection refused or cut, timeouts, 5xx pages
                wait, error = delay, str(exc)
                delay = min(delay * 2, self._patience.max_delay)
            except TelegramError as exc:  # 403 Forbidden, 401/404 InvalidToken, 409 Conflict
                raise Refused(exc) from exc
            if self._clock() + wait > self._deadline:
                raise GaveUp(error)
            log.warning("could not deliver %s to chat %s (%s); trying again in %.1f s", what, self.chat_id, error, wait)
            await asyncio.sleep(wait)


def _retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the int form goes away; both forms are handled here
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
