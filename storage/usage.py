"""What chats spent over a span of time, in quarter-hour buckets the service turns into local days.

SQLite knows no time zones, so rows are grouped by UTC quarter hour (every zone's offset is a whole number of
quarter hours) and ``bot/services/usage.py`` assigns each bucket to its local day. Costs are decimal text: rows
are grouped by cost too and multiplied in Python, never summed as REAL.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from storage.codec import text_to_decimal, time_to_text
from storage.connection import SharedConnection
from storage.quotas import COUNTED_UNITS

_MOMENT = "COALESCE(counted_at, created_at)"


@dataclass(frozen=True, slots=True)
class UsageBucket:
    """Rows of one chat and provider that count in the quarter hour starting at ``start`` (UTC)."""

    chat_id: int
    provider: str
    start: datetime
    messages: int
    units: int
    cost: Decimal | None  # None: no row of the bucket has a cost
    outside_quota: bool = False  # alert SMS, the bot's own (``messages.outside_quota``)


class UsageRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def buckets(
        self, start: datetime, end: datetime, *, chat_id: int | None = None
    ) -> builtins.list[UsageBucket]:
        """Rows counted in [start, end), of one chat or (``chat_id`` None) of every chat; cancelled rows left out."""
        low, high = time_to_text(start), time_to_text(end)
        where = (
            "status != 'cancelled' AND ((counted_at IS NULL AND created_at >= ? AND created_at < ?)"
            " OR (counted_at IS NOT NULL AND counted_at >= ? AND counted_at < ?))"
        )
        params: tuple[object, ...] = (low, high, low, high)
        if chat_id is not None:
            where = "chat_id = ? AND " + where
            params = (chat_id, *params)
        rows = await self._conn.fetch_all(
            f"SELECT chat_id, provider, outside_quota, substr({_MOMENT}, 1, 13) AS hour,"
            f" CAST(substr({_MOMENT}, 15, 2) AS INTEGER) / 15 AS quarter, cost,"
            f" COUNT(*) AS n, COALESCE(SUM({COUNTED_UNITS}), 0) AS units"
            f" FROM messages WHERE {where} GROUP BY chat_id, provider, outside_quota, hour, quarter, cost",
            params,
        )
        merged: dict[tuple[int, str, datetime, bool], UsageBucket] = {}
        for row in rows:
            moment = datetime.fromisoformat(row["hour"]).replace(tzinfo=UTC) + timedelta(minutes=15 * row["quarter"])
            key = (int(row["chat_id"]), str(row["provider"]), moment, bool(row["outside_quota"]))
            amount = text_to_decimal(row["cost"])
            cost = None if amount is None else amount * int(row["n"])
            old = merged.get(key)
            if old is not None:
                cost = old.cost if cost is None else (old.cost or Decimal(0)) + cost
            merged[key] = UsageBucket(
                key[0],
                key[1],
                moment,
                int(row["n"]) + (old.messages if old else 0),
                int(row["units"]) + (old.units if old else 0),
                cost,
                key[3],
            )
        return sorted(merged.values(), key=lambda b: (b.start, b.chat_id, b.provider, b.outside_quota))
