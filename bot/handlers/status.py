"""/status [id]: one message's state (asking Texin when it can), or this chat's latest messages."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import SmsContext
from bot.formatting import esc, money, when
from bot.handlers.common import command_args, refusal, reply, sender_ids, usage
from bot.localtime import show_local
from bot.phone import display_phone
from bot.providers.types import ProviderName
from bot.services.errors import UserInputError
from bot.services.status import StatusReport
from storage import MessageRecord, MessageStatus, Role

USAGE = "/status [message id]"

STATUS_ICONS = {
    MessageStatus.PENDING: "🕓",
    MessageStatus.SENDING: "📤",
    MessageStatus.SENT: "✅",
    MessageStatus.DELIVERED: "📬",
    MessageStatus.FAILED: "❌",
    MessageStatus.UNKNOWN: "❓",
    MessageStatus.CANCELLED: "⏹",
}


async def status_command(update: Update, context: SmsContext) -> None:
    """With an id: that message's state. Alone: this chat's ten latest messages."""
    message = update.effective_message
    if message is None:
        return
    chat_id, _ = sender_ids(update)
    services = context.services
    ident = command_args(message)
    if not ident:
        team = sees_team(context)
        latest = await services.status.latest(chat_id=chat_id, limit=10, all_chats=team)
        if not latest:
            await reply(update, "No messages sent yet." if team else "No messages sent from this chat yet.")
            return
        scope = " of the team" if team else ""
        lines = [f"<b>Latest messages{scope}</b> (<code>/status id</code> for details)"]
        lines += [message_line(m) for m in latest]
        lines += simulated_note(m.provider for m in latest)
        await reply(update, "\n".join(lines))
        return
    if len(ident.split()) > 1:
        await reply(update, usage("Give one message id.", USAGE))
        return
    try:
        report = await services.status.lookup(ident, chat_id=chat_id, all_chats=sees_team(context))
    except UserInputError as exc:
        await reply(update, refusal(exc, USAGE))
        return
    await reply(update, report_text(report, services.settings.timezone))


SIMULATED_MARK = "🧪"


def simulated_note(providers: Iterable[str]) -> list[str]:
    """One line explaining the mark, when any of the listed items went through the simulator."""
    return (
        [f"{SIMULATED_MARK} simulated: nothing really sent"]
        if any(ProviderName(p).simulated for p in providers)
        else []
    )


def failover_line(provider: str, failover_from: str | None, reason: str | None) -> list[str]:
    """Why ``provider`` sent it when another was meant to (provider failover); nothing otherwise."""
    if failover_from is None:
        return []
    first = ProviderName(failover_from).label
    said = f": {esc(reason)}" if reason else ""
    return [f"↪️ Via {ProviderName(provider).label} because {first} refused before sending{said}"]


def provider_time(text: str, zone: ZoneInfo) -> str:
    """A provider's timestamp in ``zone`` when it says its own zone (ISO offset or "UTC"); else as it came."""
    try:
        moment = datetime.fromisoformat(text.removesuffix(" UTC") + ("+00:00" if text.endswith(" UTC") else ""))
    except ValueError:
        return text
    return text if moment.tzinfo is None else show_local(moment, zone)


def sees_team(context: SmsContext) -> bool:
    """Admins and viewers read every chat's messages (viewers read only); senders their own chat's."""
    return context.role in (Role.ADMIN, Role.VIEWER)


def message_line(message: MessageRecord) -> str:
    """One message in a list; a simulated one is marked (``simulated_note`` says what the mark means)."""
    preview = message.body[:40] + ("…" if len(message.body) > 40 else "")
    job = f" · job #{message.bulk_job_id}" if message.bulk_job_id else ""
    simulated = f" {SIMULATED_MARK}" if ProviderName(message.provider).simulated else ""
    moved = "" if message.failover_from is None else f" · ↪️ via {ProviderName(message.provider).label}"
    return (
        f"{STATUS_ICONS[message.status]} #{message.id} {message.status.value}{simulated} · "
        f"{display_phone(message.recipient)}{job}{moved} · {esc(preview)}"
    )


def report_text(report: StatusReport, zone: ZoneInfo) -> str:
    message = report.message
    provider = ProviderName(message.provider).label  # "simulated" once, in the To line
    lines = [
        f"{STATUS_ICONS[message.status]} <b>Message #{message.id}: {message.status.value}</b>",
        f"To: {display_phone(message.recipient)} via {ProviderName(message.provider).shown}",
        *failover_line(message.provider, message.failover_from, message.failover_reason),
    ]
    if message.provider_message_id:
        lines.append(f"{provider} id: <code>{esc(message.provider_message_id)}</code>")
    if message.bulk_job_id:
        lines.append(f"Bulk job #{message.bulk_job_id}")
    figures = f"Parts: {message.segments}"
    if message.units is not None:
        figures += f" · Units: {message.units}"
    if message.cost is not None:
        figures += f" · Cost: {money(message.cost)}"
    lines.append(figures)
    lines.append(f"Created: {when(message.created_at, zone)} · Updated: {when(message.updated_at, zone)}")
    if message.error:
        lines.append(f"Error: {esc(message.error)}")
    delivery = report.delivery
    if delivery is not None:
        said = f"{provider} says: <b>{esc(delivery.provider_status or 'no status')}</b>"
        if delivery.delivered_at:
            said += f", delivered {esc(provider_time(delivery.delivered_at, zone))}"
        elif delivery.sent_at:
            said += f", sent {esc(provider_time(delivery.sent_at, zone))}"
        lines.append(said)
        if delivery.error_message:
            lines.append(f"{provider} error: {esc(delivery.error_message)}")
    if report.note:
        lines.append(f"ℹ️ {esc(report.note)}")
    lines.append(f"<blockquote>{esc(message.body[:300])}{'…' if len(message.body) > 300 else ''}</blockquote>")
    return "\n".join(lines)
