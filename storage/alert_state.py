"""Key/value facts the alerting keeps across restarts (a low balance already reported, an intruder's last alert)."""

from __future__ import annotations

from storage.connection import SharedConnection


class AlertStateRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def get(self, key: str) -> str | None:
        row = await self._conn.fetch_one("SELECT value FROM alert_state WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    async def put(self, key: str, value: str) -> None:
        async with self._conn.transaction():
            await self._conn.execute(
                "INSERT INTO alert_state (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, self._conn.now_text()),
            )
