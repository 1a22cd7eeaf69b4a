"""A bulk job's rows on their way to the provider: the claim, the outcomes and the crash rule (``docs/bulk.md``).

A claim moves one batch ``pending → sending`` in one statement, only while its job is ``running``; only a
``sending`` row can have left. Outcomes are one statement, each checked against the transition rules. Both carry
this process's lease epoch (``lease.py``): once another process is active they change nothing and raise.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Sequence
from typing import Any

from storage.codec import chunks, decimal_to_text, placeholders
from storage.connection import SharedConnection
from storage.dialect import Dialect
from storage.lease import check_lease, fence
from storage.messages import MESSAGE_COLUMNS, message_from_row
from storage.models import (
    ALLOWED_TRANSITIONS,
    ClaimedRow,
    MessageOutcome,
    MessageRecord,
    MessageStatus,
)

_PENDING = MessageStatus.PENDING.value
_SENDING = MessageStatus.SENDING.value
_CANCELLED = MessageStatus.CANCELLED.value
# The error a pending row gets when its number was on the blocklist when its batch was claimed.
BLOCKED_ERROR = "blocked (opted out)"
# Pending rows a claim looks through for rows with the first one's text: a personalised job's identical texts
# share a request when they lie this close together; the others are claimed by the next claims, one per slot.
CLAIM_WINDOW = 400
# Every (from, to) pair a recorded outcome may make, as one string the statement looks each row's pair up in.
_ALLOWED_PAIRS = "|" + "".join(
    f"{current.value}>{target.value}|" for current, targets in ALLOWED_TRANSITIONS.items() for target in targets
)


@functools.cache
def _claim_statement(dialect: Dialect) -> str:
    """The claim: one statement, fenced by the lease."""
    return (
        # The job's first pending row, only while the job runs; then the pending rows with its text among the next
        # CLAIM_WINDOW pending rows (an index range: a plain job's batch is its next ``size`` rows).
        "WITH head AS (SELECT id, body FROM messages WHERE bulk_job_id = ? AND status = 'pending'"
        " AND EXISTS (SELECT 1 FROM bulk_jobs WHERE id = ? AND state = 'running')"
        f" AND {fence(dialect)} ORDER BY id LIMIT 1),"
        " batch AS (SELECT m.id, blocked_numbers.number AS blocked FROM messages m"
        " LEFT JOIN blocked_numbers ON blocked_numbers.number = m.recipient"
        " WHERE m.bulk_job_id = ? AND m.status = 'pending' AND m.id >= (SELECT id FROM head)"
        " AND m.id < COALESCE((SELECT id FROM messages WHERE bulk_job_id = ? AND status = 'pending'"
        " ORDER BY id LIMIT 1 OFFSET ?), 9223372036854775807) AND m.body = (SELECT body FROM head)"
        " ORDER BY m.id LIMIT ?)"
        " UPDATE messages SET status = CASE WHEN batch.blocked IS NULL THEN ? ELSE ? END,"
        " error = CASE WHEN batch.blocked IS NULL THEN messages.error ELSE ? END, updated_at = ?"
        # status again: PostgreSQL re-checks it on a row another statement changed meanwhile (never claimed twice).
        " FROM batch WHERE messages.id = batch.id AND messages.status = 'pending'"
        " RETURNING messages.id, messages.recipient, messages.status, messages.body, messages.segments"
    )


def _record_statement(dialect: Dialect, count: int) -> str:
    """One UPDATE for many outcomes, joined on id and guarded by the allowed transitions and the lease: a VALUES
    table on SQLite, six arrays unnested on PostgreSQL (one prepared statement whatever the batch's size)."""
    outcomes = dialect.pick(
        sqlite=f"(VALUES {', '.join(['(?, ?, ?, ?, ?, ?)'] * count)}) AS outcome",
        postgresql="unnest(?::bigint[], ?::text[], ?::text[], ?::integer[], ?::text[], ?::text[])"
        " AS outcome(column1, column2, column3, column4, column5, column6)",
    )
    return (
        "UPDATE messages SET status = outcome.column2,"
        " provider_message_id = COALESCE(outcome.column3, messages.provider_message_id),"
        " units = COALESCE(outcome.column4, messages.units), cost = COALESCE(outcome.column5, messages.cost),"
        " error = COALESCE(outcome.column6, messages.error), updated_at = ?"
        f" FROM {outcomes} WHERE messages.id = outcome.column1"
        f" AND {dialect.pick(sqlite='instr', postgresql='strpos')}(?, '|' || messages.status || '>' || outcome.column2"
        f" || '|') > 0 AND {fence(dialect)}"
    )


def _record_parameters(
    dialect: Dialect, outcomes: Sequence[MessageOutcome], now: str, epoch: int
) -> builtins.list[Any]:
    rows = [
        (message_id, status.value, provider_message_id, units, None if cost is None else decimal_to_text(cost), error)
        for message_id, status, provider_message_id, units, cost, error in outcomes
    ]
    values: builtins.list[Any] = [now]
    if dialect is Dialect.SQLITE:
        for row in rows:
            values += row
    else:
        values += (list(column) for column in zip(*rows, strict=True))
    values += (_ALLOWED_PAIRS, epoch)
    return values


class BatchOperations:
    """The batch half of ``BulkJobRepository`` (which inherits it); kept apart to keep each module to one job."""

    _conn: SharedConnection

    async def claim_batch(self, job_id: int, size: int) -> builtins.list[ClaimedRow]:
        """Up to ``size`` pending rows with one text (lowest ids first) become ``sending``, only while the job is
        ``running``; rows whose number is blocked become ``cancelled`` in the same statement. Only the returned
        rows may be sent, by the caller alone. Empty: nothing pending, or the job is not running."""
        while True:
            rows = await self._conn.write_one(
                _claim_statement(self._conn.dialect),
                (job_id, job_id, self._conn.fence(claiming=True), job_id, job_id, CLAIM_WINDOW, size, _SENDING,
                 _CANCELLED, BLOCKED_ERROR, self._conn.now_text()),
            )  # fmt: skip
            claimed = [
                ClaimedRow(int(row[0]), str(row[1]), str(row[3]), int(row[4])) for row in rows if row[2] == _SENDING
            ]
            if claimed:
                return sorted(claimed)
            if not rows:  # nothing pending, the job is not running, or another process holds the lease
                await check_lease(self._conn)
                return []
            # only blocked numbers found: claim again

    async def release_claim(self, ids: Sequence[int]) -> int:
        """Rows claimed whose request provably never left (the claimer was stopped first): ``sending → pending``,
        or ``cancelled`` if their job was cancelled meanwhile. Returns how many moved."""
        moved = 0
        for chunk in chunks(list(dict.fromkeys(ids))):
            moved += await self._conn.write_count(
                "UPDATE messages SET status = CASE WHEN EXISTS (SELECT 1 FROM bulk_jobs"
                " WHERE bulk_jobs.id = messages.bulk_job_id AND bulk_jobs.state IN ('queued', 'running'))"
                f" THEN ? ELSE ? END, updated_at = ? WHERE status = ? AND id IN ({placeholders(len(chunk))})"
                f" AND {fence(self._conn.dialect)}",
                (_PENDING, _CANCELLED, self._conn.now_text(), _SENDING, *chunk, self._conn.fence(claiming=False)),
            )
        return moved

    async def hand_over(self, ids: Sequence[int], *, provider: str, failover_from: str, reason: str) -> bool:
        """A claimed batch that ``failover_from`` refused before sending goes to ``provider``: its ``sending`` rows
        say so before that provider is called. ``False``: some row is no longer ours to send (send none of them)."""
        moved = 0
        for chunk in chunks(list(dict.fromkeys(ids))):
            moved += await self._conn.write_count(
                "UPDATE messages SET provider = ?, failover_from = ?, failover_reason = ?, updated_at = ?"
                f" WHERE status = ? AND id IN ({placeholders(len(chunk))}) AND {fence(self._conn.dialect)}",
                (provider, failover_from, reason, self._conn.now_text(), _SENDING, *chunk,
                 self._conn.fence(claiming=True)),
            )  # fmt: skip
        if moved < len(set(ids)):
            await check_lease(self._conn)
            return False
        return True

    async def record_outcomes(self, outcomes: Sequence[MessageOutcome]) -> int:
        """Store a batch's outcomes in one statement; returns how many applied. An outcome applies only as an
        allowed transition (a late "sent" never overwrites "delivered"); the others in the batch are stored."""
        if not outcomes:
            return 0
        applied = await self._conn.write_count(
            _record_statement(self._conn.dialect, len(outcomes)),
            _record_parameters(self._conn.dialect, outcomes, self._conn.now_text(), self._conn.fence(claiming=False)),
        )
        if applied < len(outcomes):  # transitions refused, or the lease is gone (then nothing applied: raise)
            await check_lease(self._conn)
        return applied

    async def mark_stuck_sending_unknown(self, error: str) -> builtins.list[MessageRecord]:
        """The crash rule, at start-up of the active process, before anything is sent: every ``sending`` row
        (single sends too) becomes ``unknown`` with ``error``; returned for the admins' report. One statement:
        exactly the rows it changed are reported."""
        rows = await self._conn.write_one(
            f"UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE status = ? RETURNING {MESSAGE_COLUMNS}",
            (MessageStatus.UNKNOWN.value, error, self._conn.now_text(), _SENDING),
        )
        return sorted((message_from_row(row) for row in rows), key=lambda message: message.id)
