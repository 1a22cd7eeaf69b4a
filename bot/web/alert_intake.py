"""What an incoming alert becomes: one message to the admin chats, folded like the bot's own alerts, and
optionally an SMS.

SMS goes out when the alert carries ``sms_group=<contact group>`` (its members), or is ``severity=critical`` (in
any case) and ``ALERT_SMS_NUMBERS`` is set (those numbers); firing and resolved both, so people also learn it is
over. The SMS of every alert go before any Telegram message, so a slow Telegram does not hold a page up. Each SMS
takes the normal path (``SendingService.prepare`` as an admin, then ``send``): number checks, the blocklist, the
records, but no chat's daily quota (they are the bot's own, ``/usage`` shows them apart). The records' chat is the
first of ``ADMIN_CHAT_IDS``, else the first admin (an alert has no chat of its own). The request key holds the
alert's fingerprint, status and start, so Alertmanager repeating a notification sends no second SMS. Each alert
stands alone: one that fails is named, the rest go on.
Alerts of the group that did not come in (Alertmanager's ``max_alerts``, or past ``MAX_ALERTS``) get one notice
with their count, folded per group, so the admins know the messages they see are not the whole story.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.formatting import esc, truncate
from bot.localtime import show_local
from bot.phone import InvalidPhoneNumberError
from bot.runtime import Services
from bot.services.errors import UserInputError
from bot.services.failover import SendPurpose
from bot.services.requests import DuplicateRequest
from bot.sms_text import MessageTextError, cut_to_parts
from bot.web.alert_payload import MAX_ALERTS, AlertmanagerNotification, IncomingAlert
from bot.web.metrics import Metrics
from storage import MessageStatus, Role

log = logging.getLogger(__name__)

SMS_PARTS = 2  # an alert SMS is a pointer, the details are in Telegram


@dataclass(frozen=True, slots=True)
class IntakeResult:
    alerts: int
    sms_sent: int
    left_out: int = 0
    unreadable: int = 0


def alert_html(alert: IncomingAlert, services: Services) -> str:
    zone = services.settings.timezone
    head = "🔥 <b>FIRING</b>" if alert.status == "firing" else "✅ <b>RESOLVED</b>"
    lines = [f"{head}: <b>{esc(truncate(alert.name, 100))}</b>"]
    if alert.severity:
        lines[0] += f" ({esc(truncate(alert.severity, 30))})"
    if alert.instance:
        lines.append(f"Instance: <code>{esc(truncate(alert.instance, 200))}</code>")
    if alert.summary:
        lines.append(esc(truncate(alert.summary, 1500)))
    if alert.starts_at is not None:
        lines.append(f"Since {esc(_since(alert.starts_at, zone))}")
    if alert.problem:
        lines.append(f"⚠️ Not shown: {esc(truncate(alert.problem, 200))}")
    return "\n".join(lines)


def _since(moment: datetime, zone: ZoneInfo) -> str:
    try:
        return show_local(moment, zone)
    except OverflowError:  # near year 9999 the local time does not exist: UTC is as good as it gets
        return moment.isoformat()


def is_critical(alert: IncomingAlert) -> bool:
    return (alert.severity or "").strip().casefold() == "critical"


def alert_sms(alert: IncomingAlert) -> str:
    parts = [f"[{alert.status.upper()}] {alert.name}"]
    if alert.instance:
        parts.append(alert.instance)
    if alert.summary:
        parts.append(alert.summary)
    return cut_to_parts(truncate(" - ".join(parts), 1000), SMS_PARTS)  # parts as the reader's phone counts them


def left_out_html(notification: AlertmanagerNotification) -> str:
    group = ", ".join(f"{name}={value}" for name, value in sorted(notification.group.items()))
    about = f" of group <code>{esc(truncate(group, 300))}</code>" if group else ""
    count = notification.left_out
    return (
        f"➕ <b>{count} more alert{'s' if count != 1 else ''}</b>{about} not shown here (Alertmanager's "
        f"<code>max_alerts</code>, or more than {MAX_ALERTS} in one notification): see Alertmanager."
    )


def unreadable_html(reasons: list[str]) -> str:
    count = len(reasons)
    shown = "; ".join(esc(truncate(reason, 200)) for reason in reasons[:5])
    more = f"; and {count - 5} more" if count > 5 else ""
    return f"⚠️ <b>{count} alert{'s' if count != 1 else ''} could not be read</b> (the others went out): {shown}{more}"


def _fold_key(alert: IncomingAlert) -> str:
    digest = hashlib.sha256(alert.fingerprint.encode()).hexdigest()[:16]
    return f"alertmanager:{digest}:{alert.status}"


class AlertIntake:
    def __init__(self, services: Services, metrics: Metrics) -> None:
        self._services = services
        self._metrics = metrics

    async def take_alertmanager(self, notification: AlertmanagerNotification) -> IntakeResult:
        """Every alert's SMS first, then the Telegram messages; one alert failing costs only itself."""
        sent = 0
        notices: list[tuple[str, str]] = []  # (fold key, html) for the admins, after the SMS
        unreadable = list(notification.unreadable)
        for alert in notification.alerts:
            self._metrics.alerts_received.labels(source="alertmanager").inc()
            try:
                count, missed = await self._sms(alert)
            except Exception:
                log.exception("alert %s: its SMS could not be sent", alert.name)
                count, missed = 0, (f"alert-sms-failed:{_fold_key(alert)}", _failed_html(alert))
            sent += count
            if missed is not None:
                notices.append(missed)
        for alert in notification.alerts:
            try:
                html = alert_html(alert, self._services)
            except Exception:
                log.exception("alert %s could not be shown", alert.name)
                unreadable.append(f"{truncate(alert.name, 100)}: could not be shown")
                continue
            await self._services.alerts.raise_alert(_fold_key(alert), html)
        for key, html in notices:
            await self._services.alerts.raise_alert(key, html)
        if unreadable:
            digest = hashlib.sha256("\n".join(unreadable).encode()).hexdigest()[:16]
            await self._services.alerts.raise_alert(f"alertmanager-unreadable:{digest}", unreadable_html(unreadable))
        if notification.left_out:
            group = notification.group_key or repr(sorted(notification.group.items()))
            key = "alertmanager-left-out:" + hashlib.sha256(group.encode()).hexdigest()[:16]
            await self._services.alerts.raise_alert(key, left_out_html(notification))
        return IntakeResult(len(notification.alerts), sent, notification.left_out, len(unreadable))

    async def take_plain(self, text: str) -> None:
        self._metrics.alerts_received.labels(source="plain").inc()
        key = "plain:" + hashlib.sha256(text.encode()).hexdigest()[:16]
        await self._services.alerts.raise_alert(key, f"📣 {esc(truncate(text, 3500))}")

    async def _numbers(self, alert: IncomingAlert) -> list[str]:
        numbers: list[str] = []
        group = alert.labels.get("sms_group")
        if group:
            try:
                _, members = await self._services.groups.members(group, caller_role=Role.ADMIN)
                numbers += members
            except UserInputError as exc:
                log.warning("alert %s: sms_group not usable: %s", alert.name, exc)
        if is_critical(alert):
            numbers += self._services.settings.alert_sms_numbers
        return list(dict.fromkeys(numbers))

    async def _records_chat(self) -> int:
        """The first of ADMIN_CHAT_IDS, else the first admin in the database (a bot whose admin claimed it)."""
        listed = self._services.settings.admin_chat_ids
        admins = listed or await self._services.access.admin_chat_ids()
        return admins[0] if admins else 0

    async def _sms(self, alert: IncomingAlert) -> tuple[int, tuple[str, str] | None]:
        """SMS sent, and the notice for the admins when some could not go (sent after every alert's SMS)."""
        numbers = await self._numbers(alert)
        if not numbers:
            return 0, None
        sending = self._services.sending
        chat_id = await self._records_chat()
        text = alert_sms(alert)
        started = "" if alert.starts_at is None else alert.starts_at.isoformat()
        identity = hashlib.sha256(f"{alert.fingerprint}|{alert.status}|{started}".encode()).hexdigest()[:24]
        sent = 0
        missed: list[str] = []  # why some numbers got no SMS: the admins hear it, never only a log line
        for number in numbers:
            try:
                request = sending.prepare(
                    chat_id=chat_id, user_id=None, number=number, text=text, caller_role=Role.ADMIN
                )
                key = f"alert:{identity}:{request.recipient}"
                report = await sending.send(request, request_key=key, count_quota=False, purpose=SendPurpose.ALERT)
            except DuplicateRequest:
                continue  # Alertmanager repeated a notification already sent by SMS
            except (UserInputError, InvalidPhoneNumberError, MessageTextError) as exc:  # not a mobile, blocked, …
                log.warning("alert %s: no SMS to one recipient: %s", alert.name, exc)
                missed.append(str(exc))
                continue
            if report.status is MessageStatus.SENT:
                sent += 1
            else:  # failed or unknown at the provider: recorded as usual, and said
                missed.append(f"{report.status.value}: {report.error or 'see /status ' + str(report.message_id)}")
        if not missed:
            return sent, None
        reasons = "; ".join(esc(truncate(reason, 200)) for reason in dict.fromkeys(missed))
        html = f"⚠️ Alert <b>{esc(truncate(alert.name, 100))}</b>: {len(missed)} of {len(numbers)} SMS not sent: "
        return sent, (f"alert-sms-missed:{identity}", html + reasons)


def _failed_html(alert: IncomingAlert) -> str:
    return f"⚠️ Alert <b>{esc(truncate(alert.name, 100))}</b>: its SMS could not be sent (see the bot's log)."
