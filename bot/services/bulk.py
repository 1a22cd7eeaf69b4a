"""Bulk sends: the draft a preview shows, the job it becomes on Send, resuming after a restart, and retries.

Jobs run as background tasks so handlers keep answering while thousands of messages go out.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from bot.formatting import truncate
from bot.phone import RecipientList, read_recipients
from bot.providers.types import ProviderName
from bot.services.alerts import AlertService
from bot.services.balance import BalanceService
from bot.services.bulk_runner import JobRunner, ProgressReporter
from bot.services.errors import NotAllowedError, NotFoundError, UserInputError
from bot.services.registry import ProviderRegistry
from bot.sms_text import SmsLength, check_message
from storage import BulkJobRecord, Database, JobState, JobTotals, MessageRecord, NewBulkJob, audit_actions

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 100_000


@dataclass(frozen=True, slots=True)
class BulkDraft:
    """A checked bulk send, shown as a preview until the user presses Send."""

    chat_id: int
    user_id: int | None
    provider: ProviderName
    sender_id: str
    text: str
    length: SmsLength
    recipients: RecipientList
    unit_price: Decimal | None
    source: str | None = None  # file name, when the numbers came from an upload

    @property
    def units(self) -> int:
        return self.length.units(len(self.recipients.valid))

    @property
    def estimated_cost(self) -> Decimal | None:
        return None if self.unit_price is None else self.unit_price * self.units


@dataclass(frozen=True, slots=True)
class RetryDraft:
    job: BulkJobRecord
    failed: int
    unknown: int
    by_chat_id: int
    by_user_id: int | None


ReporterFactory = Callable[[BulkJobRecord, str], ProgressReporter]
"""Makes the progress reporter for a job; the text says why it (re)starts ("start", "resume", "retry")."""


class BulkService:
    def __init__(
        self,
        db: Database,
        providers: ProviderRegistry,
        balances: BalanceService,
        alerts: AlertService,
        *,
        batch_size: int,
        concurrency: int,
        progress_interval: float = 2.0,
    ) -> None:
        self._db = db
        self._providers = providers
        self._balances = balances
        self._alerts = alerts
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._progress_interval = progress_interval
        self._running: dict[int, tuple[JobRunner, asyncio.Task[JobTotals]]] = {}
        self._background: set[asyncio.Future[None]] = set()  # alerts about failed jobs, kept until sent

    async def prepare(
        self,
        *,
        chat_id: int,
        user_id: int | None,
        numbers: Iterable[str],
        text: str,
        provider: ProviderName | None = None,
        source: str | None = None,
    ) -> BulkDraft:
        length = check_message(text)
        client = self._providers.get(provider)
        # Tens of thousands of numbers take seconds to check: keep the event loop free for other chats.
        recipients = await asyncio.to_thread(read_recipients, list(numbers))
        if not recipients.valid:
            if recipients.refused:
                raise UserInputError(_nothing_valid(recipients))
            raise UserInputError("No numbers found. Put the numbers on the first line and the message below.")
        if len(recipients.valid) > MAX_RECIPIENTS:
            raise UserInputError(
                f"Too many recipients: {len(recipients.valid):,}. One bulk send takes at most {MAX_RECIPIENTS:,}."
            )
        return BulkDraft(
            chat_id=chat_id,
            user_id=user_id,
            provider=client.name,
            sender_id=client.default_sender_id,
            text=text,
            length=length,
            recipients=recipients,
            unit_price=await self._balances.unit_price(client.name),
            source=source,
        )

    async def start(
        self, draft: BulkDraft, reporter_for: ReporterFactory, *, request_key: str | None = None
    ) -> BulkJobRecord:
        """Store the job and all its recipients as ``pending`` in one transaction, then send in the background.

        ``request_key`` (the update that pressed Send) is stored in that transaction; a key already stored raises
        ``DuplicateRequest`` (``bot.services.requests``) and nothing is stored or sent.
        """
        job = await self._db.jobs.create(
            NewBulkJob(
                chat_id=draft.chat_id,
                user_id=draft.user_id,
                body=draft.text,
                encoding=draft.length.encoding.value,
                segments=draft.length.segments,
                provider=draft.provider.value,
                sender_id=draft.sender_id,
                refused=len(draft.recipients.refused),
                duplicates=len(draft.recipients.duplicates),
            ),
            draft.recipients.valid,
            request_key=request_key,
        )
        await self._db.audit.record(
            audit_actions.BULK,
            actor_chat_id=draft.chat_id,
            actor_user_id=draft.user_id,
            target=f"job #{job.id}",
            detail=f"{len(draft.recipients.valid)} recipients via {draft.provider.value}, "
            f"{len(draft.recipients.refused)} refused, {len(draft.recipients.duplicates)} duplicates removed",
            units=draft.units,
        )
        self._launch(job, reporter_for(job, "start"))
        return job

    def _launch(self, job: BulkJobRecord, reporter: ProgressReporter) -> None:
        provider = self._providers.get(ProviderName(job.provider))
        runner = JobRunner(
            self._db,
            provider,
            self._alerts,
            self._balances,
            batch_size=self._batch_size,
            concurrency=self._concurrency,
            progress_interval=self._progress_interval,
        )
        task = asyncio.create_task(runner.run(job, reporter), name=f"bulk-job-{job.id}")
        self._running[job.id] = (runner, task)
        task.add_done_callback(lambda finished: self._forget(job.id, finished))

    def _forget(self, job_id: int, task: asyncio.Task[JobTotals]) -> None:
        self._running.pop(job_id, None)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.error("bulk job %s stopped with an error", job_id, exc_info=error)
            details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            report = self._alerts.handler_error(f"bulk job #{job_id}", details, chat_id=None, user_id=None)
            self._background.add(asyncio.ensure_future(report))
            self._background = {t for t in self._background if not t.done()}

    async def wait(self, job_id: int) -> JobTotals | None:
        """Wait for a running job to finish (tests, shutdown)."""
        entry = self._running.get(job_id)
        return None if entry is None else await entry[1]

    async def cancel(self, job_id: int, *, chat_id: int, is_admin: bool) -> bool:
        """Stop sending the rest of a job; ``False`` when it is not running any more."""
        job = await self._db.jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"There is no bulk job #{job_id}.")
        if job.chat_id != chat_id and not is_admin:
            raise NotAllowedError("Only the chat that started this job, or an admin, can cancel it.")
        entry = self._running.get(job_id)
        if entry is not None:
            entry[0].cancelled.set()
        elif job.state not in (JobState.QUEUED, JobState.RUNNING):
            return False
        # Stored at once, not when the running batches end: a crash in between must not resume a cancelled job.
        await self._db.jobs.cancel_pending(job_id)
        await self._db.audit.record(
            audit_actions.CANCEL, actor_chat_id=chat_id, actor_user_id=None, target=f"job #{job_id}"
        )
        return True

    async def recover_after_restart(self) -> list[MessageRecord]:
        """Rows a crash left in ``sending`` become ``unknown``: the caller reports them; they are not resent."""
        return await self._db.jobs.mark_stuck_sending_unknown(
            "the bot stopped while this was being sent; it may or may not have gone out"
        )

    async def resume_all(self, reporter_for: ReporterFactory) -> list[BulkJobRecord]:
        """Restart every job with pending rows, and finish (with a summary) jobs a crash left ``running`` with
        nothing pending: the runner claims nothing, closes the job and reports it like any other end."""
        jobs = {job.id: job for job in await self._db.jobs.list_unfinished()}
        jobs.update((job.id, job) for job in await self._db.jobs.with_pending_work())
        resumed = []
        for job_id, job in sorted(jobs.items()):
            if job_id in self._running:
                continue
            if ProviderName(job.provider) not in self._providers.names:
                # Its provider was switched off since: leave the rows pending (nothing is lost) and say so.
                await self._alerts.notice(
                    f"⚠️ Bulk job #{job.id} has recipients waiting, but {ProviderName(job.provider).label} is no "
                    "longer configured. Configure it again to finish the job; nothing was sent meanwhile."
                )
                continue
            self._launch(job, reporter_for(job, "resume"))
            resumed.append(job)
        return resumed

    async def prepare_retry(self, job_id: int, *, chat_id: int, user_id: int | None) -> RetryDraft:
        job = await self._db.jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"There is no bulk job #{job_id}.")
        if job_id in self._running:
            raise UserInputError(f"Job #{job_id} is still sending; wait for it to finish.")
        if ProviderName(job.provider) not in self._providers.names:
            raise UserInputError(
                f"Job #{job_id} was sent through {ProviderName(job.provider).label}, which is not configured now."
            )
        totals = await self._db.jobs.totals(job_id)
        if totals.failed + totals.unknown == 0:
            raise UserInputError(f"Job #{job_id} has no failed or unknown recipients to retry.")
        return RetryDraft(job, totals.failed, totals.unknown, chat_id, user_id)

    async def retry(self, draft: RetryDraft, reporter_for: ReporterFactory, *, request_key: str | None = None) -> int:
        """Requeue the failed and unknown rows and run the job again; ``request_key`` as in ``start``."""
        current = await self._db.jobs.get(draft.job.id)
        if draft.job.id in self._running or current is None or current.updated_at != draft.job.updated_at:
            # Another retry (or a resume) ran since this preview: its unknown rows may have arrived already.
            raise UserInputError(f"Job #{draft.job.id} changed since this preview. Run /retry {draft.job.id} again.")
        count = await self._db.jobs.requeue_failed_and_unknown(
            draft.job.id, request_key=request_key, requested_by=draft.by_chat_id
        )
        await self._db.audit.record(
            audit_actions.RETRY,
            actor_chat_id=draft.by_chat_id,
            actor_user_id=draft.by_user_id,
            target=f"job #{draft.job.id}",
            detail=f"requeued {draft.failed} failed and {draft.unknown} unknown recipients",
            units=count * draft.job.segments,
        )
        await self._db.jobs.set_state(draft.job.id, JobState.QUEUED)
        job = await self._db.jobs.get(draft.job.id) or draft.job
        self._launch(job, reporter_for(job, "retry"))
        return count

    async def shutdown(self, grace: float) -> None:
        """Let in-flight batches finish; pending rows stay pending and resume on the next start."""
        for runner, _ in self._running.values():
            runner.stopping.set()
        tasks = [task for _, task in self._running.values()]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


def _nothing_valid(recipients: RecipientList) -> str:
    shown = recipients.refused[:5]
    lines = [f"• {truncate(r.raw, 40)}: {r.reason}" for r in shown]
    if len(recipients.refused) > len(shown):
        lines.append(f"…and {len(recipients.refused) - len(shown)} more")
    return "None of the numbers can be used:\n" + "\n".join(lines)


__all__ = ["BulkDraft", "BulkService", "JobTotals", "ReporterFactory", "RetryDraft"]
