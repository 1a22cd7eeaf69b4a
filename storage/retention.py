"""Removing old message texts (messages, bulk jobs, finished schedules) while keeping every figure (RETENTION_DAYS).

A removed body is replaced by a placeholder such as ``(removed after 30 days)``, so every screen and export that
shows a body shows that instead, with no special case; ``text_removed_at`` (migration 0009) marks the row, so
nothing ever sends a placeholder and an SMS that happens to read like one is not mistaken for it. Recipients,
counts, segments, units, costs, provider, status and dates stay: ``/usage``, ``/status`` and delivery tracking keep
working. Only rows in a final state lose their text; pending or in-flight rows still need it to be sent. Rows are
visited in id order (ids grow with ``created_at``), a bounded range per statement, so no statement holds the shared
connection for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.codec import placeholders, time_to_text
from storage.connection import SharedConnection
from storage.models import FINAL_JOB_STATES, MessageStatus
from storage.schedules import ScheduleState

_UNSENT = (MessageStatus.PENDING, MessageStatus.SENDING)
_FINAL_MESSAGES = sorted(status.value for status in MessageStatus if status not in _UNSENT)
_FINAL_JOBS = sorted(state.value for state in FINAL_JOB_STATES)
_FINAL_SCHEDULES = sorted(
    state.value for state in ScheduleState if state not in (ScheduleState.PENDING, ScheduleState.FIRING)
)


def removed_text(days: int) -> str:
    return f"(removed after {days} days)"


@dataclass(frozen=True, slots=True)
class PruneStep:
    removed: int
    next_id: int | None  # where the next step starts; None: nothing older than the cut-off is left


class RetentionRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def prune_messages(
        self, start_id: int, cutoff: datetime, placeholder: str, batch: int, now: datetime
    ) -> PruneStep:
        """Replace the bodies of final rows with ids in ``[start_id, start_id + batch)`` created before ``cutoff``."""
        return await self._prune("messages", _FINAL_MESSAGES, start_id, cutoff, placeholder, batch, now)

    async def prune_jobs(
        self, start_id: int, cutoff: datetime, placeholder: str, batch: int, now: datetime
    ) -> PruneStep:
        """The same for finished bulk jobs' texts."""
        return await self._prune("bulk_jobs", _FINAL_JOBS, start_id, cutoff, placeholder, batch, now)

    async def prune_schedules(
        self, start_id: int, cutoff: datetime, placeholder: str, batch: int, now: datetime
    ) -> PruneStep:
        """The same for finished schedules: their text and each recipient's own text (``texts``) go."""
        return await self._prune("schedules", _FINAL_SCHEDULES, start_id, cutoff, placeholder, batch, now)

    async def _prune(
        self,
        table: str,
        final: list[str],
        start_id: int,
        cutoff: datetime,
        placeholder: str,
        batch: int,
        now: datetime,
    ) -> PruneStep:
        # ``table`` and the status column come from this module, never from input.
        column = "status" if table == "messages" else "state"
        texts = ", texts = NULL" if table == "schedules" else ""
        limit = time_to_text(cutoff)
        first = await self._conn.fetch_one(
            f"SELECT id, created_at FROM {table} WHERE id >= ? ORDER BY id LIMIT 1", (start_id,)
        )
        if first is None or str(first["created_at"]) >= limit:
            return PruneStep(0, None)
        low = int(first["id"])
        rows = await self._conn.write_one(
            f"UPDATE {table} SET body = ?{texts}, text_removed_at = ? WHERE id >= ? AND id < ? AND created_at < ?"
            f" AND {column} IN ({placeholders(len(final))}) AND text_removed_at IS NULL RETURNING id",
            (placeholder, time_to_text(now), low, low + batch, limit, *final),
        )
        return PruneStep(len(rows), low + batch)
