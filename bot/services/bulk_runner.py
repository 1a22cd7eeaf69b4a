"""Sending one bulk job's pending recipients in batches, several batches at a time.

The next batches are read ahead while requests are in flight (a read changes nothing). Each worker claims its
next batch while its own request is out (one small row in ``bulk_batches_in_flight``, see ``storage/batches.py``),
and right before that batch's request leaves, one line in the departure log (``storage/departures.py``) says it
left; its outcomes are recorded in one statement after. So a crash at any point leaves every row either untouched
(``pending``, read or claimed ahead but not departed: resumed later), in flight (becomes ``unknown`` at
start-up, never resent silently) or settled, and after a worker's first batch no request waits for the
database. A large job's rows are stored while its first batches go out (``Unstored``).

Outcomes are stored before anyone is told about them: an alert about a batch goes out from a
background task once its rows are written, so a slow Telegram, a shutdown or a crash while the alert waits never
leaves accepted rows looking unsent (they would turn ``unknown`` and lose their provider ids).

Everything the job's chat sees goes through one ``ProgressReporter``, one call at a time; ``redirect`` swaps it
(a chat that lost access sees nothing more, its summary goes to the admins).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, overload

from bot.providers.errors import (
    AuthenticationError,
    InsufficientCreditError,
    InvalidSenderIdError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ProviderError,
)
from bot.providers.types import SmsProvider
from bot.services.alerts import AlertService
from bot.services.background import BackgroundTasks
from bot.services.balance import BalanceService
from bot.services.bulk_feed import QUIET_WAIT_SECONDS, BatchFeed, ClaimsFirst, Unstored
from bot.services.bulk_outcomes import outcomes_from_result
from storage import (
    BulkJobRecord,
    ClaimedRow,
    Database,
    InFlightBatch,
    JobState,
    JobTotals,
    MessageOutcome,
    MessageRecord,
    MessageStatus,
)

__all__ = ["JobRunner", "Progress", "ProgressReporter", "Unstored", "outcomes_from_result"]

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

    error: str
    recipients: int
    unknown: bool


class _Next(NamedTuple):
    """A worker's next batch as read (None: nothing left to send), its claim ahead (None: not claimed yet), and
    ``blocklist.additions`` when that claim checked the blocklist."""

    rows: list[ClaimedRow] | None
    batch: InFlightBatch | None
    blocks: int = 0


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
        writes: BackgroundTasks | None = None,
    ) -> None:
        self._db = db
        self._provider = provider
        self._alerts = alerts
        self._balances = balances
        self._batch_size = min(batch_size, provider.max_batch_size)
        self._concurrency = concurrency
        self._progress_interval = progress_interval
        # Alerts and the last writes of a cancelled worker; the owner drains them at shutdown.
        self._background = background if background is not None else BackgroundTasks()
        # Database writes that must end even when the worker that started them is cancelled: awaited in full at
        # shutdown (milliseconds each), never cut like an alert that waits for Telegram.
        self._writes = writes if writes is not None else BackgroundTasks()
        self.cancelled = asyncio.Event()  # a person pressed Cancel: the rest is not sent
        self.stopping = asyncio.Event()  # the bot shuts down: the rest stays pending and resumes later
        self.finishing = False  # every row settled; the summary is on its way
        self._stopped_by: str | None = None
        self._stop_reason: str | None = None
        self._counts = {"sent": 0, "failed": 0, "unknown": 0, "remaining": 0}
        self._done_this_run = 0
        self._started = time.monotonic()
        self._reporter: ProgressReporter | None = None
        self._redirected_to: ProgressReporter | None = None
        self._reporting = asyncio.Lock()  # one reporter call at a time, so a redirect waits for the one in flight
        # A request waits for its claim: reads, stores and records let claims go first, at quiet moments.
        self._claims = ClaimsFirst(concurrency)
        self._waiting_for_claims = 0  # workers whose claim ahead is not done yet: ``_hurry`` is set meanwhile
        self._hurry = asyncio.Event()
        self._recording: set[asyncio.Task[None]] = set()  # records handed to the background, not written yet
        self._record_error: BaseException | None = None
        self._no_more_records = asyncio.Event()  # a record failed: the workers stop

    @property
    def redirected(self) -> bool:
        return self._redirected_to is not None

    async def redirect(self, reporter: ProgressReporter) -> None:
        """Report to ``reporter`` from now on; returns once no call to the old one is in flight any more."""
        async with self._reporting:
            self._redirected_to = reporter

    def cancel(self, reason: str) -> None:
        """Send nothing more; the summary names ``reason``. Batches already out finish and are recorded."""
        if self._stopped_by is None:
            self._stopped_by = reason
        self.cancelled.set()

    async def _report(self, call: Callable[[ProgressReporter], Awaitable[None]]) -> None:
        async with self._reporting:
            reporter = self._redirected_to or self._reporter
            if reporter is not None:
                await self._safely(call(reporter))

    async def run(
        self, job: BulkJobRecord, reporter: ProgressReporter, rest: Unstored | None = None, *, fresh: bool = False
    ) -> JobTotals:
        """Send the job's pending rows; ``rest``: recipients ``create`` did not store yet, stored meanwhile.
        ``fresh``: the job was just created, so every recipient is pending (no need to count the rows)."""
        self._reporter = reporter
        await self._db.jobs.set_state(job.id, JobState.RUNNING)
        if fresh:
            start_totals = JobTotals(pending=job.total_recipients - (0 if rest is None else len(rest.recipients)))
        else:
            start_totals = await self._db.jobs.totals(job.id)
        self._counts = {
            "sent": start_totals.accepted,
            "failed": start_totals.failed,
            "unknown": start_totals.unknown,
            "remaining": start_totals.pending + (0 if rest is None else len(rest.recipients)),
        }
        self._done_this_run = 0
        self._started = time.monotonic()
        await self._announce(job)
        done = asyncio.Event()
        reporting = asyncio.create_task(self._report_loop(job, done), name=f"job-{job.id}-progress")
        feed = BatchFeed(
            self._db,
            job,
            batch_size=self._batch_size,
            depth=self._concurrency,
            claims=self._claims,
            rest=rest,
            on_store_failure=lambda: self.cancel("its recipients could not all be stored"),
        )
        storing = asyncio.create_task(feed.store(), name=f"job-{job.id}-store")
        reading = asyncio.create_task(feed.read_ahead(storing), name=f"job-{job.id}-read-ahead")
        try:
            # A task group: if one worker fails, the others are cancelled instead of sending on unsupervised.
            try:
                async with asyncio.TaskGroup() as workers:
                    for _ in range(self._concurrency):
                        workers.create_task(self._worker(job, feed))
            finally:
                self._claims.over()
                # Also when a worker failed: the job leaves the running ones only once what went out is recorded
                # (the writes themselves are held by ``_writes`` and finish even if this wait is cut).
                await self._records_written()
            reading.cancel()  # a read changes nothing, so it may stop anywhere
            with contextlib.suppress(asyncio.CancelledError):
                await reading
            # Every row is stored before the job is closed, so a cancel or a stop reaches the late ones too.
            await storing
        finally:
            done.set()
            for task in (reading, storing):
                task.cancel()  # only when the run itself was cut: a half-stored job is closed at the next start
            await asyncio.gather(reading, storing, return_exceptions=True)
            await reporting
        if self._stopped_by is not None and self._stop_reason is not None:
            await self._fail_late_rows(job, self._stop_reason)
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

    async def _worker(self, job: BulkJobRecord, feed: BatchFeed) -> None:
        """One request slot: one batch at a time, from the claim to the answer; ``BULK_CONCURRENCY`` of them run.

        While its request is out, the worker claims its next batch ahead (``_claim_next``), so an answer is
        followed by the next request with no database round trip in between: right before a claimed-ahead batch
        leaves, one line in the departure log (microseconds, on this task) says it did. The worker's record
        goes to the background, so the slot is never handed from one task to another."""
        ahead: asyncio.Task[_Next] | None = None
        try:
            while not self._halted():
                if ahead is None:
                    waiting, batch, blocks = await feed.next(), None, 0
                else:
                    waiting, batch, blocks = await self._claimed_ahead(ahead)
                    ahead = None
                if waiting is None or self._halted():
                    # Claimed ahead but never departed (cancel, stop, shutdown): its rows provably never left.
                    self._release(job, batch)
                    return
                if batch is not None and blocks != self._db.blocklist.additions:
                    # A number was blocked since the claim checked the blocklist: claimed again, right now.
                    try:
                        await self._db.jobs.release_in_flight(batch)
                    except BaseException:
                        self._release(job, batch)  # queued again (harmless twice), and ``run`` waits for it
                        raise
                    batch = None
                if batch is None:
                    # Claimed right before the request: a crash from here on counts the batch as maybe sent.
                    batch = await self._claim(job, waiting)
                    if self._halted():  # stopped while the claim ran: it does not leave
                        self._release(job, batch)
                        return
                if not batch.rows:
                    continue
                if not self._depart(job, batch):
                    return  # the job was cancelled or stopped meanwhile: the batch was released
                ahead = asyncio.create_task(self._claim_next(job, feed), name=f"job-{job.id}-claim-ahead")
                with self._claims.sending():
                    outcomes, alert = await self._send_groups(job, batch)
                self._claims.answered()
                # Recorded in the background at a quiet moment (``ClaimsFirst``); the admins are told only once the
                # rows are stored.
                self._record(job, batch, outcomes, alert)
                self._count(outcomes)
                if self._stop_reason is not None:
                    await self._stop_job(job, self._stop_reason)
        finally:
            if ahead is not None:
                self._drop_ahead(job, ahead)

    async def _claimed_ahead(self, ahead: asyncio.Task[_Next]) -> _Next:
        """The worker's next batch; while a worker waits for it, claims ahead stop waiting for the answers."""
        if ahead.done():
            return ahead.result()
        self._waiting_for_claims += 1
        self._hurry.set()
        try:
            return await ahead
        finally:
            self._waiting_for_claims -= 1
            if not self._waiting_for_claims:
                self._hurry.clear()

    def _halted(self) -> bool:
        return self.cancelled.is_set() or self.stopping.is_set() or self._no_more_records.is_set()

    def _depart(self, job: BulkJobRecord, batch: InFlightBatch) -> bool:
        """Right before the request: False (and the batch released) when the job's rows were cancelled or failed
        meanwhile; the departure log's line for a batch claimed ahead, and if it cannot be written, the batch does
        not leave either."""
        try:
            departs = self._db.jobs.departing(job.id, batch)
        except BaseException:
            self._release(job, batch)
            raise
        if not departs:
            self._release(job, batch)
        return departs

    async def _claim_next(self, job: BulkJobRecord, feed: BatchFeed) -> _Next:
        """The worker's next batch, claimed ahead while its request is out; the batch is None when the claim
        ahead does not apply (a row changed since it was read): it is then claimed right before it leaves."""
        # After the other answers of this round: their slots' next requests go first (``ClaimsFirst``).
        await self._claims.after_answers(QUIET_WAIT_SECONDS, unless=self._hurry)
        waiting = await feed.next()
        if waiting is None or self._halted():
            return _Next(waiting, None)
        blocks = self._db.blocklist.additions  # read before the claim's statement is queued
        return _Next(waiting, await self._claim(job, waiting, ahead=True), blocks)

    def _release(self, job: BulkJobRecord, batch: InFlightBatch | None) -> None:
        """A claimed batch that will not leave goes back to ``pending``; ``run`` waits for it."""
        if batch is not None:
            self._track(self._writes.spawn(self._released(batch), name=f"job-{job.id}-release"))

    async def _released(self, batch: InFlightBatch) -> None:
        await self._db.jobs.release_in_flight(batch)

    def _drop_ahead(self, job: BulkJobRecord, ahead: asyncio.Task[_Next]) -> None:
        """The worker stops with a claim ahead running or done: whatever it claimed goes back to ``pending``,
        and ``run`` waits for that before it cancels or fails the job's pending rows."""
        ahead.cancel()  # a claim cut while its statement runs queues its own release (``_claim``)

        async def release() -> None:
            with contextlib.suppress(asyncio.CancelledError):
                batch = (await ahead).batch
                if batch is not None:
                    await self._released(batch)

        self._track(self._writes.spawn(release(), name=f"job-{job.id}-release-ahead"))

    @overload
    async def _claim(self, job: BulkJobRecord, rows: list[ClaimedRow]) -> InFlightBatch: ...
    @overload
    async def _claim(self, job: BulkJobRecord, rows: list[ClaimedRow], *, ahead: bool) -> InFlightBatch | None: ...

    async def _claim(self, job: BulkJobRecord, rows: list[ClaimedRow], *, ahead: bool = False) -> InFlightBatch | None:
        """Clear a batch read ahead to leave (one small statement). A claim cancelled while its statement runs
        (shutdown, or a worker that stopped) never hands the rows over, so they never leave: whatever the
        statement did is undone by a release queued behind it, and they stay ``pending`` instead of turning
        "maybe sent" after a restart."""
        with self._claims.claiming():
            try:
                if ahead:
                    return await self._db.jobs.claim_ahead(job.id, rows)
                return await self._db.jobs.claim_in_flight(job.id, rows)
            except asyncio.CancelledError:
                release = self._db.jobs.release_unsent(job.id, rows)
                self._track(self._writes.spawn(release, name=f"job-{job.id}-release"))
                raise

    async def _fail_late_rows(self, job: BulkJobRecord, reason: str) -> None:
        """Rows stored after the job stopped (it stops at the first account error) fail like the others did."""
        failed = await self._db.jobs.fail_pending(job.id, f"not sent: the job stopped ({reason})")
        self._counts["failed"] += failed
        self._counts["remaining"] -= failed

    async def _settle_interrupted(
        self, batch: InFlightBatch, outcomes: list[MessageOutcome], never_sent: list[ClaimedRow]
    ) -> None:
        """A batch cut by a shutdown or a bug: what went out (or may have) is recorded first, then the rest,
        which provably never left, is released to ``pending``."""
        await self._db.jobs.record_outcomes(outcomes)
        if batch.claim_id is not None:
            await self._db.jobs.release_in_flight(batch)  # the recorded rows are no longer pending: only the rest
        else:
            await self._db.jobs.release_claim([row.id for row in never_sent])

    def _record(
        self, job: BulkJobRecord, batch: InFlightBatch, outcomes: Sequence[MessageOutcome], alert: _BatchAlert | None
    ) -> None:
        # Held by ``_writes``, not by the worker: a shutdown that cancels the worker must not leave rows the
        # provider accepted in flight (they would become unknown and lose their provider ids). ``run`` waits for
        # every record before it closes the job.
        self._track(
            self._writes.spawn(self._record_then_tell(job, batch, outcomes, alert), name=f"job-{job.id}-record")
        )

    def _track(self, write: asyncio.Task[None]) -> None:
        self._recording.add(write)
        write.add_done_callback(self._recorded)

    def _recorded(self, write: asyncio.Task[None]) -> None:
        self._recording.discard(write)
        if not write.cancelled() and (error := write.exception()) is not None and self._record_error is None:
            self._record_error = error  # the workers stop (batches already claimed still go out, then stop)
            self._no_more_records.set()

    async def _record_then_tell(
        self, job: BulkJobRecord, batch: InFlightBatch, outcomes: Sequence[MessageOutcome], alert: _BatchAlert | None
    ) -> None:
        try:
            async with self._claims.background(QUIET_WAIT_SECONDS):
                await self._db.jobs.settle_in_flight(batch, outcomes)
        finally:
            if alert is not None:
                self._tell_admins(job, alert)

    async def _records_written(self) -> None:
        """Every record handed to the background so far is written; the first failure is raised."""
        while self._recording:
            await asyncio.wait(list(self._recording))
        if self._record_error is not None:
            raise self._record_error

    def _tell_admins(self, job: BulkJobRecord, alert: _BatchAlert) -> None:
        """In the background, outside the concurrency slot: a slow Telegram holds up neither sends nor writes."""
        report = self._alerts.send_failed(
            self._provider.name,
            alert.error,
            chat_id=job.chat_id,
            user_id=job.user_id,
            recipients=alert.recipients,
            unknown=alert.unknown,
            job_id=job.id,
        )
        self._background.spawn(report, name=f"job-{job.id}-alert")

    async def _send_groups(
        self, job: BulkJobRecord, batch: InFlightBatch
    ) -> tuple[list[MessageOutcome], _BatchAlert | None]:
        """One request per distinct text in the batch (a plain job's batch is one text: one request).

        Providers take one message per request, so a personalised batch sends its identical texts together and
        the others one request each, one after the other inside this worker's slot: ``BULK_CONCURRENCY`` holds.
        """
        groups: dict[str, list[ClaimedRow]] = {}
        for row in batch.rows:
            groups.setdefault(job.body if row.body is None else row.body, []).append(row)
        outcomes: list[MessageOutcome] = []
        alerts: list[_BatchAlert] = []
        items = list(groups.items())
        for index, (body, rows) in enumerate(items):
            if self._stop_reason is not None or self.cancelled.is_set():
                # Not sent: the job stopped (e.g. no credit) or was cancelled while this batch was going out.
                reason = "not sent: the job stopped" if self._stop_reason is not None else "not sent: cancelled"
                rest = [row for _, left in items[index:] for row in left]
                outcomes += [MessageOutcome(row.id, MessageStatus.FAILED, error=reason) for row in rest]
                break
            try:
                sent, alert = await self._send_batch(job, rows, body)
            except BaseException:
                # A shutdown or a bug while this group's request may be out: its rows must not look unsent. The
                # groups sent before it are recorded, and those after it never left: back to pending, resumed
                # at the next start. Written in the background, held to the end at shutdown.
                maybe_sent = [MessageOutcome(row.id, MessageStatus.UNKNOWN, error=_INTERRUPTED) for row in rows]
                later = [row for _, left in items[index + 1 :] for row in left]
                settle = self._settle_interrupted(batch, outcomes + maybe_sent, later)
                self._track(self._writes.spawn(settle, name=f"job-{job.id}-settle"))
                raise
            outcomes += sent
            if alert is not None:
                alerts.append(alert)
        if len(alerts) <= 1:
            return outcomes, alerts[0] if alerts else None
        merged = _BatchAlert(
            alerts[0].error, sum(alert.recipients for alert in alerts), unknown=any(alert.unknown for alert in alerts)
        )
        return outcomes, merged

    async def _send_batch(
        self, job: BulkJobRecord, batch: Sequence[ClaimedRow], body: str
    ) -> tuple[list[MessageOutcome], _BatchAlert | None]:
        recipients = [row.recipient for row in batch]
        try:
            result = await self._provider.send(recipients, body, job.sender_id)
        except OutcomeUnknownError as exc:
            maybe_sent = [MessageOutcome(row.id, MessageStatus.UNKNOWN, error=str(exc)) for row in batch]
            return maybe_sent, _BatchAlert(str(exc), len(batch), unknown=True)
        except ProviderError as exc:
            if _stops_the_job(exc):
                self._stop_reason = str(exc)
            failed = [MessageOutcome(row.id, MessageStatus.FAILED, error=str(exc)) for row in batch]
            return failed, _BatchAlert(str(exc), len(batch), unknown=False)
        self._balances.note_balance_after_send(self._provider.name, result.balance_after)
        segments = batch[0].segments if batch[0].segments is not None else job.segments
        outcomes = outcomes_from_result(batch, result, segments)
        unknown = sum(outcome.status is MessageStatus.UNKNOWN for outcome in outcomes)
        if unknown:
            return outcomes, _BatchAlert("the provider's answer did not mention some recipients", unknown, unknown=True)
        return outcomes, None

    async def _stop_job(self, job: BulkJobRecord, reason: str) -> None:
        if self._stopped_by is None:
            self._stopped_by = reason
            self.stopping.set()
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
