"""What an incoming alert becomes: its post in the admin chats (``OnCallService``: one post per alert, edited by
every later word about it) and optionally an SMS at once.

SMS goes out at once when the alert carries ``sms_group=<contact group>`` (its members), or is
``severity=critical`` (in any case), ``ALERT_SMS_NUMBERS`` is set and no ``ALERT_ESCALATION`` step covers it;
firing and resolved both, so people also learn it is over. The SMS of every alert go before any Telegram message,
so a slow Telegram does not hold a page up; they take the bot's own sending path (``bot/services/alert_sms.py``),
keyed by the alert's fingerprint, status and start, so Alertmanager repeating a notification sends no second SMS.
Each alert stands alone: one that fails is named, the rest go on. Alerts of the group that did not come in
(Alertmanager's ``max_alerts``, or past ``MAX_ALERTS``) get one notice with their count, folded per group.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.formatting import esc, truncate
from bot.runtime import Services, records_chat
from bot.services.alert_sms import alert_text, text_numbers
from bot.services.errors import UserInputError
from bot.services.oncall import severity_of
from bot.web.alert_payload import MAX_ALERTS, AlertmanagerNotification, IncomingAlert
from bot.web.metrics import Metrics
from storage import AlertNotice, Role

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    alerts: int
    sms_sent: int
    left_out: int = 0
    unreadable: int = 0


def is_critical(alert: IncomingAlert) -> bool:
    return severity_of(alert.severity) == "critical"


def notice_of(alert: IncomingAlert, services: Services) -> AlertNotice:
    """The alert as the incident store keeps it; it escalates when its severity is one ALERT_ESCALATION covers."""
    return AlertNotice(
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        source="alertmanager",
        name=alert.name,
        severity=alert.severity,
        instance=alert.instance,
        summary=alert.summary,
        labels=alert.labels,
        firing=alert.status == "firing",
        escalates=services.oncall.policy.escalates(alert.severity),
        problem=alert.problem,
    )


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
                await self._services.oncall.take(notice_of(alert, self._services))
            except Exception:
                log.exception("alert %s could not be shown", alert.name)
                unreadable.append(f"{truncate(alert.name, 100)}: could not be shown")
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
        window = timedelta(seconds=self._services.settings.alert_fold_window)
        await self._services.oncall.take_plain(truncate(text, 3500), window)

    async def _numbers(self, alert: IncomingAlert) -> list[str]:
        numbers: list[str] = []
        group = alert.labels.get("sms_group")
        if group:
            try:
                _, members = await self._services.groups.members(group, caller_role=Role.ADMIN)
                numbers += members
            except UserInputError as exc:
                log.warning("alert %s: sms_group not usable: %s", alert.name, exc)
        if is_critical(alert) and not self._services.oncall.policy.escalates(alert.severity):
            numbers += self._services.settings.alert_sms_numbers  # with ALERT_ESCALATION, its steps text instead
        return list(dict.fromkeys(numbers))

    async def _sms(self, alert: IncomingAlert) -> tuple[int, tuple[str, str] | None]:
        """SMS sent, and the notice for the admins when some could not go (sent after every alert's SMS)."""
        numbers = await self._numbers(alert)
        if not numbers:
            return 0, None
        services = self._services
        started = "" if alert.starts_at is None else alert.starts_at.isoformat()
        identity = hashlib.sha256(f"{alert.fingerprint}|{alert.status}|{started}".encode()).hexdigest()[:24]
        text = alert_text(alert.status, alert.name, alert.instance, alert.summary)
        chat_id = await records_chat(services.settings, services.access)
        result = await text_numbers(services.sending, numbers, text, chat_id=chat_id, key=f"alert:{identity}")
        if not result.missed:
            return result.sent, None
        reasons = "; ".join(esc(truncate(reason, 200)) for reason in dict.fromkeys(result.missed))
        html = f"⚠️ Alert <b>{esc(truncate(alert.name, 100))}</b>: {len(result.missed)} of {len(numbers)} SMS not sent: "
        return result.sent, (f"alert-sms-missed:{identity}", html + reasons)


def _failed_html(alert: IncomingAlert) -> str:
    return f"⚠️ Alert <b>{esc(truncate(alert.name, 100))}</b>: its SMS could not be sent (see the bot's log)."
