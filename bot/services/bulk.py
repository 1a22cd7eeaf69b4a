"""Bulk sends: the draft a preview shows, the job it becomes on Send, resuming after a restart, and retries.

Jobs run as background tasks so handlers keep answering while thousands of messages go out. A job of a chat that
loses access is cancelled, and a job that dies of an internal error is reported to its chat and to the admins.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from bot.config import FailoverMode
from bot.formatting import truncate
from bot.phone import RecipientList, read_recipients
from bot.providers.types import ProviderName
from bot.services.alerts import AlertService
from bot.services.authorization import require
from bot.services.background import BackgroundTasks
from bot.services.balance import BalanceService
from bot.services.blocklist import without_blocked
from bot.services.bulk_runner import JobRunner, ProgressReporter
from bot.services.errors import NotAllowedError, NotFoundError, UserInputError
from bot.services.failover import SendPurpose, failover_target
from bot.services.group_audience import expand_groups
from bot.services.merge import (
    OWN_TEXT,
    FileColumns,
    MergeText,
    Personalised,
    has_placeholders,
    parse,
    personalise,
    recipients_with_rows,
    without_refused_rows,
)
from bot.services.quotas import QuotaService, QuotaStatus
from bot.services.registry import ProviderRegistry
from bot.sms_text import SmsLength, check_message, measure
from storage import (
    BulkJobRecord,
    Database,
    DatabaseUnavailableError,
    JobState,
    JobTotals,
    LeaseLostError,
    MessageRecord,
    NewBulkJob,
    Role,
    audit_actions,
)

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
    groups: tuple[tuple[str, int], ...] = ()  # (contact group, its member count) for each ``@name`` used
    blocked: tuple[str, ...] = ()  # valid numbers left out because they opted out
    personal: Personalised | None = None  # each recipient's own text, when the message has {column} placeholders
    quota: QuotaStatus | None = None  # the chat's quota today when it has a limit, for the preview (Send rechecks)
    provider_chosen: bool = False  # named with via:, so its batches never fail over to another provider

    @property
    def units(self) -> int:
        if self.personal is not None:
            return self.personal.total_units
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
        quotas: QuotaService | None = None,
        failover: FailoverMode = FailoverMode.OFF,
    ) -> None:
        self._db = db
        self._failover = failover
        self._quotas = quotas
        self._providers = providers
        self._balances = balances
        self._alerts = alerts
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._progress_interval = progress_interval
        self._running: dict[int, tuple[JobRunner, asyncio.Task[JobTotals]]] = {}
        self._chat_of: dict[int, int] = {}  # job id -> its chat, for the jobs in ``_running``
        self._retrying: set[int] = set()  # jobs a retry confirmation is starting or has started, until it ends
        self._background = BackgroundTasks()  # alerts: bounded by the shutdown grace
        self._closing = False  # set by shutdown: a job launched after it sends nothing and resumes next start

    async def prepare(
        self,
        *,
        chat_id: int,
        user_id: int | None,
        numbers: Iterable[str],
        text: str,
        provider: ProviderName | None = None,
        source: str | None = None,
        caller_role: Role | None,
        columns: FileColumns | None = None,
        texts: Sequence[str] | None = None,
    ) -> BulkDraft:
        """``columns``: the uploaded CSV's header and each number's row, for ``{column}`` placeholders;
        ``texts``: each number's text already filled in (a scheduled mail merge firing), ``text`` its template."""
        require(caller_role, "bulk")
        personal: Personalised | None = None
        client = self._providers.get(provider)
        audience = await expand_groups(self._db, numbers)
        if texts is not None:
            # Checked again like a fresh upload (numbers, lengths); the texts are the ones the preview showed.
            rows = [(body,) for body in texts]
            recipients, own = await asyncio.to_thread(_personalise, OWN_TEXT, list(audience.numbers), rows)
            length = measure(own.sample) if own.sample is not None else check_message(text)
            personal = own
        elif columns is not None and has_placeholders(text):
            if audience.groups:
                raise UserInputError(
                    "{column} placeholders are filled from the CSV's rows, and a group's numbers have none: "
                    "send to the group without placeholders, or put its numbers in the CSV."
                )
            merge = parse(text, columns.header)  # an unknown placeholder is refused before any work
            # One pass over the rows, off the event loop: numbers checked, texts rendered and measured.
            recipients, rendered = await asyncio.to_thread(_personalise, merge, list(numbers), columns.values)
            length = measure(rendered.sample) if rendered.sample is not None else check_message(text)
            personal = rendered
        else:
            if has_placeholders(text):
                raise UserInputError(
                    "{column} placeholders need a CSV file with a header row: upload it with /bulk as the caption "
                    "(or reply to it)."
                )
            length = check_message(text)
            # Tens of thousands of numbers take seconds to check: keep the event loop free for other chats.
            recipients = await asyncio.to_thread(read_recipients, list(audience.numbers))
        recipients, blocked = await without_blocked(self._db, recipients)
        if personal is not None and blocked:
            personal = personal.without(frozenset(blocked))
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
            groups=audience.groups,
            blocked=blocked,
            personal=personal,
            quota=await self._quota_today(chat_id),
            provider_chosen=provider is not None,
        )

    async def _quota_today(self, chat_id: int) -> QuotaStatus | None:
        status = None if self._quotas is None else await self._quotas.status(chat_id)
        return None if status is None or status.limit is None else status

    async def start(
        self, draft: BulkDraft, reporter_for: ReporterFactory, *, request_key: str | None = None
    ) -> BulkJobRecord:
        """Store the job and all its recipients as ``pending`` in one transaction, then send in the background.

        In that transaction too: ``request_key`` (a repeat raises ``DuplicateRequest``) and the quota check
        (``QuotaExceededError``); either way nothing is stored or sent.
        """
        texts = None if draft.personal is None else draft.personal.texts()
        async with self._db.transaction():
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
                    provider_chosen=draft.provider_chosen,
                ),
                draft.recipients.valid,
                request_key=request_key,
                texts=texts,
            )
            reserved = None if self._quotas is None else await self._quotas.reserve(draft.chat_id, draft.units)
            # In the job's transaction: the job and who asked for it are written together, and the first request
            # does not wait for a second commit.
            await self._db.audit.record(
                audit_actions.BULK,
                actor_chat_id=draft.chat_id,
                actor_user_id=draft.user_id,
                target=f"job #{job.id}",
                detail=f"{len(draft.recipients.valid)} recipients via {draft.provider.value}, "
                f"{len(draft.recipients.refused)} refused, {len(draft.recipients.duplicates)} duplicates removed"
                + (f", {len(draft.blocked)} blocked (opted out)" if draft.blocked else ""),
                units=draft.units,
            )
        self._launch(job, reporter_for(job, "start"))
        if self._quotas is not None:
            await self._quotas.announce(reserved)
        return job

    def _launch(self, job: BulkJobRecord, reporter: ProgressReporter) -> asyncio.Task[JobTotals]:
        provider = self._providers.get(ProviderName(job.provider))
        backup = failover_target(
            self._failover,
            SendPurpose.USER,
            provider.name,
            chosen=job.provider_chosen,
            configured=self._providers.names,
        )
        runner = JobRunner(
            self._db,
            provider,
            self._alerts,
            self._balances,
            batch_size=self._batch_size,
            concurrency=self._concurrency,
            progress_interval=self._progress_interval,
            background=self._background,
            backup=None if backup is None else self._providers.get(backup),
        )
        if self._closing:
            # Started by a handler PTB let finish after the stop signal: its rows stay pending for the next start.
            runner.stopping.set()
        task = asyncio.create_task(runner.run(job, reporter), name=f"bulk-job-{job.id}")
        self._running[job.id] = (runner, task)
        self._chat_of[job.id] = job.chat_id
        task.add_done_callback(lambda finished: self._forget(job, runner, finished))
        return task

    def _forget(self, job: BulkJobRecord, runner: JobRunner, task: asyncio.Task[JobTotals]) -> None:
        entry = self._running.get(job.id)
        if entry is not None and entry[1] is task:
            self._running.pop(job.id, None)
            self._chat_of.pop(job.id, None)
        error = None if task.cancelled() else task.exception()
        if error is None:
            return
        if isinstance(error, LeaseLostError | DatabaseUnavailableError):
            # Not a bug: the database went away or another replica is active. Rows already out stay `sending` for
            # the crash rule of whichever process is active next; pending rows resume there.
            log.warning("bulk job %s paused: %s", job.id, error)
            return
        log.error("bulk job %s stopped with an error", job.id, exc_info=error)
        details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        report = self._alerts.handler_error(f"bulk job #{job.id}", details, chat_id=job.chat_id, user_id=job.user_id)
        self._background.spawn(report, name=f"job-{job.id}-error-alert")
        if not runner.redirected:  # a chat that lost access is told nothing more
            self._background.spawn(
                self._alerts.tell_chat(job.chat_id, _internal_error_text(job.id)), name=f"job-{job.id}-error-notice"
            )

    async def wait(self, job_id: int) -> JobTotals | None:
        """Wait for a running job to finish (tests, shutdown)."""
        entry = self._running.get(job_id)
        return None if entry is None else await entry[1]

    async def cancel(self, job_id: int, *, chat_id: int, user_id: int | None, caller_role: Role | None) -> bool:
        """Stop sending the rest of a job; ``False`` when it is not running any more.

        Allowed to the person who started it, to anyone in its chat when a chat started it (an anonymous admin:
        ``user_id`` None), and to anyone in an admin chat.
        """
        require(caller_role, "bulk")
        job = await self._db.jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"There is no bulk job #{job_id}.")
        if caller_role is not Role.ADMIN:
            if job.chat_id != chat_id:
                raise NotAllowedError("Only the chat that started this job, or an admin, can cancel it.")
            if job.user_id is not None and job.user_id != user_id:
                raise NotAllowedError(f"Only the person who started job #{job_id}, or an admin chat, can cancel it.")
        entry = self._running.get(job_id)
        if entry is not None:
            entry[0].cancelled.set()
        elif job.state not in (JobState.QUEUED, JobState.RUNNING):
            return False
        # In the database at once: the claims read the job's state, so no batch leaves after this.
        await self._db.jobs.cancel_pending(job_id)
        await self._db.audit.record(
            audit_actions.CANCEL, actor_chat_id=chat_id, actor_user_id=user_id, target=f"job #{job_id}"
        )
        return True

    async def recover_after_restart(self) -> list[MessageRecord]:
        """The crash rule: rows the previous process left ``sending`` become ``unknown`` (the caller reports them;
        never resent by themselves). Pending rows resume with ``resume_all``."""
        return await self._db.jobs.mark_stuck_sending_unknown(
            "the bot stopped while this was being sent; it may or may not have gone out"
        )

    async def resume_all(self, reporter_for: ReporterFactory) -> list[BulkJobRecord]:
        """Run every unfinished job again: its pending rows are sent, and one with nothing pending is closed with
        its summary like any other end."""
        resumed = []
        for job in await self._db.jobs.list_unfinished():
            if job.id in self._running:
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

    async def prepare_retry(
        self, job_id: int, *, chat_id: int, user_id: int | None, caller_role: Role | None
    ) -> RetryDraft:
        require(caller_role, "retry")
        job = await self._db.jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"There is no bulk job #{job_id}.")
        if self._still_sending(job_id):
            raise UserInputError(f"Job #{job_id} is still sending; wait for it to finish.")
        if ProviderName(job.provider) not in self._providers.names:
            raise UserInputError(
                f"Job #{job_id} was sent through {ProviderName(job.provider).label}, which is not configured now."
            )
        totals = await self._db.jobs.totals(job_id)
        if totals.failed + totals.unknown == 0:
            raise UserInputError(f"Job #{job_id} has no failed or unknown recipients to retry.")
        return RetryDraft(job, totals.failed, totals.unknown, chat_id, user_id)

    def _still_sending(self, job_id: int) -> bool:
        """A run of the job is under way; one whose rows are all settled (only its summary is on its way) is not."""
        entry = self._running.get(job_id)
        return entry is not None and not entry[0].finishing

    async def retry(self, draft: RetryDraft, reporter_for: ReporterFactory, *, request_key: str | None = None) -> int:
        """Requeue the failed and unknown rows and run the job again; ``request_key`` as in ``start``."""
        job_id = draft.job.id
        # Checked and claimed before the first await: of two confirmations pressed together, exactly one passes.
        # The claim lasts until the retry's run ends, so a late second confirmation is refused the same way.
        if job_id in self._retrying:
            raise UserInputError(f"Job #{job_id} is already being retried; its progress is shown in its chat.")
        self._retrying.add(job_id)
        try:
            count, task = await self._requeue_and_launch(draft, reporter_for, request_key)
        except BaseException:
            self._retrying.discard(job_id)
            raise
        task.add_done_callback(lambda _: self._retrying.discard(job_id))
        return count

    async def _requeue_and_launch(
        self, draft: RetryDraft, reporter_for: ReporterFactory, request_key: str | None
    ) -> tuple[int, asyncio.Task[JobTotals]]:
        current = await self._db.jobs.get(draft.job.id)
        if self._still_sending(draft.job.id) or current is None or current.updated_at != draft.job.updated_at:
            # Another retry (or a resume) ran since this preview: its unknown rows may have arrived already.
            raise UserInputError(f"Job #{draft.job.id} changed since this preview. Run /retry {draft.job.id} again.")
        async with self._db.transaction():
            # The job's chat pays for the retry, whoever asked: its rows count against its quota again today.
            needed = await self._db.quotas.requeue_units(draft.job.id)
            count = await self._db.jobs.requeue_failed_and_unknown(
                draft.job.id, request_key=request_key, requested_by=draft.by_chat_id
            )
            reserved = None if self._quotas is None else await self._quotas.reserve(draft.job.chat_id, needed)
        if self._quotas is not None:
            await self._quotas.announce(reserved)
        await self._db.audit.record(
            audit_actions.RETRY,
            actor_chat_id=draft.by_chat_id,
            actor_user_id=draft.by_user_id,
            target=f"job #{draft.job.id}",
            detail=f"requeued {draft.failed} failed and {draft.unknown} unknown recipients",
            units=count * draft.job.segments,
        )
        job = await self._db.jobs.get(draft.job.id) or draft.job  # reopened by the requeue (``MessageRepository``)
        return count, self._launch(job, reporter_for(job, "retry"))

    async def stop_jobs_of_chat(
        self, chat_id: int, reporter: ProgressReporter, *, by_chat_id: int, by_user_id: int | None
    ) -> list[int]:
        """A chat lost access: cancel its running and queued jobs; returns their ids (the admins are told).

        Running jobs report to ``reporter`` from now on (the chat sees nothing more once this returns); batches
        already out finish and are recorded, the rest is cancelled at once, never resumed.
        """
        job_ids = {job.id for job in await self._db.jobs.list_unfinished() if job.chat_id == chat_id}
        job_ids.update(job_id for job_id, chat in self._chat_of.items() if chat == chat_id)
        reason = f"chat {chat_id} lost access"
        for job_id in sorted(job_ids):
            entry = self._running.get(job_id)
            # A job already posting its summary has nothing left to stop; waiting for that summary (it retries
            # for minutes while Telegram refuses) would hold this /deny up.
            if entry is not None and not entry[0].finishing:
                await entry[0].redirect(reporter)
                entry[0].cancel(reason)
            await self._db.jobs.cancel_pending(job_id)
            await self._db.audit.record(
                audit_actions.CANCEL,
                actor_chat_id=by_chat_id,
                actor_user_id=by_user_id,
                target=f"job #{job_id}",
                detail=reason,
            )
        stopped = sorted(job_ids)
        if stopped:
            await self._alerts.jobs_of_denied_chat(chat_id, stopped)
        return stopped

    async def shutdown(self, grace: float) -> None:
        """Let in-flight batches finish; pending rows stay pending and resume on the next start. Alerts still
        on their way get what is left of ``grace``."""
        deadline = time.monotonic() + grace
        self._closing = True
        for runner, _ in self._running.values():
            runner.stopping.set()
        tasks = [task for _, task in self._running.values()]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()  # a batch still out is recorded unknown (``JobRunner._send``)
            await asyncio.gather(*late, return_exceptions=True)
        await self._background.drain(deadline - time.monotonic())


def _personalise(
    merge: MergeText, numbers: list[str], rows: Sequence[Sequence[str]]
) -> tuple[RecipientList, Personalised]:
    recipients, kept = recipients_with_rows(numbers, rows)
    personal = personalise(merge, recipients.valid, kept)
    return without_refused_rows(recipients, personal), personal


def _internal_error_text(job_id: int) -> str:
    return (
        f"⛔ Bulk job #{job_id} stopped because of an internal error. What was sent is recorded and will not be "
        "sent twice; the admins have been told."
    )


def _nothing_valid(recipients: RecipientList) -> str:
    shown = recipients.refused[:5]
    lines = [f"• {truncate(r.raw, 40)}: {r.reason}" for r in shown]
    if len(recipients.refused) > len(shown):
        lines.append(f"…and {len(recipients.refused) - len(shown)} more")
    return "None of the numbers can be used:\n" + "\n".join(lines)


__all__ = ["BulkDraft", "BulkService", "JobTotals", "ReporterFactory", "RetryDraft"]
