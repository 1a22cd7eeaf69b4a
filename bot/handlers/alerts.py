"""``/alerts`` and the buttons under each alert's post (Ack, Silence 1h/4h/24h, Expire silence); the escalation
tick. Only admin chats get here (the guard reads ``<action>:alerts:<id>``); anyone in them may press."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import SmsContext
from bot.formatting import esc, join_within_limit, truncate
from bot.handlers.common import command_args, reply, usage
from bot.services.alert_posts import SILENCE_HOURS, lasted, local
from bot.services.errors import UserInputError
from bot.services.oncall import LISTED, Presser
from storage import Incident

log = logging.getLogger(__name__)

USAGE = "/alerts [all]"


async def alerts_command(update: Update, context: SmsContext) -> None:
    """Firing alerts, newest first; ``/alerts all`` adds the latest resolved ones."""
    message = update.effective_message
    if message is None:
        return
    args = command_args(message).strip().lower()
    if args not in ("", "all"):
        await reply(update, usage("/alerts takes nothing, or all.", USAGE))
        return
    oncall = context.services.oncall
    firing, count = await oncall.firing()
    now = oncall.now()
    zone = context.services.settings.timezone
    lines = [f"🔥 <b>Firing alerts: {count}</b>" if count else "✅ <b>No alert is firing.</b>"]
    lines += [_line(incident, zone, now) for incident in firing]
    if count > len(firing):
        lines.append(f"… and {count - len(firing)} older ones.")
    if args == "all":
        resolved = await oncall.resolved()
        lines.append(f"\n✅ <b>Resolved lately</b> (last {LISTED})" if resolved else "\nNo alert resolved yet.")
        lines += [_line(incident, zone, now) for incident in resolved]
    elif count == 0:
        lines.append("<code>/alerts all</code> shows the latest resolved ones too.")
    await reply(update, join_within_limit(lines[0], lines[1:], more=lambda left: f"… and {left} more lines."))


def _line(incident: Incident, zone: ZoneInfo, now: datetime) -> str:
    start = incident.since
    head = f"• <b>{esc(truncate(incident.name, 80))}</b>"
    if incident.severity:
        head += f" ({esc(truncate(incident.severity, 20))})"
    if incident.instance:
        head += f" on <code>{esc(truncate(incident.instance, 80))}</code>"
    parts = [head]
    if incident.firing:
        parts.append(f"since {esc(local(start, zone))} ({lasted(now - start)})")
    elif incident.resolved_at is not None:
        span = lasted(incident.resolved_at - start)
        parts.append(f"resolved {esc(local(incident.resolved_at, zone))}, lasted {span}")
    if incident.acked_by is not None:
        parts.append(f"👀 acked by {esc(truncate(incident.acked_by, 60))}")
    if incident.silenced_until is not None and incident.silenced_at(now):
        parts.append(f"🔕 silenced until {esc(local(incident.silenced_until, zone))}")
    if incident.escalated_to:
        parts.append(f"📟 texted {esc(truncate(incident.escalated_to, 200))}")
    return "\n  ".join(parts)


async def alert_button(update: Update, context: SmsContext) -> None:
    """Ack, Silence or Expire pressed under an alert's post: the answer is one line, the post is edited."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    action, _, rest = query.data.partition(":alerts:")
    incident_text, _, hours_text = rest.partition(":")
    if not incident_text.isdigit() or (action == "sil" and int(hours_text or 0) not in SILENCE_HOURS):
        await query.answer("This button is not one of ours.")
        return
    who = _presser(update)
    oncall = context.services.oncall
    incident_id = int(incident_text)
    try:
        if action == "ack":
            answer = await oncall.acknowledge(incident_id, who)
        elif action == "sil":
            answer = await oncall.silence(incident_id, int(hours_text), who)
        elif action == "exp":
            answer = await oncall.expire(incident_id, who)
        else:
            answer = "This button is not one of ours."
    except UserInputError as exc:
        answer = str(exc)
    await query.answer(truncate(answer, 190))


def _presser(update: Update) -> Presser:
    user = update.effective_user
    chat = update.effective_chat
    name = "someone"
    if user is not None:
        name = user.full_name + (f" (@{user.username})" if user.username else "")
    return Presser(
        name=name,
        chat_id=chat.id if chat is not None else 0,
        chat_title=(chat.title or chat.full_name) if chat is not None else None,
        user_id=user.id if user is not None else None,
    )


async def escalate_alerts(context: SmsContext) -> None:
    """Every few seconds: text the alerts whose escalation step came due (``OnCallService.escalate_due``)."""
    try:
        await context.services.oncall.escalate_due()
    except Exception:
        log.exception("the escalation round failed; the next one tries again")


async def reconcile_alerts(context: SmsContext) -> None:
    """Every minute with ALERTMANAGER_URL: the firing alerts against Alertmanager's (``OnCallService.reconcile``)."""
    try:
        await context.services.oncall.reconcile()
    except Exception:
        log.exception("the comparison with Alertmanager failed; the next one tries again")
