"""The one progress message of a bulk job, edited as batches complete, and the summary at the end.

Progress edits are best effort (the next one catches up). The end is not: the last edit and the summary are
retried through Telegram outages (``bot/handlers/retrying.py``), and a summary the chat refuses for good (blocked,
removed) or that cannot get through in time goes to the admins instead, so the result of a job is never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import ExtBot

from bot.formatting import esc, join_within_limit, money, plural, truncate
from bot.handlers.common import keyboard
from bot.handlers.retrying import GaveUp, Patience, Persistent, Refused
from bot.phone import display_phone
from bot.providers.types import ProviderName
from bot.services.bulk import ReporterFactory
from bot.services.bulk_runner import Progress
from storage import BulkJobRecord, JobTotals, MessageRecord

log = logging.getLogger(__name__)

_HEADINGS = {
    "start": "📤 Sending bulk job #{id}",
    "resume": "🔄 Resuming bulk job #{id} after a restart",
    "retry": "🔁 Retrying bulk job #{id}",
}


def cancel_markup(job_id: int) -> InlineKeyboardMarkup:
    return keyboard(("⏹ Cancel the rest", f"stop:bulk:{job_id}"))


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    if seconds < 60:
        return f"about {max(1, round(seconds))} s"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def progress_text(job: BulkJobRecord, heading: str, progress: Progress, *, final: bool = False) -> str:
    provider = ProviderName(job.provider).shown
    counts = f"✅ Sent: {progress.sent:,} · ❌ Failed: {progress.failed:,}"
    if progress.unknown:
        counts += f" · ❓ Unknown: {progress.unknown:,}"
    if final:
        last = "Done: the summary follows." if not progress.remaining else f"Stopped, {progress.remaining:,} left."
    else:
        last = f"⏳ Remaining: {progress.remaining:,} · ETA {eta_text(progress.eta_seconds)}"
    return "\n".join([f"<b>{heading.format(id=job.id)}</b> via {provider}", counts, last])


def summary_text(
    job: BulkJobRecord, totals: JobTotals, failures: Sequence[MessageRecord], stopped_by: str | None
) -> str:
    provider = ProviderName(job.provider).shown
    estimated_units = job.segments * job.total_recipients
    if stopped_by == "cancelled":
        title = f"⏹ <b>Bulk job #{job.id} cancelled</b> via {provider}"
    elif stopped_by:
        title = f"⛔ <b>Bulk job #{job.id} stopped</b> via {provider}: {esc(stopped_by)}"
    else:
        title = f"🏁 <b>Bulk job #{job.id} finished</b> via {provider}"
    lines = [
        title,
        f"✅ Sent: {totals.accepted:,}",
        f"❌ Failed: {totals.failed:,}",
    ]
    if totals.unknown:
        lines.append(f"❓ Unknown (maybe sent, not resent): {totals.unknown:,}")
    if totals.cancelled:
        lines.append(f"⏹ Not sent (cancelled): {totals.cancelled:,}")
    if job.refused:
        lines.append(f"🚫 Refused before sending: {job.refused:,}")
    if totals.handed_over:
        lines.append(
            f"↪️ Through the other provider, {ProviderName(job.provider).label} having refused before sending: "
            f"{totals.handed_over:,} (<code>/export {job.id}</code> names each one's provider)"
        )
    units = f"Units: {totals.units:,}"
    if totals.units != estimated_units:
        units += f" (estimated {estimated_units:,} for all {plural(job.total_recipients, 'recipient')})"
    lines.append(units)
    lines.append(f"Cost: {money(totals.cost)}")
    head = "\n".join(lines)
    if not failures:
        return head
    items = [f"• {display_phone(m.recipient)}: {m.status.value}, {esc((m.error or '')[:120])}" for m in failures]
    left_out = max(totals.failed + totals.unknown - len(failures), 0)
    text = join_within_limit(
        head + "\n\nNot delivered:",
        items,
        more=lambda n: f"…and {n + left_out:,} more: <code>/export {job.id}</code> lists them all.",
    )
    if left_out and text.endswith(items[-1]):
        # Every fetched failure fitted, but not every failure was fetched.
        text += f"\n…and {left_out:,} more: <code>/export {job.id}</code> lists them all."
    return text


class AdminNotice(Protocol):
    """Where a summary goes when its chat cannot have it (``AlertService.notice``)."""

    async def notice(self, html: str) -> None: ...


class TelegramJobReporter:
    """Implements ``ProgressReporter`` for one job in one chat."""

    def __init__(
        self,
        bot: ExtBot[None],
        job: BulkJobRecord,
        reason: str,
        message_id: int | None,
        *,
        admins: AdminNotice | None = None,
        patience: Patience | None = None,
    ) -> None:
        self._bot = bot
        self._chat_id = job.chat_id
        self._heading = _HEADINGS.get(reason, _HEADINGS["start"])
        self._resuming = reason == "resume"
        self._message_id = message_id
        self._last_text: str | None = None
        self._admins = admins
        self._patience = patience or Patience()

    async def started(self, job: BulkJobRecord, progress: Progress) -> int | None:
        text = progress_text(job, self._heading, progress)
        if self._message_id is not None:
            await self._edit(text, cancel_markup(job.id))
            return self._message_id
        if job.progress_message_id is not None and self._resuming:
            # The message of the run a restart interrupted: its Cancel button must not look alive.
            # A retry's earlier run finished: its message keeps its final counts.
            self._message_id = job.progress_message_id
            await self._edit("⏸ Interrupted by a restart; the job continues in the message below.", None)
        sent = await self._bot.send_message(self._chat_id, text, reply_markup=cancel_markup(job.id))
        self._message_id = sent.message_id
        self._last_text = text
        return self._message_id

    async def progress(self, job: BulkJobRecord, progress: Progress) -> None:
        await self._edit(progress_text(job, self._heading, progress), cancel_markup(job.id))

    async def finished(
        self, job: BulkJobRecord, totals: JobTotals, failures: Sequence[MessageRecord], stopped_by: str | None
    ) -> None:
        """The final counts in the progress message and the summary, retried until Telegram takes them."""
        persistent = Persistent(self._chat_id, self._patience)
        done = Progress(totals.accepted, totals.failed, totals.unknown, totals.open + totals.cancelled, None)
        summary = summary_text(job, totals, failures, stopped_by)
        try:
            await self._final_edit(persistent, progress_text(job, self._heading, done, final=True))
            # Sent whatever happened to the progress message (deleted, too old to edit): the chat must get its result.
            await persistent.call(lambda chat: self._bot.send_message(chat, summary), f"the summary of job #{job.id}")
        except Refused as exc:
            log.warning(
                "chat %s refused the summary of bulk job #%s (%s); it goes to the admins", self._chat_id, job.id, exc
            )
            await self._to_admins(job, summary, f"the chat refused it: {exc}")
        except GaveUp as exc:
            minutes = max(1, round(self._patience.give_up_after / 60))
            log.error("gave up delivering the summary of bulk job #%s to chat %s: %s", job.id, self._chat_id, exc)
            await self._to_admins(job, summary, f"Telegram could not deliver it for {minutes} min")
        except asyncio.CancelledError:
            log.warning("the bot stopped before the summary of bulk job #%s reached chat %s", job.id, self._chat_id)
            raise

    async def _final_edit(self, persistent: Persistent, text: str) -> None:
        """Retried like the summary; a progress message that is gone or too old to edit is left as it is."""
        message_id = self._message_id
        if message_id is None or text == self._last_text:
            return
        try:
            await persistent.call(
                lambda chat: self._bot.edit_message_text(text, chat_id=chat, message_id=message_id, reply_markup=None),
                "the final progress of a bulk job",
            )
        except Refused as exc:
            if isinstance(exc.error, BadRequest) and "not modified" in str(exc).lower():
                self._last_text = text
                return
            if not isinstance(exc.error, BadRequest):
                raise  # blocked or removed: the summary cannot arrive either
            log.warning("could not show the final counts in the progress message: %s", exc)
            return
        self._last_text = text

    async def _to_admins(self, job: BulkJobRecord, summary: str, why: str) -> None:
        if self._admins is None:
            log.error("the summary of bulk job #%s was not delivered and no admins are set to receive it", job.id)
            return
        head = f"📭 <b>The summary below did not reach chat <code>{self._chat_id}</code></b>: {esc(truncate(why, 90))}"
        await self._admins.notice(f"{head}\n\n{summary}")

    async def _edit(self, text: str, markup: InlineKeyboardMarkup | None) -> None:
        """Edit the progress message; a refusal (deleted, not modified, flood) is logged, never raised."""
        if self._message_id is None or text == self._last_text:
            return
        try:
            await self._bot.edit_message_text(
                text, chat_id=self._chat_id, message_id=self._message_id, reply_markup=markup
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.warning("could not edit the progress message of a bulk job: %s", exc)
                return
        except NetworkError as exc:  # Telegram unreachable for now: the next edit (or the final one) catches up
            log.warning("could not edit the progress message of a bulk job: %s", exc)
            return
        except TelegramError:
            log.warning("could not edit the progress message of a bulk job", exc_info=True)
            return
        self._last_text = text


def reporter_factory(bot: ExtBot[None], admins: AdminNotice, message_id: int | None = None) -> ReporterFactory:
    """Progress goes into ``message_id`` (the preview, for a new job) or a new message (resume, retry); a summary
    the chat cannot have goes to ``admins``."""

    def make(job: BulkJobRecord, reason: str) -> TelegramJobReporter:
        return TelegramJobReporter(bot, job, reason, message_id if reason == "start" else None, admins=admins)

    return make
