"""Which sent messages to ask the provider about next, and which bulk jobs have settled.

A row is followed while it is ``sent`` and ``tracking_done`` is 0. Its first check is due once it has been
``sent`` for the tracker's first delay (``next_check_at`` still NULL, compared with ``updated_at``); after each
check the tracker writes the next time. Delivered or failed rows leave the follow-up by their status alone.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

from storage.codec import time_to_text
from storage.connection import SharedConnection
from storage.jobs import job_columns, job_from_row
from storage.messages import MESSAGE_COLUMNS, message_from_row
from storage.models import BulkJobRecord, JobState, MessageRecord, MessageStatus

_SENT = MessageStatus.SENT.value


@dataclass(frozen=True, slots=True)
class TrackedMessage:
    message: MessageRecord
    attempts: int


class TrackingRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def due(
        self, provider: str, *, now: datetime, first_cutoff: datetime, limit: int
    ) -> builtins.list[TrackedMessage]:
        """Sent rows of ``provider`` whose check is due: never checked and sent before ``first_cutoff``, or
        whose ``next_check_at`` has passed. Oldest due first."""
        rows = await self._conn.fetch_all(
            f"SELECT {MESSAGE_COLUMNS}, check_attempts FROM messages"
            " WHERE status = ? AND tracking_done = 0 AND provider = ? AND provider_message_id IS NOT NULL"
            " AND ((next_check_at IS NULL AND updated_at <= ?) OR next_check_at <= ?)"
            " ORDER BY COALESCE(next_check_at, updated_at), id LIMIT ?",
            (_SENT, provider, time_to_text(first_cutoff), time_to_text(now), limit),
        )
        return [TrackedMessage(message_from_row(row), int(row["check_attempts"])) for row in rows]

    async def schedule(self, message_id: int, *, attempts: int, next_at: datetime) -> None:
        async with self._conn.transaction():
            await self._conn.execute(
                "UPDATE messages SET check_attempts = ?, next_check_at = ? WHERE id = ?",
                (attempts, time_to_text(next_at), message_id),
            )

    async def stop(self, message_id: int) -> None:
        """No more follow-ups for this row (final state reached, or we gave up)."""
        async with self._conn.transaction():
            await self._conn.execute(
                "UPDATE messages SET tracking_done = 1, next_check_at = NULL WHERE id = ?", (message_id,)
            )

    async def jobs_awaiting_summary(self, provider: str) -> builtins.list[BulkJobRecord]:
        """Finished jobs of ``provider`` that sent something, with no row still followed, not yet summed up."""
        rows = await self._conn.fetch_all(
            f"SELECT {job_columns('j')} FROM bulk_jobs j"
            " WHERE j.provider = ? AND j.state = ? AND j.delivery_summary_at IS NULL"
            " AND EXISTS (SELECT 1 FROM messages m WHERE m.bulk_job_id = j.id AND m.status IN (?, ?))"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.bulk_job_id = j.id"
            "                 AND m.status = ? AND m.tracking_done = 0)"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.bulk_job_id = j.id AND m.status IN (?, ?))"
            " ORDER BY j.id",
            (
                provider,
                JobState.DONE.value,
                _SENT,
                MessageStatus.DELIVERED.value,
                _SENT,
                MessageStatus.PENDING.value,
                MessageStatus.SENDING.value,
            ),
        )
        return [job_from_row(row) for row in rows]

    async def mark_summary_sent(self, job_id: int) -> None:
        async with self._conn.transaction():
            await self._conn.execute(
                "UPDATE bulk_jobs SET delivery_summary_at = ? WHERE id = ?", (self._conn.now_text(), job_id)
            )
