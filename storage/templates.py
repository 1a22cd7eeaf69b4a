"""Saved message templates: one text per case-insensitive name, shared by every allowed chat.

Each change writes its audit row in the same transaction, so a template change without its audit row cannot exist.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

from storage import audit
from storage.audit import AuditRepository
from storage.codec import text_to_time
from storage.connection import SharedConnection
from storage.links import Row

_COLUMNS = "name, body, saved_by, saved_at"


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    name: str
    body: str
    saved_by: int | None
    saved_at: datetime


def _template_from_row(row: Row) -> TemplateRecord:
    return TemplateRecord(
        name=row["name"], body=row["body"], saved_by=row["saved_by"], saved_at=text_to_time(row["saved_at"])
    )


class TemplateRepository:
    def __init__(self, conn: SharedConnection, audit_log: AuditRepository) -> None:
        self._conn = conn
        self._audit = audit_log

    async def get(self, name: str) -> TemplateRecord | None:
        row = await self._conn.fetch_one(f"SELECT {_COLUMNS} FROM templates WHERE name = ?", (name.lower(),))
        return None if row is None else _template_from_row(row)

    async def list(self, limit: int, offset: int = 0) -> builtins.list[TemplateRecord]:
        """By name."""
        rows = await self._conn.fetch_all(
            f"SELECT {_COLUMNS} FROM templates ORDER BY name LIMIT ? OFFSET ?", (limit, offset)
        )
        return [_template_from_row(row) for row in rows]

    async def count(self) -> int:
        row = await self._conn.fetch_one("SELECT COUNT(*) AS n FROM templates")
        return 0 if row is None else int(row["n"])

    async def save(self, name: str, body: str, *, by_chat_id: int | None, by_user_id: int | None) -> bool:
        """Create or replace; True when it replaced an existing template."""
        key = name.lower()
        async with self._conn.transaction():
            existed = await self.get(key) is not None
            await self._conn.execute(
                "INSERT INTO templates (name, body, saved_by, saved_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET body = excluded.body, saved_by = excluded.saved_by,"
                " saved_at = excluded.saved_at",
                (key, body, by_chat_id, self._conn.now_text()),
            )
            await self._audit.record(
                audit.TEMPLATE_SAVE,
                actor_chat_id=by_chat_id,
                actor_user_id=by_user_id,
                target=key,
                detail=f"{'replaced' if existed else 'new'}, {len(body)} characters",
            )
        return existed

    async def delete(self, name: str, *, by_chat_id: int | None, by_user_id: int | None) -> bool:
        """False when there was no such template."""
        key = name.lower()
        async with self._conn.transaction():
            removed = await self._conn.execute("DELETE FROM templates WHERE name = ?", (key,))
            if removed == 0:
                return False
            await self._audit.record(
                audit.TEMPLATE_DELETE, actor_chat_id=by_chat_id, actor_user_id=by_user_id, target=key
            )
        return True
