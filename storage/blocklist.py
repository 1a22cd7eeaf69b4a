"""The opt-out blocklist: numbers that asked not to be texted, with who blocked them, when and why.

Numbers arrive normalised (``254XXXXXXXXX``, see ``bot.phone``); this module stores and compares them as given.
The bulk path does not read this table through here: its claim (``storage/batches.py``) looks it up in SQL, so a
number blocked while a job runs is skipped by every batch claimed after.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.codec import check_page, chunks, placeholders, text_to_time
from storage.connection import SharedConnection
from storage.links import Row


@dataclass(frozen=True, slots=True)
class BlockedNumber:
    number: str
    reason: str | None
    blocked_by_chat: int
    blocked_by_user: int | None
    blocked_at: datetime


_COLUMNS = "number, reason, blocked_by_chat, blocked_by_user, blocked_at"


def _from_row(row: Row) -> BlockedNumber:
    return BlockedNumber(
        number=row["number"],
        reason=row["reason"],
        blocked_by_chat=row["blocked_by_chat"],
        blocked_by_user=row["blocked_by_user"],
        blocked_at=text_to_time(row["blocked_at"]),
    )


class BlocklistRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def add(
        self, numbers: Sequence[str], *, reason: str | None, chat_id: int, user_id: int | None
    ) -> builtins.list[str]:
        """Block ``numbers`` in one transaction; returns those that were not blocked before (input order).

        A number already blocked keeps its first entry: who blocked it first and why stays the record.
        """
        now = self._conn.now_text()
        unique = list(dict.fromkeys(numbers))
        async with self._conn.transaction():
            already = await self._present(unique)
            added = [number for number in unique if number not in already]
            await self._conn.execute_many(
                f"INSERT INTO blocked_numbers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (number) DO NOTHING",
                [(number, reason, chat_id, user_id, now) for number in added],
            )
        return added

    async def remove(self, numbers: Sequence[str]) -> builtins.list[str]:
        """Unblock ``numbers``; returns those that were blocked (input order)."""
        unique = list(dict.fromkeys(numbers))
        async with self._conn.transaction():
            present = await self._present(unique)
            for chunk in chunks([number for number in unique if number in present]):
                await self._conn.execute(
                    f"DELETE FROM blocked_numbers WHERE number IN ({placeholders(len(chunk))})", tuple(chunk)
                )
        return [number for number in unique if number in present]

    async def is_blocked(self, number: str) -> bool:
        row = await self._conn.fetch_one("SELECT 1 FROM blocked_numbers WHERE number = ?", (number,))
        return row is not None

    async def blocked_among(self, numbers: Sequence[str]) -> set[str]:
        """The numbers of ``numbers`` that are blocked (one query per chunk of the SQLite parameter limit)."""
        return await self._present(list(dict.fromkeys(numbers)))

    async def count(self) -> int:
        row = await self._conn.fetch_one("SELECT COUNT(*) FROM blocked_numbers")
        return 0 if row is None else int(row[0])

    async def list(self, limit: int = 50, *, offset: int = 0) -> builtins.list[BlockedNumber]:
        """Latest blocked first; ties (one /block of many numbers) in number order."""
        check_page(limit, offset)
        rows = await self._conn.fetch_all(
            f"SELECT {_COLUMNS} FROM blocked_numbers ORDER BY blocked_at DESC, number LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_from_row(row) for row in rows]

    async def _present(self, numbers: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(numbers):
            rows = await self._conn.fetch_all(
                f"SELECT number FROM blocked_numbers WHERE number IN ({placeholders(len(chunk))})", tuple(chunk)
            )
            found.update(str(row["number"]) for row in rows)
        return found
