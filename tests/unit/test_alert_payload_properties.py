"""Property tests for the Alertmanager webhook parser: whatever arrives, the answer is alerts or one PayloadError."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.web.alert_payload import PayloadError, parse_alertmanager, parse_plain, parse_time

label_dicts = st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=40), max_size=5)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def rfc3339(moment: datetime, nanos: int) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond:06d}{nanos:03d}Z"


alerts = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["firing", "resolved"]),
        "labels": label_dicts,
        "annotations": label_dicts,
        "fingerprint": st.text(alphabet="0123456789abcdef", min_size=1, max_size=16),
    }
)


@given(st.lists(alerts, min_size=1, max_size=10), moments, st.integers(0, 999))
def test_valid_payloads_keep_every_alert_and_its_time(items: list[dict[str, Any]], start: datetime, nanos: int) -> None:
    for item in items:
        item["startsAt"] = rfc3339(start, nanos)
        item["endsAt"] = "0001-01-01T00:00:00Z"
    body = json.dumps({"version": "4", "status": "firing", "receiver": "x", "alerts": items}).encode()
    parsed = parse_alertmanager(body).alerts
    assert [(a.status, a.labels, a.annotations) for a in parsed] == [
        (i["status"], i["labels"], i["annotations"]) for i in items
    ]
    assert all(a.starts_at == start for a in parsed)  # nanoseconds beyond microseconds are dropped, not rounded


@given(st.binary(max_size=300))
def test_any_bytes_give_alerts_or_a_one_line_payload_error(body: bytes) -> None:
    reason = ""
    try:
        parse_alertmanager(body)
    except PayloadError as exc:
        reason = str(exc) or "(empty reason)"
    assert "\n" not in reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from(["version", "alerts", "status"]), json_values))
def test_wrong_shapes_are_refused_with_a_payload_error(data: dict[str, Any]) -> None:
    try:
        parsed = parse_alertmanager(json.dumps(data).encode()).alerts
    except PayloadError:
        return
    assert data["version"] == "4" and parsed  # only a real version-4 body with alerts gets through


@given(moments, st.integers(-23, 23), st.sampled_from([0, 30, 45]))
def test_offsets_are_honoured(moment: datetime, hours: int, minutes: int) -> None:
    offset = timedelta(hours=hours, minutes=minutes if hours >= 0 else -minutes)
    local = moment.astimezone(timezone(offset))
    sign = "+" if offset >= timedelta(0) else "-"
    total = abs(int(offset.total_seconds())) // 60
    text = local.strftime("%Y-%m-%dT%H:%M:%S.%f") + f"{sign}{total // 60:02d}:{total % 60:02d}"
    assert parse_time(text) == moment


def test_go_zero_time_means_not_set() -> None:
    assert parse_time("0001-01-01T00:00:00Z") is None


@pytest.mark.parametrize("body", [b"[]", b'{"text": ""}', b'{"text": 5}', b"\xff"])
def test_plain_form_needs_a_text(body: bytes) -> None:
    with pytest.raises(PayloadError):
        parse_plain(body)


def _last_second(year: int, hours: int, minutes: int) -> str:
    return f"{year:04d}-12-31T23:59:59{'-' if hours < 0 else '+'}{abs(hours):02d}:{minutes:02d}"


junk_alerts = json_values | st.fixed_dictionaries({"status": json_values, "labels": json_values})
any_starts = (
    st.text(max_size=40)
    | st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat())
    | st.builds(_last_second, st.sampled_from([1, 2, 9998, 9999]), st.integers(-23, 23), st.integers(0, 59))
)


def _subsequence(small: list[Any], big: list[Any]) -> bool:
    rest = iter(big)
    return all(any(item == other for other in rest) for item in small)


@given(st.lists(st.tuples(st.booleans(), alerts, junk_alerts, any_starts), min_size=1, max_size=8))
def test_each_alert_stands_alone(items: list[tuple[bool, dict[str, Any], Any, str]]) -> None:
    """Every readable alert is kept, in order, whatever stands beside it; any start is a UTC time or a problem."""
    body = json.dumps({"version": "4", "alerts": [{**a, "startsAt": t} if good else j for good, a, j, t in items]})
    readable = [(a["status"], a["labels"], a["fingerprint"]) for good, a, _, _ in items if good]
    try:
        notification = parse_alertmanager(body.encode())
    except PayloadError:
        assert not readable  # only a body with nothing readable is refused
        return
    assert _subsequence(readable, [(a.status, a.labels, a.fingerprint) for a in notification.alerts])
    assert len(notification.alerts) + len(notification.unreadable) == len(items)
    for alert in notification.alerts:
        assert alert.starts_at is None or alert.starts_at.utcoffset() == timedelta(0)
        assert alert.problem is None or (alert.starts_at is None and "startsAt" in alert.problem)
