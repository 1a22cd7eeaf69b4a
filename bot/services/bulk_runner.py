"""Sending one bulk job's pending recipients in batches, several batches at a time.

Each batch is claimed (``pending`` → ``sending``) in one transaction before the provider is called and its
outcomes are recorded in one transaction after, so a crash at any point leaves every row either untouched
(``pending``: resumed later), in flight (``sending``: becomes ``unknown`` at start-up, never resent silently) or
settled. Units and cost per row come from the provider's batch figures when it gives them, spread over the
accepted rows so that the rows always add up to what the provider charged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from bot.providers.errors import (
    AuthenticationError,
    InsufficientCreditError,
    InvalidSenderIdError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ProviderError,
)
from bot.providers.types import RecipientState, SendResult, SmsProvider
from bot.services.alerts import AlertService
from bot.services.balance import BalanceService
from storage import (
    BulkJobRecord,
    ClaimedRow,
    Database,
    JobState,
    JobTotals,
    MessageOutcome,
    MessageRecord,
    MessageStatus,
)

log = logging.getLogger(__name__)

SUMMARY_FAILURES = 100
# Errors that will fail every later batch the same way: stop instead of hammering the provider.
_ACCOUNT_ERRORS = (AuthenticationError, PermissionDeniedError, InsufficientCreditError, InvalidSenderIdError)


@dataclass(frozen=True, slots=True)
class Progress:
    """Counts for the progress message; ``eta_seconds`` is ``None`` until a batch has finished."""

    sent: int
    failed: int
    unknown: int
    remaining: int
    eta_seconds: float | None


class ProgressReporter(Protocol):
    async def started(self, job: BulkJobRecord, progress: Progress) -> int | None:
        """Show the job has started; return the id of the message that will carry its progress."""
        ...

    async def progress(self, job: BulkJobRecord, progress: Progress) -> None: ...

    async def finished(
        self, job: BulkJobRecord, totals: JobTotals, failures: Sequence[MessageRecord], stopped_by: str | None
    ) -> None:
        """``failures``: the first failed and unknown rows, for the summary (the export has them all)."""
        ...


class JobRunner:
    def __init__(
        self,
        db: Database,
        provider: SmsProvider,
        alerts: AlertService,
        balances: BalanceService,
        *,
        batch_size: int,
        concurrency: int,
        progress_interval: float = 2.0,
    ) -> None:
        self._db = db
        self._provider = provider
        self._alerts = alerts
        self._balances = balances
        self._batch_size = min(batch_size, provider.max_batch_size)
        self._concurrency = concurrency
        self._progress_interval = progress_interval
        self.cancelled = asyncio.Event()  # a person pressed Cancel: the rest is not sent
        self.stopping = asyncio.Event()  # the bot shuts down: the rest stays pending and resumes later
        self._stopped_by: str | None = None
        # Requests in flight at once; twice as many workers wait on it so a freed slot is taken at once.
        self._in_flight = asyncio.Semaphore(concurrency)
        self._stop_reason: str | None = None
        self._counts = {"sent": 0, "failed": 0, "unknown": 0, "remaining": 0}
        self._done_this_run = 0
        self._started = time.monotonic()

    async def run(self, job: BulkJobRecord, reporter: ProgressReporter) -> JobTotals:
        await self._db.jobs.set_state(job.id, JobState.RUNNING)
        start_totals = await self._db.jobs.totals(job.id)
        self._counts = {
            "sent": start_totals.accepted,
            "failed": start_totals.failed,
            "unknown": start_totals.unknown,
            "remaining": start_totals.pending,
        }
        self._done_this_run = 0
        self._started = time.monotonic()
        await self._announce(job, reporter)
        done = asyncio.Event()
        reporting = asyncio.create_task(self._report_loop(job, reporter, done), name=f"job-{job.id}-progress")
        try:
            # A task group: if one worker fails, the others are cancelled instead of sending on unsupervised.
            async with asyncio.TaskGroup() as workers:
                for _ in range(2 * self._concurrency):
                    workers.create_task(self._worker(job))
        finally:
            done.set()
            await reporting
        interrupted = self.stopping.is_set() and not self.cancelled.is_set() and self._stopped_by is None
        if interrupted:
            totals = await self._db.jobs.totals(job.id)
            if totals.pending:
                return totals  # shutting down: the pending rows resume on the next start
        if self.cancelled.is_set():
            await self._db.jobs.cancel_pending(job.id)
            self._stopped_by = self._stopped_by or "cancelled"
        totals = await self._db.jobs.totals(job.id)
        final = JobState.CANCELLED if self.cancelled.is_set() else JobState.DONE
        await self._db.jobs.set_state(job.id, final)
        job = await self._db.jobs.get(job.id) or job
        failures = [
            row
            for status in (MessageStatus.FAILED, MessageStatus.UNKNOWN)
            for row in await self._db.messages.list_for_job(job.id, limit=SUMMARY_FAILURES, status=status)
        ]
        await self._safely(reporter.finished(job, totals, failures, self._stopped_by))
        return totals

    async def _announce(self, job: BulkJobRecord, reporter: ProgressReporter) -> None:
        """Post the progress message and remember it, so a later resume can retire it."""
        try:
            message_id = await reporter.started(job, self.progress())
        except Exception:
            log.exception("could not post the progress message of bulk job %s", job.id)
            return
        if message_id is not None:
            await self._db.jobs.set_progress_message(job.id, message_id)

    async def _worker(self, job: BulkJobRecord) -> None:
        while not (self.cancelled.is_set() or self.stopping.is_set()):
            async with self._in_flight:
                # Claimed inside the slot, right before the request: a row is ``sending`` only when its request
                # is about to leave, so a crash never marks unsent rows as "maybe sent".
                if self.cancelled.is_set() or self.stopping.is_set():
                    return
                batch = await self._db.jobs.claim_batch(job.id, self._batch_size)
                if not batch:
                    return
                outcomes = await self._send_batch(job, batch)
            # Recorded after the slot is free, so the next request leaves while this one is written down.
            await self._db.jobs.record_outcomes(outcomes)
            self._count(outcomes)
            if self._stop_reason is not None:
                await self._stop_job(job, self._stop_reason)

    async def _send_batch(self, job: BulkJobRecord, batch: Sequence[ClaimedRow]) -> list[MessageOutcome]:
        recipients = [row.recipient for row in batch]
        try:
            result = await self._provider.send(recipients, job.body, job.sender_id)
        except OutcomeUnknownError as exc:
            await self._alerts.send_failed(
                self._provider.name,
                str(exc),
                chat_id=job.chat_id,
                user_id=job.user_id,
                recipients=len(batch),
                unknown=True,
                job_id=job.id,
            )
            return [MessageOutcome(row.id, MessageStatus.UNKNOWN, error=str(exc)) for row in batch]
        except ProviderError as exc:
            await self._alerts.send_failed(
                self._provider.name,
                str(exc),
                chat_id=job.chat_id,
                user_id=job.user_id,
                recipients=len(batch),
                job_id=job.id,
            )
            if _stops_the_job(exc):
                self._stop_reason = str(exc)
            return [MessageOutcome(row.id, MessageStatus.FAILED, error=str(exc)) for row in batch]
        except BaseException:
            # A bug or a cancellation while the request may be out: the rows must not look unsent.
            await self._db.jobs.record_outcomes(
                [MessageOutcome(row.id, MessageStatus.UNKNOWN, error="interrupted while sending") for row in batch]
            )
            raise
        self._balances.note_balance_after_send(self._provider.name, result.balance_after)
        outcomes = outcomes_from_result(batch, result, job.segments)
        unknown = sum(outcome.status is MessageStatus.UNKNOWN for outcome in outcomes)
        if unknown:
            await self._alerts.send_failed(
                self._provider.name,
                "the provider's answer did not mention some recipients",
                chat_id=job.chat_id,
                user_id=job.user_id,
                recipients=unknown,
                unknown=True,
                job_id=job.id,
            )
        return outcomes

    async def _stop_job(self, job: BulkJobRecord, reason: str) -> None:
        if self._stopped_by is None:
            self._stopped_by = reason
            self.stopping.set()
            failed = await self._db.jobs.fail_pending(job.id, f"not sent: the job stopped ({reason})")
            self._counts["failed"] += failed
            self._counts["remaining"] -= failed

    def _count(self, outcomes: Sequence[MessageOutcome]) -> None:
        for outcome in outcomes:
            key = {
                MessageStatus.SENT: "sent",
                MessageStatus.FAILED: "failed",
            }.get(outcome.status, "unknown")
            self._counts[key] += 1
        self._counts["remaining"] -= len(outcomes)
        self._done_this_run += len(outcomes)

    def progress(self) -> Progress:
        eta = None
        if self._done_this_run:
            rate = self._done_this_run / max(time.monotonic() - self._started, 1e-6)
            eta = self._counts["remaining"] / rate
        return Progress(
            sent=self._counts["sent"],
            failed=self._counts["failed"],
            unknown=self._counts["unknown"],
            remaining=max(self._counts["remaining"], 0),
            eta_seconds=eta,
        )

    async def _report_loop(self, job: BulkJobRecord, reporter: ProgressReporter, done: asyncio.Event) -> None:
        """Edit the progress message at most every ``progress_interval`` seconds while batches go out."""
        last: Progress | None = None
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self._progress_interval)
            if done.is_set():
                return
            current = self.progress()
            if last is None or (current.sent, current.failed, current.unknown) != (
                last.sent,
                last.failed,
                last.unknown,
            ):
                await self._safely(reporter.progress(job, current))
                last = current

    @staticmethod
    async def _safely(call: Awaitable[None]) -> None:
        try:
            await call
        except Exception:
            log.exception("could not report bulk job progress")


def _stops_the_job(error: ProviderError) -> bool:
    """Errors that would fail every later batch the same way: a refused account, or a wrong URL (404/405)."""
    return isinstance(error, _ACCOUNT_ERRORS) or error.status_code in (404, 405)


def outcomes_from_result(batch: Sequence[ClaimedRow], result: SendResult, segments: int) -> list[MessageOutcome]:
    """Turn one batch answer into row outcomes, spreading the provider's units and cost over accepted rows."""
    by_recipient = {outcome.recipient: outcome for outcome in result.outcomes}
    accepted_rows = [
        row
        for row in batch
        if (o := by_recipient.get(row.recipient)) is not None and o.state is RecipientState.ACCEPTED
    ]
    units = _spread_units(result.units, len(accepted_rows), segments)
    costs = _spread_cost(result.cost, len(accepted_rows))
    share = {row.id: index for index, row in enumerate(accepted_rows)}
    outcomes = []
    for row in batch:
        outcome = by_recipient.get(row.recipient)
        if outcome is None or outcome.state is RecipientState.UNKNOWN:
            reason = (outcome.error if outcome else None) or "the provider's answer did not mention it"
            outcomes.append(MessageOutcome(row.id, MessageStatus.UNKNOWN, error=reason))
        elif outcome.state is RecipientState.REJECTED:
            outcomes.append(
                MessageOutcome(row.id, MessageStatus.FAILED, error=outcome.error or "refused by the provider")
            )
        else:
            index = share[row.id]
            outcomes.append(
                MessageOutcome(
                    row.id,
                    MessageStatus.SENT,
                    provider_message_id=outcome.provider_message_id,
                    units=units[index],
                    cost=None if costs is None else costs[index],
                )
            )
    return outcomes


def _spread_units(total: int | None, count: int, segments: int) -> list[int]:
    if total is None:
        return [segments] * count
    if count == 0:
        return []
    base, extra = divmod(total, count)
    return [base + (1 if index < extra else 0) for index in range(count)]


def _spread_cost(total: Decimal | None, count: int) -> list[Decimal] | None:
    if total is None or count == 0:
        return None
    base = (total / count).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    shares = [base] * count
    shares[0] += total - base * count  # the rounding remainder, so the rows add up exactly
    return shares
