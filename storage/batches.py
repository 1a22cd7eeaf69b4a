"""The life of a bulk job's rows in batches: cleared to leave before the provider is called, settled after.

Before a batch's request leaves, one row in ``bulk_batches_in_flight`` says "the pending rows of this job
between these ids may leave" (``claim_ahead`` while the worker's previous request is out, or ``claim_in_flight``
right before the request; both check in the same statement that exactly the batch's rows are pending there and
none is blocked); a claimed-ahead batch has left once ``departing`` wrote its line in the departure log
(``departures.py``). Its outcomes are recorded in one statement after, and the row is deleted. When the check
fails (a row was cancelled or blocked since it was read) each row is marked ``sending`` instead
(``start_sending``). So after a crash every row is either untouched (``pending`` and not covered, or covered by
a claim ahead that never departed: resumed), in flight (``sending``, or pending under a leftover row that may
have left: becomes ``unknown`` at start-up, never resent silently) or settled. Each outcome is checked against
the transition rules in SQL, so a late "sent" never overwrites a "delivered".
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
from collections.abc import Sequence
from typing import Any

from storage.codec import chunks, decimal_to_text, placeholders, text_to_time
from storage.connection import SharedConnection
from storage.departures import Departure, DepartureLog
from storage.messages import MESSAGE_COLUMNS, message_from_row
from storage.models import (
    ALLOWED_TRANSITIONS,
    ClaimedRow,
    InFlightBatch,
    MessageOutcome,
    MessageRecord,
    MessageStatus,
    RejectedOutcome,
)

_PENDING = MessageStatus.PENDING.value
_SENDING = MessageStatus.SENDING.value
_CANCELLED = MessageStatus.CANCELLED.value
# The error a pending row gets when its number was on the blocklist when its batch was claimed.
BLOCKED_ERROR = "blocked (opted out)"
# Every (from, to) pair a recorded outcome may make, as one string the statement looks each row's pair up in.
_ALLOWED_PAIRS = "|" + "".join(
    f"{current.value}>{target.value}|" for current, targets in ALLOWED_TRANSITIONS.items() for target in targets
)
# Six parameters per outcome, well under SQLite's limit on parameters per statement.
_OUTCOMES_PER_STATEMENT = 2000


# Whether a message row lies in the id range of a batch of its job that is in flight.
def _in_a_batch_in_flight(also: str = "") -> str:
    """``also``: a further condition on the in-flight row ``b`` (e.g. which claims count)."""
    return (
        "EXISTS (SELECT 1 FROM bulk_batches_in_flight b WHERE b.job_id = messages.bulk_job_id"
        f" AND messages.id BETWEEN b.first_id AND b.last_id{also})"
    )


_IN_A_BATCH_IN_FLIGHT = _in_a_batch_in_flight()
# The pending rows a leftover in-flight batch covers: the rows of a request that may have left.
COVERED = f"messages.status = 'pending' AND {_IN_A_BATCH_IN_FLIGHT}"
NOT_IN_FLIGHT = f"NOT {_IN_A_BATCH_IN_FLIGHT}"


def _record_statement(count: int) -> str:
    """One UPDATE for many outcomes: a VALUES table joined on id, guarded by the allowed transitions.

    No RETURNING and no correlated subquery: a bulk job runs this once per request, and the changed-row count
    tells whether every outcome applied (the rare rejected ones are looked up afterwards).
    """
    outcome_rows = ", ".join(["(?, ?, ?, ?, ?, ?)"] * count)
    return (
        "UPDATE messages SET status = outcome.column2,"
        " provider_message_id = COALESCE(outcome.column3, messages.provider_message_id),"
        " units = COALESCE(outcome.column4, messages.units), cost = COALESCE(outcome.column5, messages.cost),"
        " error = COALESCE(outcome.column6, messages.error), updated_at = ?"
        f" FROM (VALUES {outcome_rows}) AS outcome WHERE messages.id = outcome.column1"
        " AND instr(?, '|' || messages.status || '>' || outcome.column2 || '|') > 0"
    )


def _record_parameters(outcomes: Sequence[MessageOutcome], now: str) -> builtins.list[Any]:
    values: builtins.list[Any] = [now]
    for message_id, status, provider_message_id, units, cost, error in outcomes:
        cost_text = None if cost is None else decimal_to_text(cost)
        values += (message_id, status.value, provider_message_id, units, cost_text, error)
    values.append(_ALLOWED_PAIRS)
    return values


class BatchOperations:
    """The batch half of ``BulkJobRepository`` (which inherits it); kept apart to keep each module to one job."""

    _conn: SharedConnection
    _departures: DepartureLog

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

    async def claim_batch(self, job_id: int, size: int) -> builtins.list[ClaimedRow]:
        """Up to ``size`` pending rows of the job (lowest ids first), marked ``sending`` by one statement.

        Only what a send needs comes back. This runs once per provider request of a bulk job, so it is a single
        atomic UPDATE … RETURNING rather than a transaction of several statements. The same statement settles
        claimed rows whose number is on the blocklist as ``cancelled`` (one primary-key lookup per row), so a
        number blocked while a job runs, or before a resume or a retry, is skipped by every later batch; a
        claim that found only blocked rows claims again, so an empty answer still means "nothing pending".
        """
        while True:
            rows = await self._conn.write_one(
                "UPDATE messages SET"
                " status = CASE WHEN blocked.number IS NULL THEN ? ELSE ? END,"
                " error = CASE WHEN blocked.number IS NULL THEN messages.error ELSE ? END, updated_at = ?"
                " FROM (SELECT claimed.id, blocked_numbers.number FROM"
                " (SELECT id, recipient FROM messages WHERE bulk_job_id = ? AND status = ? ORDER BY id LIMIT ?)"
                " AS claimed LEFT JOIN blocked_numbers ON blocked_numbers.number = claimed.recipient) AS blocked"
                " WHERE messages.id = blocked.id"
                " RETURNING messages.id, messages.recipient, messages.status, messages.body, messages.segments",
                (_SENDING, _CANCELLED, BLOCKED_ERROR, self._conn.now_text(), job_id, _PENDING, size),
            )
            claimed = [
                ClaimedRow(int(row["id"]), str(row["recipient"]), str(row["body"]), int(row["segments"]))
                for row in rows
                if row["status"] == _SENDING
            ]
            if claimed or not rows:
                return sorted(claimed, key=lambda r: r.id)

    async def read_ahead(self, job_id: int, size: int, after_id: int = 0) -> builtins.list[ClaimedRow]:
        """Up to ``size`` pending rows of the job with ids above ``after_id`` (lowest first), changing nothing.

        The bulk runner reads its next batches with this while requests are in flight, and claims them for real
        with ``claim_ahead`` (or ``claim_in_flight``) before each request leaves. A read changes no row, so a
        crash, a cancel or a shutdown while batches wait in memory leaves them ``pending``: they never left.
        """
        rows = await self._conn.fetch_all(
            "SELECT id, recipient, body, segments FROM messages"
            f" WHERE bulk_job_id = ? AND status = ? AND id > ? AND {NOT_IN_FLIGHT} ORDER BY id LIMIT ?",
            (job_id, _PENDING, after_id, size),
        )
        return [ClaimedRow(int(row[0]), str(row[1]), str(row[2]), int(row[3])) for row in rows]

    async def claim_in_flight(self, job_id: int, rows: Sequence[ClaimedRow]) -> InFlightBatch:
        """The claim, right before a request leaves: only the returned rows may be sent.

        Fast path, one small statement: an in-flight row for the batch's id range, written only if exactly the
        given rows are the job's pending rows in that range, none of their numbers is blocked and no other batch in
        flight overlaps it. Otherwise (a row was cancelled, failed or blocked since it was read) each row is claimed
        by ``start_sending``, which never takes a row another batch has in flight.
        """
        if not rows:
            return InFlightBatch([], None)
        claim_id = await self._insert_in_flight(job_id, rows, ahead=False)
        if claim_id is not None:
            return InFlightBatch(list(rows), claim_id)
        return InFlightBatch(await self.start_sending(rows), None)

    async def claim_ahead(self, job_id: int, rows: Sequence[ClaimedRow]) -> InFlightBatch | None:
        """The claim made while the worker's previous request is still out: the fast path of ``claim_in_flight``
        with ``ahead = 1``, and None when it does not apply (the batch is then claimed right before it leaves).

        Such a batch has not left until ``departing`` says so; a crash before that leaves its rows ``pending``.
        """
        claim_id = await self._insert_in_flight(job_id, rows, ahead=True) if rows else None
        return None if claim_id is None else InFlightBatch(list(rows), claim_id, ahead=True)

    def departing(self, job_id: int, batch: InFlightBatch) -> bool:
        """Right before a batch's request leaves (synchronous: microseconds, see ``departures.py``): False when
        the job was cancelled or stopped meanwhile (the batch must not leave); a claimed-ahead batch gets its line
        in the departure log (``OSError`` if it cannot be written: the batch must not leave either)."""
        if self._departures.fenced(job_id):
            return False
        if batch.ahead and batch.claim_id is not None:
            ids = [row.id for row in batch.rows]
            self._departures.departing(Departure(batch.claim_id, job_id, min(ids), max(ids)))
        return True

    async def drop_claims_ahead(self, job_id: int) -> None:
        """Delete the job's claims ahead that have not departed, so a cancel or a stop reaches their rows.

        Only when the runner will depart no more of them: it checks ``cancelled``/``stopping`` right before it
        departs, and both are set before this runs. A batch that departed keeps its row (it is in the log, not
        settled yet) and is left to its outcome.
        """
        departed = "[" + ",".join(map(str, sorted(self._departures.unsettled))) + "]"
        await self._conn.execute(
            "DELETE FROM bulk_batches_in_flight WHERE job_id = ? AND ahead = 1"
            " AND id NOT IN (SELECT value FROM json_each(?))",
            (job_id, departed),
        )

    async def _insert_in_flight(self, job_id: int, rows: Sequence[ClaimedRow], *, ahead: bool) -> int | None:
        ids = [row.id for row in rows]
        first, last = min(ids), max(ids)
        # The ids go as one JSON text: binding a hundred parameters holds the GIL far longer than one string.
        claimed = await self._conn.write_one(
            "INSERT INTO bulk_batches_in_flight (job_id, first_id, last_id, started_at, ahead) SELECT ?, ?, ?, ?, ?"
            " WHERE (SELECT COUNT(*) FROM messages WHERE bulk_job_id = ? AND status = ?"
            " AND id BETWEEN ? AND ?) = ? AND NOT EXISTS (SELECT 1 FROM messages WHERE id IN"
            " (SELECT value FROM json_each(?)) AND (status != ? OR bulk_job_id IS NOT ?"
            " OR recipient IN (SELECT number FROM blocked_numbers)))"
            # Never over rows another batch has in flight (e.g. one whose record failed: maybe sent).
            " AND NOT EXISTS (SELECT 1 FROM bulk_batches_in_flight WHERE job_id = ? AND first_id <= ?"
            " AND last_id >= ?) RETURNING id",
            (job_id, first, last, self._conn.now_text(), int(ahead), job_id, _PENDING, first, last, len(set(ids)),
             "[" + ",".join(map(str, ids)) + "]", _PENDING, job_id, job_id, last, first),
        )  # fmt: skip
        return int(claimed[0][0]) if claimed else None

    async def release_unsent(self, job_id: int, rows: Sequence[ClaimedRow]) -> None:
        """Undo whatever a ``claim_in_flight`` of ``rows`` that was cut off did (its request never left): its
        in-flight row goes, rows it marked ``sending`` go back to ``pending``. Harmless when it did nothing; runs
        after it because the database thread takes statements in order."""
        if not rows:
            return
        ids = [row.id for row in rows]
        await self._conn.write_count(
            "DELETE FROM bulk_batches_in_flight WHERE job_id = ? AND first_id = ? AND last_id = ?",
            (job_id, min(ids), max(ids)),
        )
        await self.release_claim(ids)

    async def release_in_flight(self, batch: InFlightBatch) -> int:
        """The batch provably never left (its request was not sent): its rows stay or go back to ``pending``."""
        if batch.claim_id is not None:
            await self._drop_in_flight(batch.claim_id)
            return len(batch.rows)
        return await self.release_claim([row.id for row in batch.rows])

    async def settle_in_flight(
        self, batch: InFlightBatch, outcomes: Sequence[MessageOutcome]
    ) -> builtins.list[RejectedOutcome]:
        """Record a batch's outcomes, then retire its in-flight row. Rows without an outcome (a request cut
        before it left) stay ``pending`` and are sent later; give every row that may have left an outcome."""
        rejected = await self.record_outcomes(outcomes)
        if batch.claim_id is not None:
            # A crash between the two leaves the in-flight row over rows that are no longer pending: harmless.
            await self._drop_in_flight(batch.claim_id)
        return rejected

    async def _drop_in_flight(self, claim_id: int) -> None:
        await self._conn.write_count("DELETE FROM bulk_batches_in_flight WHERE id = ?", (claim_id,))
        self._departures.settled(claim_id)

    async def start_sending(self, rows: Sequence[ClaimedRow]) -> builtins.list[ClaimedRow]:
        """The claim: the given rows still ``pending`` become ``sending`` in one statement (primary-key lookups);
        only the returned rows may be sent. Rows whose number is on the blocklist now become ``cancelled``
        instead, and rows cancelled or failed since they were read are skipped."""
        sending: set[int] = set()
        now = self._conn.now_text()
        for chunk in chunks([row.id for row in rows]):  # one statement for any batch a provider takes
            changed = await self._conn.write_one(
                "UPDATE messages SET"
                " status = CASE WHEN recipient IN (SELECT number FROM blocked_numbers) THEN ? ELSE ? END,"
                " error = CASE WHEN recipient IN (SELECT number FROM blocked_numbers) THEN ? ELSE error END,"
                f" updated_at = ? WHERE status = ? AND id IN ({placeholders(len(chunk))}) AND {NOT_IN_FLIGHT}"
                " RETURNING id, status",
                (_CANCELLED, _SENDING, BLOCKED_ERROR, now, _PENDING, *chunk),
            )
            sending.update(int(row[0]) for row in changed if row[1] == _SENDING)
        return [row for row in rows if row.id in sending]

    async def release_claim(self, ids: Sequence[int]) -> int:
        """Put rows a claim marked ``sending`` back to ``pending``: their request provably never left (the worker
        that claimed them was stopped before it had them). Returns how many moved."""
        moved = 0
        for chunk in chunks(list(dict.fromkeys(ids))):
            rows = await self._conn.write_one(
                "UPDATE messages SET status = ?, updated_at = ?"
                f" WHERE status = ? AND id IN ({placeholders(len(chunk))}) RETURNING id",
                (_PENDING, self._conn.now_text(), _SENDING, *chunk),
            )
            moved += len(rows)
        return moved

    async def _set_sending(self, ids: Sequence[int], now: str) -> None:
        for chunk in chunks(ids):
            await self._conn.execute(
                f"UPDATE messages SET status = ?, updated_at = ? WHERE id IN ({placeholders(len(chunk))})",
                (_SENDING, now, *chunk),
            )

    async def record_outcomes(self, outcomes: Sequence[MessageOutcome]) -> builtins.list[RejectedOutcome]:
        """Store a batch's outcomes atomically; returns those not applied (usually none).

        Each row only changes when the transition rules allow its current status to reach the new one (the
        allowed pairs are part of the statement), so a late "sent" never overwrites a "delivered". Rejected
        outcomes are returned rather than raised: the valid ones in the same batch describe SMS that really
        went out and must be recorded. Fields given as None keep their stored value.
        """
        if not outcomes:
            return []
        now = self._conn.now_text()
        applied = 0
        parts = list(chunks(outcomes, _OUTCOMES_PER_STATEMENT))
        async with contextlib.AsyncExitStack() as stack:
            if len(parts) > 1:
                await stack.enter_async_context(self._conn.transaction())
            for part in parts:
                applied += await self._conn.write_count(_record_statement(len(part)), _record_parameters(part, now))
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
        """At start-up: every row a crash left in flight becomes ``unknown`` with ``error``; returned.

        In flight: ``sending``, or ``pending`` under a leftover ``bulk_batches_in_flight`` row that may have left
        (claimed right before its request, or claimed ahead and named in the departure log). A row claimed ahead
        and not in the log never left: its rows stay ``pending``. Every leftover row is deleted and the log
        emptied. Only the bot process may call this, before it sends anything: in another process (``notify``)
        the rows in flight belong to a bot that is still running.
        """
        now = self._conn.now_text()
        departed = self._departures.departed()
        async with self._conn.transaction():
            leftovers = await self._conn.fetch_all(
                "SELECT id, job_id, first_id, last_id, ahead FROM bulk_batches_in_flight"
            )
            maybe_left = [
                int(row[0]) for row in leftovers if not row[4] or Departure(*(int(v) for v in row[:4])) in departed
            ]
            maybe_sent = _in_a_batch_in_flight(" AND b.id IN (SELECT value FROM json_each(?))")
            covered = f"messages.status = 'pending' AND {maybe_sent}"
            in_flight = f"(messages.status = ? OR ({covered}))"
            maybe_left_json = "[" + ",".join(map(str, maybe_left)) + "]"
            rows = await self._conn.fetch_all(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE {in_flight} ORDER BY id", (_SENDING, maybe_left_json)
            )
            await self._conn.execute(
                f"UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE {in_flight}",
                (MessageStatus.UNKNOWN.value, error, now, _SENDING, maybe_left_json),
            )
            await self._conn.execute("DELETE FROM bulk_batches_in_flight")
        if departed:
            # On disk before the lines go: a power cut must not keep the emptied log and lose this recovery.
            await self._conn.fetch_all("PRAGMA wal_checkpoint(FULL)")
        self._departures.clear()  # after the commit: a crash before it reads the same lines again
        changed_at = text_to_time(now)
        return [
            dataclasses.replace(message_from_row(row), status=MessageStatus.UNKNOWN, error=error, updated_at=changed_at)
            for row in rows
        ]
