"""Sending one bulk job: ``BULK_CONCURRENCY`` workers each claim a batch, send it in one request and record its
outcomes (before anyone is told), until nothing is pending. States and crash rule: ``docs/bulk.md``. The chat
sees the job through one ``ProgressReporter``; ``redirect`` swaps it (a chat that lost access sees nothing more).
With a ``backup`` provider, a batch the job's provider refused before sending goes to it (``docs/failover.md``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.providers.errors import (
    AuthenticationError,
    InsufficientCreditError,
    InvalidSenderIdError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ProviderError,
)
from bot.providers.types import ProviderName, SmsProvider
from bot.services.alerts import AlertService
from bot.services.background import BackgroundTasks, to_the_end
from bot.services.balance import BalanceService
from bot.services.bulk_outcomes import outcomes_from_result
from bot.services.failover import refused_before_sending
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
_INTERRUPTED = "interrupted while sending"
_COUNTED_AS = {MessageStatus.SENT: "sent", MessageStatus.FAILED: "failed"}  # anything else counts as unknown
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


@dataclass(frozen=True, slots=True)
class _BatchAlert:
    """What the admins are told about one batch, once its outcomes are stored."""

    provider: ProviderName
    error: str
    recipients: int
    unknown: bool
    failover_to: ProviderName | None = None  # refused before sending: the batch went there instead
    failover_status: str | None = None


@dataclass(frozen=True, slots=True)
class _Refusal:
    """The job's provider refused a batch before sending: later batches go straight to the backup."""

    error: ProviderError


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
        background: BackgroundTasks | None = None,
        backup: SmsProvider | None = None,
    ) -> None:
        self._db = db
        self._provider = provider
        self._backup = backup  # takes a batch ``provider`` refused before sending (provider failover)
        self._refusal: _Refusal | None = None
        self._alerts = alerts
        self._balances = balances
        self._batch_size = min(batch_size, provider.max_batch_size, *([backup.max_batch_size] if backup else []))
        self._concurrency = concurrency
        self._progress_interval = progress_interval
        self._background = background if background is not None else BackgroundTasks()  # the admins' alerts
        self.cancelled = asyncio.Event()  # a person pressed Cancel: the rest is not sent
        self.stopping = asyncio.Event()  # the bot shuts down: the rest stays pending and resumes later
        self.finishing = False  # every row settled; the summary is on its way
        self._stopped_by: str | None = None
        self._stop_reason: str | None = None  # an account error: every later batch would fail the same way
        self._failure: BaseException | None = None  # a worker failed (a bug, the database): the others stop
        self._counts = {"sent": 0, "failed": 0, "unknown": 0, "remaining": 0}
        self._done_this_run = 0
        self._started = time.monotonic()
        self._reporter: ProgressReporter | None = None
        self._redirected_to: ProgressReporter | None = None
        self._reporting = asyncio.Lock()  # one reporter call at a time, so a redirect waits for the one in flight

    @property
    def redirected(self) -> bool:
        return self._redirected_to is not None

    async def redirect(self, reporter: ProgressReporter) -> None:
        """Report to ``reporter`` from now on; returns once no call to the old one is in flight any more."""
        async with self._reporting:
            self._redirected_to = reporter

    def cancel(self, reason: str) -> None:
        """Claim nothing more; the summary names ``reason``. Batches already out finish and are recorded."""
        if self._stopped_by is None:
            self._stopped_by = reason
        self.cancelled.set()

    async def _report(self, call: Callable[[ProgressReporter], Awaitable[None]]) -> None:
        async with self._reporting:
            reporter = self._redirected_to or self._reporter
            if reporter is not None:
                await self._safely(call(reporter))

    async def run(self, job: BulkJobRecord, reporter: ProgressReporter) -> JobTotals:
        """Send the job's pending rows until none is left, it is cancelled or the bot stops; then its summary
        (not when the bot stops with rows pending: they resume at the next start)."""
        self._reporter = reporter
        running = await self._db.jobs.start_running(job.id)  # False: cancelled (or finished) meanwhile
        start = await self._db.jobs.totals(job.id)
        self._counts = {
            "sent": start.accepted,
            "failed": start.failed,
            "unknown": start.unknown,
            "remaining": start.pending,
        }
        self._done_this_run = 0
        self._started = time.monotonic()
        await self._announce(job)
        done = asyncio.Event()
        reporting = asyncio.create_task(self._report_loop(job, done), name=f"job-{job.id}-progress")
        try:
            workers = [self._worker(job) for _ in range(self._concurrency if running else 0)]
            await asyncio.gather(*workers, return_exceptions=True)
        finally:
            done.set()
            await reporting
        if self._failure is not None:
            raise self._failure
        if self.stopping.is_set() and not self.cancelled.is_set() and self._stop_reason is None:
            totals = await self._db.jobs.totals(job.id)
            if totals.pending:
                return totals  # shutting down: the pending rows resume at the next start
        if self.cancelled.is_set():
            await self._db.jobs.cancel_pending(job.id)
        job = await self._db.jobs.finish(job.id)
        if job.state is JobState.CANCELLED:  # by Cancel, /deny, or before this run started
            self._stopped_by = self._stopped_by or "cancelled"
        totals = await self._db.jobs.totals(job.id)
        failures = [
            row
            for status in (MessageStatus.FAILED, MessageStatus.UNKNOWN)
            for row in await self._db.messages.list_for_job(job.id, limit=SUMMARY_FAILURES, status=status)
        ]
        stopped_by = self._stopped_by
        self.finishing = True  # nothing left to stop: only the summary, which may retry for minutes
        await self._report(lambda reporter: reporter.finished(job, totals, failures, stopped_by))
        return totals

    async def _announce(self, job: BulkJobRecord) -> None:
        """Post the progress message and remember it, so a later resume can retire it."""
        async with self._reporting:
            reporter = self._redirected_to or self._reporter
            if reporter is None:
                return
            try:
                message_id = await reporter.started(job, self.progress())
            except Exception:
                log.exception("could not post the progress message of bulk job %s", job.id)
                return
        if message_id is not None:
            await self._db.jobs.set_progress_message(job.id, message_id)

    def _halted(self) -> bool:
        stopped = self._stop_reason is not None or self._failure is not None
        return stopped or self.cancelled.is_set() or self.stopping.is_set()

    async def _worker(self, job: BulkJobRecord) -> None:
        """One request slot: claim a batch, send it, record its outcomes; again until nothing is claimed."""
        try:
            while not self._halted():
                rows = await self._claim(job)
                if not rows:
                    return
                outcomes, alerts = await self._send(job, rows)
                await to_the_end(self._db.jobs.record_outcomes(outcomes))
                for alert in alerts:
                    self._tell_admins(job, alert)
                self._count(outcomes)
                if self._stop_reason is not None:
                    await self._stop_job(job, self._stop_reason)
        except Exception as exc:
            if self._failure is None:
                self._failure = exc
            raise

    async def _claim(self, job: BulkJobRecord) -> list[ClaimedRow]:
        """The worker's next batch, now ``sending``; empty when nothing is left to claim."""
        claim = asyncio.ensure_future(self._db.jobs.claim_batch(job.id, self._batch_size))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            # Stopped while the claim ran: its rows never left, so they go back to pending.
            rows = await to_the_end(claim)
            await to_the_end(self._db.jobs.release_claim([row.id for row in rows]))
            raise

    async def _send(
        self, job: BulkJobRecord, rows: Sequence[ClaimedRow]
    ) -> tuple[list[MessageOutcome], list[_BatchAlert]]:
        """One request for the batch (its rows share one text); the outcome of every row, and what to tell. A batch
        the job's provider refused before sending goes once to the backup, which then takes the job's later ones."""
        refusal = self._refusal
        if refusal is None:
            outcomes, alert, error = await self._request(self._provider, rows, job.sender_id)
            if error is None or self._backup is None or not refused_before_sending(error):
                self._stop_if_hopeless(error)
                return outcomes, [] if alert is None else [alert]
            refusal = self._refusal = self._refusal or _Refusal(error)
        assert self._backup is not None  # a refusal is only kept with a backup to hand over to
        ids = [row.id for row in rows]
        failed_from, reason = self._provider.name, str(refusal.error)
        if not await self._db.jobs.hand_over(ids, provider=self._backup.name.value, failover_from=failed_from.value,
                                             reason=reason):  # fmt: skip
            failed = [MessageOutcome(row.id, MessageStatus.FAILED, error=reason) for row in rows]
            return failed, [_BatchAlert(failed_from, reason, len(rows), unknown=False)]
        # The backup's own sender id: the job's belongs to the provider that refused.
        outcomes, alert, error = await self._request(self._backup, rows, None)
        self._stop_if_hopeless(error)
        sent = sum(outcome.status is MessageStatus.SENT for outcome in outcomes)
        handed = _BatchAlert(failed_from, reason, len(rows), unknown=False, failover_to=self._backup.name,
                             failover_status=f"{sent} of {len(rows)} sent")  # fmt: skip
        return outcomes, [handed] if alert is None else [handed, alert]

    def _stop_if_hopeless(self, error: ProviderError | None) -> None:
        if error is not None and _stops_the_job(error):
            self._stop_reason = str(error)

    async def _request(
        self, provider: SmsProvider, rows: Sequence[ClaimedRow], sender_id: str | None
    ) -> tuple[list[MessageOutcome], _BatchAlert | None, ProviderError | None]:
        """The batch's request to ``provider``: every row's outcome, what to tell, and the refusal if it refused."""
        try:
            result = await provider.send([row.recipient for row in rows], rows[0].body, sender_id)
        except OutcomeUnknownError as exc:
            maybe_sent = [MessageOutcome(row.id, MessageStatus.UNKNOWN, error=str(exc)) for row in rows]
            return maybe_sent, _BatchAlert(provider.name, str(exc), len(rows), unknown=True), None
        except ProviderError as exc:
            failed = [MessageOutcome(row.id, MessageStatus.FAILED, error=str(exc)) for row in rows]
            return failed, _BatchAlert(provider.name, str(exc), len(rows), unknown=False), exc
        except BaseException:
            # Cut (the shutdown's grace ran out, or a bug) while the request may be out: maybe sent.
            maybe_sent = [MessageOutcome(row.id, MessageStatus.UNKNOWN, error=_INTERRUPTED) for row in rows]
            await to_the_end(self._db.jobs.record_outcomes(maybe_sent))
            raise
        self._balances.note_balance_after_send(provider.name, result.balance_after)
        outcomes = outcomes_from_result(rows, result, rows[0].segments)
        unknown = sum(outcome.status is MessageStatus.UNKNOWN for outcome in outcomes)
        if unknown:
            what = "the provider's answer did not mention some recipients"
            return outcomes, _BatchAlert(provider.name, what, unknown, unknown=True), None
        return outcomes, None, None

    def _tell_admins(self, job: BulkJobRecord, alert: _BatchAlert) -> None:
        """In the background, outside the request slot: a slow Telegram holds up neither sends nor writes."""
        report = self._alerts.send_failed(
            alert.provider,
            alert.error,
            chat_id=job.chat_id,
            user_id=job.user_id,
            recipients=alert.recipients,
            unknown=alert.unknown,
            job_id=job.id,
            failover_to=alert.failover_to,
            failover_status=alert.failover_status,
        )
        self._background.spawn(report, name=f"job-{job.id}-alert")

    async def _stop_job(self, job: BulkJobRecord, reason: str) -> None:
        if self._stopped_by is None:
            self._stopped_by = reason
            failed = await self._db.jobs.fail_pending(job.id, f"not sent: the job stopped ({reason})")
            self._counts["failed"] += failed
            self._counts["remaining"] -= failed

    def _count(self, outcomes: Sequence[MessageOutcome]) -> None:
        counts = self._counts
        for outcome in outcomes:
            counts[_COUNTED_AS.get(outcome.status, "unknown")] += 1
        counts["remaining"] -= len(outcomes)
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

    async def _report_loop(self, job: BulkJobRecord, done: asyncio.Event) -> None:
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
                await self._show_progress(job, current)
                last = current

    async def _show_progress(self, job: BulkJobRecord, progress: Progress) -> None:
        await self._report(lambda reporter: reporter.progress(job, progress))

    @staticmethod
    async def _safely(call: Awaitable[None]) -> None:
        try:
            await call
        except Exception:
            log.exception("could not report bulk job progress")


def _stops_the_job(error: ProviderError) -> bool:
    """Errors that would fail every later batch the same way: a refused account, or a wrong URL (404/405)."""
    return isinstance(error, _ACCOUNT_ERRORS) or error.status_code in (404, 405)
