"""The first admin when ADMIN_CHAT_IDS is empty: a one-time code in the log, claimed with ``/claim <code>``.

The code is new at each start and exists only while the database has no admin; the first right claim ends it.
"""

from __future__ import annotations

import secrets
from enum import Enum

from storage import Database, Role

CODE_BYTES = 6  # twelve hex characters: easy to type, 48 bits against guessing


class ClaimOutcome(Enum):
    GRANTED = "granted"
    WRONG = "wrong"
    CLOSED = "closed"  # an admin exists (or no code was made): /claim does nothing


class FirstAdminClaim:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._code: str | None = None

    async def open_if_needed(self) -> str | None:
        """At start-up: a new code when the database has no admin yet, else None (and no claim possible)."""
        self._code = None if await self._db.chats.admin_ids() else secrets.token_hex(CODE_BYTES)
        return self._code

    @property
    def is_open(self) -> bool:
        return self._code is not None

    async def claim(self, *, chat_id: int, user_id: int | None, code: str) -> ClaimOutcome:
        """Make ``chat_id`` an admin when ``code`` is right (audited); the code is dead from then on."""
        if self._code is None:
            return ClaimOutcome.CLOSED
        if await self._db.chats.admin_ids():
            self._code = None
            return ClaimOutcome.CLOSED
        expected = self._code
        if expected is None or not secrets.compare_digest(code.strip().encode(), expected.encode()):
            return ClaimOutcome.WRONG if expected is not None else ClaimOutcome.CLOSED
        self._code = None  # dead before any await: two claims at once cannot both pass
        await self._db.chats.grant(  # added by itself: /chats says "by <its id>", not "from ADMIN_CHAT_IDS"
            chat_id, Role.ADMIN, added_by=chat_id, actor_user_id=user_id, note="claimed with the start-up code"
        )
        return ClaimOutcome.GRANTED
