"""What /send and /bulk show, shared with their scheduled forms: the length line, the bulk preview and the
report of one SMS."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.formatting import credit_units, esc, join_within_limit, money, plural
from bot.handlers.repeats import stale_line
from bot.handlers.status import failover_line
from bot.phone import display_phone
from bot.providers.types import ProviderName
from bot.services.bulk import BulkDraft
from bot.services.merge import Personalised
from bot.services.sending import SendReport
from bot.sms_text import SmsLength
from storage import MessageStatus


def length_line(length: SmsLength, recipients: int = 1) -> str:
    """``2 SMS parts (GSM-7, 200 characters) × 3 recipients = 6 units``."""
    parts = plural(length.segments, "SMS part")
    line = f"{parts} ({length.encoding.value}, {plural(length.characters, 'character')})"
    if recipients != 1:
        line += f" × {plural(recipients, 'recipient')}"
    return line + f" = {plural(length.units(recipients), 'unit')}"


def estimated_cost(amount: Decimal | None, provider: ProviderName) -> str:
    """The estimate, or the one wording for a cost nobody knows yet, saying why."""
    if amount is not None:
        return money(amount)
    if provider is ProviderName.SMS254:
        return "not known (254sms does not report prices)"
    return f"not known ({provider.label} did not give its price)"


def personal_lines(personal: Personalised) -> list[str]:
    """A personalised job: units counted per recipient's own text; the quote below is the first one."""
    if personal.smallest_parts == personal.largest_parts:
        parts = plural(personal.largest_parts, "SMS part")
    else:
        parts = f"{personal.smallest_parts}–{personal.largest_parts} SMS parts"
    return [
        f"Personalised: {personal.distinct_texts:,} different texts, {parts} each",
        f"Length: {plural(personal.total_units, 'unit')} in all",
    ]


def bulk_preview_text(draft: BulkDraft, age: timedelta | None = None, *, quota: str | None = None) -> str:
    """The preview; ``age`` when the command was typed long ago, so nobody sends an old list by reflex;
    ``quota`` replaces the line about today's quota (a scheduled job is checked on the day it goes out)."""
    recipients = draft.recipients
    source = f" from {esc(draft.source)}" if draft.source else ""
    cost = estimated_cost(draft.estimated_cost, draft.provider)
    lines = [
        "📨 <b>Bulk SMS preview</b>",
        *([f"<b>{stale_line(age, 'send it now?')}</b>"] if age is not None else []),
        f"Recipients: <b>{len(recipients.valid):,}</b>{source}",
    ]
    if recipients.refused:
        lines.append(f"Refused: {plural(len(recipients.refused), 'number')} (listed below)")
    if draft.groups:
        lines.append("From groups: " + ", ".join(f"@{esc(name)} {count:,}" for name, count in draft.groups))
    if recipients.duplicates:
        lines.append(f"Duplicates removed: {len(recipients.duplicates):,}")
    if draft.blocked:
        lines.append(f"Blocked (opted out): {len(draft.blocked):,} (left out)")
    if draft.personal is not None:
        lines += personal_lines(draft.personal)
    else:
        lines.append(f"Length: {length_line(draft.length, len(recipients.valid))}")
    shown = draft.text if draft.personal is None or draft.personal.sample is None else draft.personal.sample
    if quota is not None:
        lines.append(quota)
    elif draft.quota is not None and draft.quota.limit is not None:
        lines.append(quota_line(draft.quota.used, draft.quota.limit, draft.units))
    lines += [
        f"Estimated cost: {cost}",
        f"Via: {draft.provider.shown} (sender id {esc(draft.sender_id)})",
        *(["Sample (the first recipient's text):"] if draft.personal is not None else []),
        f"<blockquote>{esc(shown[:300])}{'…' if len(shown) > 300 else ''}</blockquote>",
    ]
    head = "\n".join(lines)
    if not recipients.refused:
        return head
    items = [f"• {esc(r.raw[:40])}: {esc(r.reason)}" for r in recipients.refused]
    return join_within_limit(head + "\nRefused numbers:", items, more=lambda n: f"…and {n:,} more")


def quota_line(used: int, limit: int, units: int) -> str:
    """The chat's quota left today; a job that needs more is offered no Send button (checked again on Send)."""
    remaining = max(limit - used, 0)
    line = f"Quota left today: {remaining:,} of {plural(limit, 'unit')}"
    if units > remaining:
        line += (
            f"\n⚠️ <b>Over the daily quota</b>: this needs {plural(units, 'unit')}, so it cannot be sent today. "
            "Send to fewer numbers or ask an admin to raise it (/quota)."
        )
    return line


def over_quota(draft: BulkDraft) -> bool:
    """Whether the job needs more units than the chat has left today."""
    quota = draft.quota
    return quota is not None and quota.limit is not None and draft.units > max(quota.limit - quota.used, 0)


def units_text(reported: int | None, estimated: int) -> str:
    """The provider's figure, with our estimate beside it when they differ."""
    if reported is None:
        return f"{estimated} (estimated)"
    if reported != estimated:
        return f"{reported} (we estimated {estimated})"
    return str(reported)


def report_text(report: SendReport) -> str:
    """The outcome of one SMS: sent (with ids, units and cost), not confirmed, or not sent."""
    request = report.request
    to = display_phone(request.recipient)
    via = request.provider.shown
    moved = failover_line(request.provider.value, report.failover_from, report.failover_reason)
    if report.status is MessageStatus.SENT:
        lines = [f"✅ <b>Sent</b> to {to} via {via}", *moved]
        ids = f"Message #{report.message_id}"
        if report.provider_message_id:
            ids += f" · {request.provider.label} id <code>{esc(report.provider_message_id)}</code>"
        lines.append(ids)
        figures = f"Units: {units_text(report.units, request.units)}"
        if report.cost is not None:
            figures += f" · Cost: {money(report.cost)}"
        if report.balance_after is not None:
            figures += f" · Balance: {credit_units(report.balance_after)}"
        lines.append(figures)
        if report.simulation and not request.provider.simulated:  # the simulator is named "simulated" above
            lines.append(f"⚠️ {request.provider.label} is in simulation mode: nothing was really delivered.")
        return "\n".join(lines)
    if report.status is MessageStatus.UNKNOWN:
        return (
            f"❓ <b>Not confirmed</b>: {to} via {via}\n"
            + "".join(f"{line}\n" for line in moved)
            + f"{esc(report.error or 'no answer')}\n"
            f"Message #{report.message_id} is marked unknown and will not be resent. "
            f"Check <code>/status {report.message_id}</code> before sending again."
        )
    return (
        f"❌ <b>Not sent</b> to {to} via {via}\n"
        + "".join(f"{line}\n" for line in moved)
        + f"{esc(report.error or 'refused')}\n"
        f"Message #{report.message_id} is recorded as failed."
    )
