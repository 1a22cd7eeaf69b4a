"""What an incident's post in the admin chats says and which buttons it carries, from its row alone: every edit
(a press, a repeat, the resolve, an escalation step) renders the whole post again, so no edit loses another's."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.escalation_plan import EscalationStep
from bot.formatting import esc, plural, truncate
from bot.localtime import show_local
from bot.services.alerts import Buttons
from storage import Incident

Button = tuple[str, str]  # (label, callback data)

SILENCE_HOURS = (1, 4, 24)


def ack_data(incident_id: int) -> str:
    return f"ack:alerts:{incident_id}"


def silence_data(incident_id: int, hours: int) -> str:
    return f"sil:alerts:{incident_id}:{hours}"


def expire_data(incident_id: int) -> str:
    return f"exp:alerts:{incident_id}"


def local(moment: datetime, zone: ZoneInfo) -> str:
    try:
        return show_local(moment, zone)
    except OverflowError:  # near year 9999 the local time does not exist: UTC is as good as it gets
        return moment.isoformat()


def lasted(span: timedelta) -> str:
    """``14 min``, ``2 h 5 min``, ``3 d 4 h``; under a minute ``40 s``."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def incident_html(incident: Incident, *, zone: ZoneInfo, plan: tuple[EscalationStep, ...], now: datetime) -> str:
    if incident.source == "plain":
        head = "📣" if incident.firing else "✅ <b>RESOLVED</b>:"
        lines = [f"{head} {esc(truncate(incident.summary or incident.name, 3000))}"]
    else:
        head = "🔥 <b>FIRING</b>" if incident.firing else "✅ <b>RESOLVED</b>"
        lines = [f"{head}: <b>{esc(truncate(incident.name, 100))}</b>"]
        if incident.severity:
            lines[0] += f" ({esc(truncate(incident.severity, 30))})"
        if incident.instance:
            lines.append(f"Instance: <code>{esc(truncate(incident.instance, 200))}</code>")
        if incident.summary:
            lines.append(esc(truncate(incident.summary, 1500)))
    start = incident.since
    lines.append(f"Since {esc(local(start, zone))}")
    if incident.problem:
        lines.append(f"⚠️ Not shown: {esc(truncate(incident.problem, 200))}")
    if incident.notifications > 1:
        lines.append(f"🔁 Notified {plural(incident.notifications, 'time')}")
    if incident.acked_by is not None and incident.acked_at is not None:
        lines.append(
            f"👀 Acknowledged by {esc(truncate(incident.acked_by, 100))} at {esc(local(incident.acked_at, zone))}"
        )
    if incident.silence_id is not None and incident.silenced_until is not None:
        ended = "" if incident.silenced_at(now) else " (ended)"
        lines.append(
            f"🔕 Silenced by {esc(truncate(incident.silenced_by or 'someone', 100))} until "
            f"{esc(local(incident.silenced_until, zone))}{ended}, silence <code>{esc(incident.silence_id)}</code>"
        )
    if incident.escalated_to:
        lines.append(f"📟 Texted: {esc(truncate(incident.escalated_to, 500))}")
    upcoming = next_step(incident, plan, now)
    if upcoming is not None:
        step, due = upcoming
        lines.append(f"⏱ Texts {esc(step.targets)} at {esc(local(due, zone))} unless acknowledged or silenced")
    if not incident.firing and incident.resolved_at is not None:
        at = esc(local(incident.resolved_at, zone))
        if incident.gone_at is not None:  # no resolve came (none does for a silenced alert): Alertmanager dropped it
            lines.append(f"✅ Resolved: gone from Alertmanager by {at} (no resolve came, as for a silenced alert)")
        else:
            lines.append(f"✅ Resolved at {at}, lasted {lasted(incident.resolved_at - start)}")
    return "\n".join(lines)


def next_step(
    incident: Incident, plan: tuple[EscalationStep, ...], now: datetime
) -> tuple[EscalationStep, datetime] | None:
    """The escalation step still to come, and when, for an incident that escalates and nobody took yet."""
    if not (incident.firing and incident.escalates and incident.acked_at is None):
        return None
    if incident.escalation_step >= len(plan) or incident.silenced_at(now):
        return None
    step = plan[incident.escalation_step]
    return step, incident.first_seen_at + step.delay


def incident_buttons(incident: Incident, *, silences: bool, now: datetime) -> Buttons:
    """Ack while firing and nobody acknowledged; Silence (or Expire) for Alertmanager's alerts; none once resolved."""
    if not incident.firing:
        return ()
    rows: list[tuple[Button, ...]] = []
    if incident.acked_at is None:
        rows.append((("✅ Ack", ack_data(incident.id)),))
    if silences and incident.source == "alertmanager":
        if incident.silence_id is not None and incident.silenced_at(now):
            rows.append((("🔔 Expire silence", expire_data(incident.id)),))
        else:
            rows.append(tuple((f"🔕 Silence {hours}h", silence_data(incident.id, hours)) for hours in SILENCE_HOURS))
    return tuple(rows)
