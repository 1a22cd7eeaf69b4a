"""Work nobody asked for: periodic balance checks, delivery follow-ups, and the start-up recovery report."""

from __future__ import annotations

import logging
import os
import socket

from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.context import SmsContext
from bot.formatting import esc, join_within_limit, plural
from bot.phone import display_phone
from bot.providers.types import ProviderName
from bot.runtime import Services
from bot.services.bulk import ReporterFactory
from bot.services.tracking import DeliverySummary
from storage import MessageRecord

log = logging.getLogger(__name__)


async def check_balances(context: SmsContext) -> None:
    """Every BALANCE_CHECK_INTERVAL: low-credit and unreachable alerts (the watcher decides when)."""
    await context.services.watcher.check()


async def track_deliveries(context: SmsContext) -> None:
    """Every DELIVERY_CHECK_INTERVAL: follow up due messages; tell chats whose bulk deliveries settled."""
    round_ = await context.services.tracker.run_due()
    for summary in round_.summaries:
        try:
            await context.bot.send_message(summary.job.chat_id, delivery_summary_text(summary))
        except TelegramError:
            log.warning("could not send the delivery summary of job %s", summary.job.id, exc_info=True)


def delivery_summary_text(summary: DeliverySummary) -> str:
    job = summary.job
    lines = [
        f"📬 <b>Deliveries of bulk job #{job.id}</b> via {ProviderName(job.provider).shown}",
        f"Delivered: {summary.delivered:,}",
        f"Failed: {summary.failed:,}",
        f"Still pending: {summary.pending:,}",
    ]
    if summary.pending:
        lines.append("The network gave no final word on the pending ones; we stopped asking.")
    lines.append(f"<code>/export {job.id}</code> lists every number with its state.")
    return "\n".join(lines)


async def report_recovery(
    bot: ExtBot[None], services: Services, reporter_for: ReporterFactory, *, took_over: bool = False
) -> None:
    """After a restart: rows caught mid-send become unknown (admins get the list), pending jobs resume.
    ``took_over``: this replica waited as a standby; the admins are told once, with what was settled unknown."""
    stuck = await services.bulk.recover_after_restart()
    if took_over:
        await services.alerts.notice(takeover_text(services.db.previous_owner, stuck))
    elif stuck:
        items = [
            f"• #{m.id} {display_phone(m.recipient)}"
            + (f" (job #{m.bulk_job_id})" if m.bulk_job_id else "")
            + f", chat <code>{m.chat_id}</code>"
            for m in stuck
        ]
        jobs = sorted({m.bulk_job_id for m in stuck if m.bulk_job_id is not None})
        head = (
            f"❓ <b>{plural(len(stuck), 'message')} {'was' if len(stuck) == 1 else 'were'} being sent "
            "when the bot stopped.</b>\n"
            "They may or may not have gone out, so they are marked unknown and were not resent."
        )
        if jobs:
            head += "\nTo send them again anyway: " + ", ".join(f"<code>/retry {j}</code>" for j in jobs)
        await services.alerts.notice(join_within_limit(head, items, more=lambda n: f"…and {n:,} more"))
    await services.bulk.resume_all(reporter_for)


def takeover_text(previous: str | None, stuck: list[MessageRecord]) -> str:
    me = replica_name()
    if previous == me:
        head = f"🔁 <b>Replica {esc(me)} took over as the active one</b> again, after losing its database."
    else:
        head = (
            f"🔁 <b>Replica {esc(me)} took over as the active one</b>"
            + (f" from {esc(previous)}" if previous else "")
            + ": the previous one stopped or lost its database."
        )
    if not stuck:
        return head + "\nNothing was being sent at that moment: no message is in doubt. Unfinished jobs resume."
    jobs = sorted({m.bulk_job_id for m in stuck if m.bulk_job_id is not None})
    head += (
        f"\n❓ {len(stuck):,} {'message was' if len(stuck) == 1 else 'messages were'} being sent by it: marked"
        " unknown, not resent. Unfinished jobs resume."
    )
    if jobs:
        head += "\nTo send them again anyway: " + ", ".join(f"<code>/retry {j}</code>" for j in jobs)
    items = [
        f"• #{m.id} {display_phone(m.recipient)}" + (f" (job #{m.bulk_job_id})" if m.bulk_job_id else "") for m in stuck
    ]
    return join_within_limit(head, items, more=lambda n: f"…and {n:,} more")


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
