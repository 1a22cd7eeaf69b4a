"""The life of a bulk job's rows in batches: claimed before the provider is called, settled after.

A batch is claimed (``pending`` → ``sending``) in one transaction before the provider is called, and its
outcomes are recorded in one transaction after, so after a crash every row is either untouched (``pending``:
resumed), in flight (``sending``: becomes ``unknown`` at start-up, never resent silently) or settled. Each
outcome is checked against the transition rules in SQL, so a late "sent" never overwrites a "delivered".
"""

from __future__ import annotations

import builtins
import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from storage.codec import chunks, decimal_to_text, placeholders, text_to_time
from storage.connection import SharedConnection
from storage.messages import MESSAGE_COLUMNS, message_from_row
from storage.models import MessageOutcome, MessageRecord, MessageStatus, RejectedOutcome, allowed_previous

_PENDING = MessageStatus.PENDING.value
_SENDING = MessageStatus.SENDING.value


class BatchOperations:
    """The batch half of ``BulkJobRepository`` (which inherits it); kept apart to keep each module to one job."""

    _conn: SharedConnection

    async def next_pending_batch(self, job_id: int, size: int) -> builtins.list[MessageRecord]:
        """Up to ``size`` pending rows of the job, lowest ids first (recipient order)."""
        rows = await self._conn.fetch_all(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE bulk_job_id = ? AND status = ? ORDER BY id LIMIT ?",
            (job_id, _PENDING, size),
        )
        return [message_from_row(row) for row in rows]

    async def mark_sending(self, ids: Sequence[int]) -> builtins.list[int]:
        """Move the given rows from ``pending`` to ``sending``; returns the ids that were still pending.

        Rows no longer pending (cancelled meanwhile) are skipped, so only the returned ids may be sent.
        """
        claimed: builtins.list[int] = []
        now = self._conn.now_text()
        async with self._conn.transaction():
            for chunk in chunks(list(dict.fromkeys(ids))):
                rows = await self._conn.fetch_all(
                    f"SELECT id FROM messages WHERE status = ? AND id IN ({placeholders(len(chunk))})",
                    (_PENDING, *chunk),
                )
                claimed.extend(int(row["id"]) for row in rows)
            await self._set_sending(claimed, now)
        return sorted(claimed)

    async def claim_batch(self, job_id: int, size: int) -> builtins.list[MessageRecord]:
        """``next_pending_batch`` and ``mark_sending`` in one transaction: the rows returned are sending."""
        now = self._conn.now_text()
        async with self._conn.transaction():
            batch = await self.next_pending_batch(job_id, size)
            await self._set_sending([message.id for message in batch], now)
        sending_since = text_to_time(now)
        return [
            dataclasses.replace(message, status=MessageStatus.SENDING, updated_at=sending_since) for message in batch
        ]

    async def _set_sending(self, ids: Sequence[int], now: str) -> None:
        for chunk in chunks(ids):
            await self._conn.execute(
                f"UPDATE messages SET status = ?, updated_at = ? WHERE id IN ({placeholders(len(chunk))})",
                (_SENDING, now, *chunk),
            )

    async def record_outcomes(self, outcomes: Sequence[MessageOutcome]) -> builtins.list[RejectedOutcome]:
        """Store a batch's outcomes in one transaction; returns those not applied (usually none).

        Each update only matches a row in a state allowed to reach the new status (checked in the WHERE), so a
        late "sent" never overwrites a "delivered". Rejected outcomes are returned rather than raised: the
        valid ones in the same batch describe SMS that really went out and must be recorded.
        Fields given as None keep their stored value.
        """
        if not outcomes:
            return []
        now = self._conn.now_text()
        by_status: defaultdict[MessageStatus, builtins.list[tuple[Any, ...]]] = defaultdict(list)
        for outcome in outcomes:
            by_status[outcome.status].append(
                (outcome.status.value, outcome.provider_message_id, outcome.units,
                 decimal_to_text(outcome.cost), outcome.error, now, outcome.message_id)
            )  # fmt: skip
        applied = 0
        async with self._conn.transaction():
            for status, rows in by_status.items():
                previous = sorted(state.value for state in allowed_previous(status))
                if not previous:
                    continue  # nothing may move there by an outcome (pending: only requeue)
                applied += await self._conn.execute_many(
                    "UPDATE messages SET status = ?, provider_message_id = COALESCE(?, provider_message_id),"
                    " units = COALESCE(?, units), cost = COALESCE(?, cost), error = COALESCE(?, error),"
                    f" updated_at = ? WHERE id = ? AND status IN ({placeholders(len(previous))})",
                    [(*row, *previous) for row in rows],
                )
            if applied == len(outcomes):
                return []
            return await self._not_applied(outcomes)

    async def _not_applied(self, outcomes: Sequence[MessageOutcome]) -> builtins.list[RejectedOutcome]:
        # A row now in the outcome's status was either updated or already there (a harmless repeat).
        current: dict[int, MessageStatus] = {}
        for chunk in chunks(list(dict.fromkeys(outcome.message_id for outcome in outcomes))):
            rows = await self._conn.fetch_all(
                f"SELECT id, status FROM messages WHERE id IN ({placeholders(len(chunk))})", tuple(chunk)
            )
            current.update((int(row["id"]), MessageStatus(row["status"])) for row in rows)
        return [
            RejectedOutcome(outcome, current.get(outcome.message_id))
            for outcome in outcomes
            if current.get(outcome.message_id) != outcome.status
        ]

    async def mark_stuck_sending_unknown(self, error: str) -> builtins.list[MessageRecord]:
        """At start-up: every row left ``sending`` by a crash becomes ``unknown`` with ``error``; returned.

        Only the bot process may call this, before it sends anything: in another process (``notify``) the rows
        in flight belong to a bot that is still running.
        """
        now = self._conn.now_text()
        async with self._conn.transaction():
            rows = await self._conn.fetch_all(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE status = ? ORDER BY id", (_SENDING,)
            )
            await self._conn.execute(
                "UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE status = ?",
                (MessageStatus.UNKNOWN.value, error, now, _SENDING),
            )
        changed_at = text_to_time(now)
        return [
            dataclasses.replace(message_from_row(row), status=MessageStatus.UNKNOWN, error=error, updated_at=changed_at)
            for row in rows
        ]
