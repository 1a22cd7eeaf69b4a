"""What a Telegram update asking for a spend may be trusted with: is it a repeat, and is it old?

Telegram delivers updates at least once, so the same /send can arrive twice (a crash before the bot confirmed
it). Each spend is recorded with the identity of the update that asked for it (see ``storage.spend_requests``);
handlers build that identity, this module and the sending/bulk services only see a string. A command typed
while the bot was down arrives when it comes back, maybe much later: ``staleness`` tells handlers to ask again
instead of spending blindly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from storage import Database, DuplicateRequestError

DuplicateRequest = DuplicateRequestError
"""Raised by the sending and bulk services when the update asking for a spend was already carried out. It is
the storage layer's own error, passed up unchanged: the unique key in the transaction is what detects it."""


class RequestLog:
    def __init__(self, db: Database, clock: Callable[[], datetime], *, stale_after: timedelta) -> None:
        self._db = db
        self._clock = clock
        self._stale_after = stale_after

    async def seen(self, key: str) -> bool:
        """Whether this update was already carried out (or its bulk preview already shown)."""
        return await self._db.spend_requests.seen(key)

    async def claim_preview(self, key: str, chat_id: int) -> None:
        """Remember that this update's preview was shown; ``DuplicateRequest`` when it already was."""
        await self._db.spend_requests.claim(key, chat_id)

    def staleness(self, sent_at: datetime) -> timedelta | None:
        """How old a command is, when older than the limit (typed while the bot was offline); else ``None``."""
        age = self._clock() - sent_at
        return age if age > self._stale_after else None


__all__ = ["DuplicateRequest", "RequestLog"]
