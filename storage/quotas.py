"""Per-chat daily quotas: the admins' overrides, and the units a chat has used in a span of time.

The message rows are the ledger (no counters that could drift from them): a row counts with the units the
provider charged, or its segments while no figure is known (pending, in flight, or sent without one). Failed rows
count only what a provider said it charged, cancelled rows nothing. A row counts at ``created_at``, or at
``counted_at`` once a retry requeued it. ``used_units`` is the read the quota check makes inside the transaction
that then writes the new rows, so two sends cannot both pass on the same remaining units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.codec import text_to_time, time_to_text
from storage.connection import SharedConnection

# What one message row counts against its chat's quota; shared with ``storage/usage.py``.
COUNTED_UNITS = (
    "CASE status WHEN 'cancelled' THEN 0 WHEN 'failed' THEN COALESCE(units, 0) ELSE COALESCE(units, segments) END"
)
# Two range scans, one per index of migration 0008: rows counted when written, and rows a retry requeued.
_USED_SQL = (
    f"SELECT (SELECT COALESCE(SUM({COUNTED_UNITS}), 0) FROM messages"
    " WHERE chat_id = ? AND created_at >= ? AND created_at < ? AND counted_at IS NULL AND outside_quota = 0)"
    f" + (SELECT COALESCE(SUM({COUNTED_UNITS}), 0) FROM messages"
    " WHERE chat_id = ? AND counted_at >= ? AND counted_at < ? AND counted_at IS NOT NULL AND outside_quota = 0)"
    " AS used"
)


@dataclass(frozen=True, slots=True)
class QuotaOverride:
    """An admin's setting for one chat; ``daily_units`` None means no limit at all."""

    chat_id: int
    daily_units: int | None
    set_by: int | None
    set_at: datetime


class QuotaRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def override(self, chat_id: int) -> QuotaOverride | None:
        row = await self._conn.fetch_one(
            "SELECT chat_id, daily_units, set_by, set_at FROM chat_quotas WHERE chat_id = ?", (chat_id,)
        )
        if row is None:
            return None
        return QuotaOverride(row["chat_id"], row["daily_units"], row["set_by"], text_to_time(row["set_at"]))

    async def set_override(self, chat_id: int, daily_units: int | None, *, by_chat_id: int | None) -> None:
        """``daily_units`` None: no limit for this chat (distinct from ``clear_override``: back to the default)."""
        if daily_units is not None and daily_units < 0:
            raise ValueError("a daily quota cannot be negative")
        async with self._conn.transaction():
            await self._conn.execute(
                "INSERT INTO chat_quotas (chat_id, daily_units, set_by, set_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (chat_id) DO UPDATE SET daily_units = excluded.daily_units,"
                " set_by = excluded.set_by, set_at = excluded.set_at",
                (chat_id, daily_units, by_chat_id, self._conn.now_text()),
            )

    async def clear_override(self, chat_id: int) -> bool:
        """Back to the role's default; False when there was no override."""
        async with self._conn.transaction():
            return await self._conn.execute("DELETE FROM chat_quotas WHERE chat_id = ?", (chat_id,)) > 0

    async def used_units(self, chat_id: int, start: datetime, end: datetime) -> int:
        """Units the chat's rows count in [start, end) (aware datetimes; a local day from ``day_bounds``)."""
        low, high = time_to_text(start), time_to_text(end)
        row = await self._conn.fetch_one(_USED_SQL, (chat_id, low, high) * 2)
        return 0 if row is None else int(row["used"])

    async def requeue_units(self, job_id: int) -> int:
        """Units a retry of the job's failed and unknown rows reserves: their segments (the estimate)."""
        row = await self._conn.fetch_one(
            "SELECT COALESCE(SUM(segments), 0) AS units FROM messages"
            " WHERE bulk_job_id = ? AND status IN ('failed', 'unknown')",
            (job_id,),
        )
        return 0 if row is None else int(row["units"])

    async def claim_notice(self, key: str) -> bool:
        """Record that a one-off notice (``quota:…``) went out; False when it already had (restarts included)."""
        async with self._conn.transaction():
            rows = await self._conn.fetch_all(
                "INSERT INTO alert_state (key, value, updated_at) VALUES (?, 'sent', ?)"
                " ON CONFLICT (key) DO NOTHING RETURNING key",
                (key, self._conn.now_text()),
            )
        return bool(rows)
