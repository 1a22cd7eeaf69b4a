"""The parser against what Alertmanager really sends (notify/webhook/webhook.go, template/template.go): every field
as it writes it is accepted, and a well-formed notification is never refused (Alertmanager does not retry a 4xx)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.web.alert_payload import MAX_ALERTS, parse_alertmanager
from tests.e2e.http_process import ALERTMANAGER_BODY


def test_a_notification_written_by_alertmanager_is_read_whole() -> None:
    notification = parse_alertmanager(ALERTMANAGER_BODY)
    firing, resolved = notification.alerts
    assert (firing.status, firing.name, firing.severity, firing.instance) == (
        "firing",
        "DiskFull",
        "warning",
        "db1:9100",
    )
    assert firing.summary == "Disk / on db1 is 97% full"
    assert firing.annotations["description"] == "/ on db1 > 95% & rising"
    assert firing.starts_at == datetime(2026, 11, 28, 9, 15, 0, 123456, UTC)
    assert resolved.status == "resolved" and resolved.instance == "db2:9100"
    assert resolved.starts_at == datetime(2026, 11, 28, 8, 40, 12, 500000, UTC)
    assert (firing.fingerprint, resolved.fingerprint) == ("5d5b2c8a41e0f7b3", "a0c3e94b27d1f865")
    assert notification.left_out == 2  # truncatedAlerts: Alertmanager's max_alerts left two out
    assert notification.group == {"alertname": "DiskFull"}
    assert notification.group_key == '{}/{severity="warning"}:{alertname="DiskFull"}'


def test_a_group_bigger_than_the_cap_is_cut_not_refused() -> None:
    data = json.loads(ALERTMANAGER_BODY)
    one = data["alerts"][0]
    data["alerts"] = [dict(one, fingerprint=f"{n:016x}") for n in range(MAX_ALERTS + 5)]
    data["truncatedAlerts"] = 0
    notification = parse_alertmanager(json.dumps(data).encode())
    assert len(notification.alerts) == MAX_ALERTS
    assert notification.left_out == 5
    assert notification.alerts[-1].fingerprint == f"{MAX_ALERTS - 1:016x}"


def test_odd_group_labels_do_not_refuse_the_alerts() -> None:
    data = json.loads(ALERTMANAGER_BODY)
    data["groupLabels"] = None  # Go writes a nil map as null
    data["truncatedAlerts"] = "2"
    notification = parse_alertmanager(json.dumps(data).encode())
    assert len(notification.alerts) == 2 and notification.group == {} and notification.left_out == 0
