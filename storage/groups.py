"""Contact groups: named lists of phone numbers that /bulk can address as ``@name``.

Names arrive already checked and lower-cased (``bot/services/groups.py``); numbers arrive normalised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storage.connection import SharedConnection


@dataclass(frozen=True, slots=True)
class GroupSummary:
    name: str
    members: int


class GroupRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def summaries(self) -> list[GroupSummary]:
        """Every group with its member count, by name."""
        rows = await self._conn.fetch_all(
            "SELECT g.name, COUNT(m.phone) AS members FROM contact_groups g"
            " LEFT JOIN contact_group_members m ON m.group_id = g.id GROUP BY g.id ORDER BY g.name"
        )
        return [GroupSummary(row["name"], row["members"]) for row in rows]

    async def exists(self, name: str) -> bool:
        return await self._conn.fetch_one("SELECT 1 FROM contact_groups WHERE name = ?", (name,)) is not None

    async def members(self, name: str) -> list[str] | None:
        """The group's numbers in the order they were added; ``None`` when there is no such group."""
        row = await self._conn.fetch_one("SELECT id FROM contact_groups WHERE name = ?", (name,))
        if row is None:
            return None
        rows = await self._conn.fetch_all(
            "SELECT phone FROM contact_group_members WHERE group_id = ? ORDER BY added_at, "
            + self._conn.dialect.pick(sqlite="rowid", postgresql="seq"),
            (row["id"],),
        )
        return [r["phone"] for r in rows]

    async def add(self, name: str, phones: Sequence[str], *, chat_id: int) -> tuple[bool, list[str]]:
        """Create the group if needed and add the numbers; returns (created, the numbers that were new)."""
        async with self._conn.transaction():
            row = await self._conn.fetch_one("SELECT id FROM contact_groups WHERE name = ?", (name,))
            created = row is None
            if row is None:
                group_id = await self._conn.insert(
                    "INSERT INTO contact_groups (name, created_at, created_by_chat_id) VALUES (?, ?, ?)",
                    (name, self._conn.now_text(), chat_id),
                )
            else:
                group_id = int(row["id"])
            added: list[str] = []
            now = self._conn.now_text()
            for phone in phones:
                count = await self._conn.execute(
                    "INSERT INTO contact_group_members (group_id, phone, added_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (group_id, phone) DO NOTHING",
                    (group_id, phone, now),
                )
                if count:
                    added.append(phone)
            return created, added

    async def remove(self, name: str, phones: Sequence[str]) -> list[str] | None:
        """Remove numbers; returns those that were members, ``None`` when there is no such group."""
        async with self._conn.transaction():
            row = await self._conn.fetch_one("SELECT id FROM contact_groups WHERE name = ?", (name,))
            if row is None:
                return None
            removed = []
            for phone in phones:
                count = await self._conn.execute(
                    "DELETE FROM contact_group_members WHERE group_id = ? AND phone = ?", (row["id"], phone)
                )
                if count:
                    removed.append(phone)
            return removed

    async def delete(self, name: str) -> int | None:
        """Delete the group and its members; returns how many members it had, ``None`` if it did not exist."""
        async with self._conn.transaction():
            row = await self._conn.fetch_one("SELECT id FROM contact_groups WHERE name = ?", (name,))
            if row is None:
                return None
            members = await self._conn.execute("DELETE FROM contact_group_members WHERE group_id = ?", (row["id"],))
            await self._conn.execute("DELETE FROM contact_groups WHERE id = ?", (row["id"],))
            return members
