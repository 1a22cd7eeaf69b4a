"""Alertmanager's webhook body (version 4) read into our own values, and the plain ``{"text": …}`` form.

The shape (prometheus/alertmanager ``notify/webhook``): an object with ``version`` "4", ``status``, ``receiver``,
``groupLabels``/``commonLabels``/``commonAnnotations``, ``externalURL``, ``truncatedAlerts`` and ``alerts``, each
alert with ``status`` (firing/resolved), ``labels``, ``annotations``, ``startsAt``/``endsAt`` (RFC 3339, Go's
nanoseconds allowed), ``generatorURL`` and ``fingerprint``. Only what the messages need is kept. Each alert stands
alone: one that cannot be read is named in ``unreadable`` and the others still go out; a ``startsAt`` that cannot
be read leaves the alert without a time and says so in ``problem``. A body with nothing readable raises
``PayloadError`` with one line saying what, which the endpoint returns as a 400 (Alertmanager does not retry a
4xx). A group bigger than ``MAX_ALERTS`` is cut (the rest counted, with the alerts Alertmanager itself left out
under ``max_alerts``, in ``left_out``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

MAX_ALERTS = 200  # Alertmanager groups alerts; more than this in one group is not fanned out as Telegram messages

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


class PayloadError(ValueError):
    """The body is not something we can read; ``str()`` is one line for the sender."""


@dataclass(frozen=True, slots=True)
class IncomingAlert:
    status: str  # "firing" or "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None  # UTC; None when Alertmanager sent its zero time (or one we could not read)
    fingerprint: str
    problem: str | None = None  # what of the alert could not be read (it is shown without it)

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "unnamed alert")

    @property
    def severity(self) -> str | None:
        return self.labels.get("severity")

    @property
    def instance(self) -> str | None:
        return self.labels.get("instance")

    @property
    def summary(self) -> str | None:
        return self.annotations.get("summary") or self.annotations.get("description")


@dataclass(frozen=True, slots=True)
class AlertmanagerNotification:
    alerts: list[IncomingAlert]  # at most MAX_ALERTS
    left_out: int  # alerts of the group not in ``alerts``: Alertmanager's ``truncatedAlerts`` plus our cut
    group: dict[str, str]  # ``groupLabels``: what the group is about, for the left-out notice
    group_key: str  # Alertmanager's ``groupKey`` (identifies the group), "" when absent
    unreadable: list[str] = field(default_factory=list)  # one line per alert that could not be read at all


def parse_time(value: str) -> datetime | None:
    """RFC 3339 as Go writes it (up to nanoseconds), in UTC; Go's zero time (year 1) means "not set" → None."""
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        raise PayloadError(f"startsAt is not an RFC 3339 time: {value[:40]!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if int(year) <= 1:
        return None
    micro = int((fraction or "0").ljust(6, "0")[:6])
    if zulu:
        zone: timezone = UTC
    else:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        if offset >= timedelta(hours=24):
            raise PayloadError(f"startsAt has an impossible offset: {value[:40]!r}")
        zone = timezone(offset if sign == "+" else -offset)
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, zone)
    except ValueError:
        raise PayloadError(f"startsAt is not a real date: {value[:40]!r}") from None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is past the last day datetime can hold
        raise PayloadError(f"startsAt is out of range: {value[:40]!r}") from None


def _object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise PayloadError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise PayloadError("the body must be a JSON object")
    return data


def _strings(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise PayloadError(f"{what} must be an object of strings")
    return dict(value)


def _count(value: Any) -> int:
    """``truncatedAlerts`` is a Go uint64; anything else is read as 0 (it only feeds a notice)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _group_labels(value: Any) -> dict[str, str]:
    """``groupLabels`` only names the group in a notice: an odd value is left out rather than refused."""
    try:
        return _strings(value, "groupLabels")
    except PayloadError:
        return {}


def parse_alertmanager(body: bytes) -> AlertmanagerNotification:
    data = _object(body)
    version = data.get("version")
    if version != "4":
        raise PayloadError(f'unsupported payload version {str(version)[:10]!r}; Alertmanager\'s webhook sends "4"')
    alerts = data.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise PayloadError("alerts must be a non-empty list")
    parsed: list[IncomingAlert] = []
    unreadable: list[str] = []
    for index, item in enumerate(alerts):  # each alert alone: a bad one does not lose the others
        try:
            parsed.append(_alert(item, index))
        except PayloadError as exc:
            unreadable.append(str(exc))
    if not parsed:
        raise PayloadError(unreadable[0] if len(unreadable) == 1 else f"no alert is readable: {unreadable[0]}")
    group_key = data.get("groupKey")
    return AlertmanagerNotification(
        alerts=parsed[:MAX_ALERTS],
        left_out=max(0, len(parsed) - MAX_ALERTS) + _count(data.get("truncatedAlerts")),
        group=_group_labels(data.get("groupLabels")),
        group_key=group_key if isinstance(group_key, str) else "",
        unreadable=unreadable,
    )


def _alert(item: Any, index: int) -> IncomingAlert:
    if not isinstance(item, dict):
        raise PayloadError(f"alerts[{index}] must be an object")
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError(f"alerts[{index}].status must be firing or resolved")
    starts_at, problem = _start(item.get("startsAt"), index)
    fingerprint = item.get("fingerprint", "")
    if not isinstance(fingerprint, str):
        raise PayloadError(f"alerts[{index}].fingerprint must be a string")
    labels = _strings(item.get("labels"), f"alerts[{index}].labels")
    return IncomingAlert(
        status=status,
        labels=labels,
        annotations=_strings(item.get("annotations"), f"alerts[{index}].annotations"),
        starts_at=starts_at,
        # Alertmanager always sends one; without it, the labels identify the alert as well.
        fingerprint=fingerprint or json.dumps(sorted(labels.items())),
        problem=problem,
    )


def _start(value: Any, index: int) -> tuple[datetime | None, str | None]:
    """The alert's start, or no start and why: a time we cannot read does not cost the alert itself."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, f"alerts[{index}].startsAt must be a string"
    try:
        return parse_time(value), None
    except PayloadError as exc:
        return None, f"alerts[{index}].{exc}"


def parse_plain(body: bytes) -> str:
    data = _object(body)
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise PayloadError('"text" must be a non-empty string')
    return text.strip()
