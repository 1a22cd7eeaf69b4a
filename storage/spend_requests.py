"""The Telegram updates that asked for a spend, by identity, so that a repeated delivery spends nothing.

Telegram delivers updates at least once: a crash between handling an update and confirming it brings the same
update back after the restart. The key is claimed inside the transaction that stores what the update created
(the ``sending`` row of a /send, a bulk job, a retry's requeue), so either both are stored or neither is, and
the primary key makes a second claim fail with ``DuplicateRequestError`` instead of creating a second spend.
"""

from __future__ import annotations

from datetime import timedelta

from storage.codec import time_to_text
from storage.connection import SharedConnection
from storage.errors import DuplicateRequestError


async def claim_request(
    conn: SharedConnection,
    key: str,
    chat_id: int,
    *,
    message_id: int | None = None,
    bulk_job_id: int | None = None,
) -> None:
    """Record ``key`` in the caller's transaction (or its own); raises ``DuplicateRequestError`` if it is known.

    Raising inside the caller's transaction rolls back what the caller wrote before, which is the point.
    """
    if not key:
        raise ValueError("a request key cannot be empty")
    async with conn.transaction():
        inserted = await conn.execute(
            "INSERT INTO spend_requests (key, chat_id, created_at, message_id, bulk_job_id) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO NOTHING",
            (key, chat_id, conn.now_text(), message_id, bulk_job_id),
        )
        if inserted == 0:
            raise DuplicateRequestError(key)


class SpendRequestRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def seen(self, key: str) -> bool:
        """Whether an update with this identity was already carried out (or previewed, for /bulk)."""
        row = await self._conn.fetch_one("SELECT 1 FROM spend_requests WHERE key = ?", (key,))
        return row is not None

    async def claim(self, key: str, chat_id: int) -> None:
        """Record a key that created nothing stored (a bulk preview); ``DuplicateRequestError`` if it is known."""
        await claim_request(self._conn, key, chat_id)

    async def forget_older_than(self, age: timedelta) -> int:
        """Drop keys older than ``age``; returns how many. Telegram keeps an unconfirmed update for at most 24
        hours, so a key older than that can never be asked for again and only takes room."""
        cutoff = time_to_text(self._conn.now() - age)
        async with self._conn.transaction():
            return await self._conn.execute("DELETE FROM spend_requests WHERE created_at < ?", (cutoff,))
