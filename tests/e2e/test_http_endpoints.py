"""The HTTP side over real loopback HTTP, in-process: /readyz, /metrics after real sends, and the alert intake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from storage import NewBulkJob, Role
from tests.e2e.harness import ADMIN, SENDER, BotHarness, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

TOKEN = "alert-token-0123456789"
ON_CALL = "254712000111"


@pytest.fixture
async def web_bot(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> AsyncIterator[tuple[BotHarness, httpx.AsyncClient]]:
    application, settings = await start_bot(
        telegram,
        texin,
        sms254,
        database_path,
        http_port=0,
        alert_webhook_token=TOKEN,
        alert_sms_numbers=[ON_CALL],
    )
    async with running(application):
        harness = BotHarness(telegram, texin, sms254, application, settings)
        await harness.services.access.allow(
            by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN
        )
        web = application.bot_data.web
        assert web is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}", timeout=10) as client:
            yield harness, client


def alertmanager_body(**alert: Any) -> dict[str, Any]:
    one = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "severity": "warning", "instance": "db1:9100"},
        "annotations": {"summary": "Disk / is 97% full"},
        "startsAt": "2026-11-28T09:15:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "c0ffee",
    }
    one.update(alert)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
        "status": one["status"],
        "receiver": "smsrelay",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": one["labels"],
        "commonAnnotations": one["annotations"],
        "externalURL": "http://alertmanager:9093",
        "alerts": [one],
    }


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"{name} {labels} not in /metrics")


async def test_readyz_answers_active_while_running_and_503_once_the_bot_stops(
    web_bot: tuple[BotHarness, httpx.AsyncClient],
) -> None:
    bot, client = web_bot
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "active"}
    assert bot.application.updater is not None
    await bot.application.updater.stop()
    await bot.application.stop()  # what a stop signal does first: a load balancer must look elsewhere from here
    stopping = await client.get("/readyz")
    assert stopping.status_code == 503 and stopping.json() == {"status": "not running"}


async def test_metrics_count_real_sends_latency_and_balance_without_numbers(
    web_bot: tuple[BotHarness, httpx.AsyncClient],
) -> None:
    bot, client = web_bot
    await bot.say(SENDER, "/send 0712345678 Server back up", predicate=lambda m: "Sent" in m.text)
    await bot.say(SENDER, "/balance")
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    text = answer.text
    assert metric(text, "smsrelay_sms_sent_total", provider="texin") == 1
    assert metric(text, "smsrelay_provider_request_seconds_count", provider="texin", endpoint="send") == 1
    assert metric(text, "smsrelay_provider_request_seconds_count", provider="texin", endpoint="balance") >= 1
    assert metric(text, "smsrelay_provider_balance", provider="texin") > 0
    assert metric(text, "smsrelay_bulk_recipients_pending") == 0
    assert "712345678" not in text and bot.telegram.token not in text and bot.texin.api_key not in text


async def test_bulk_pending_gauge_reads_unfinished_jobs(web_bot: tuple[BotHarness, httpx.AsyncClient]) -> None:
    bot, client = web_bot
    # A job stored but not started (as after a crash, before the resume): its rows are pending.
    await bot.services.db.jobs.create(
        NewBulkJob(SENDER, SENDER, "Hello", "gsm7", 1, "texin", "SMSRELAY"), ["254712345678", "254712345679"]
    )
    assert metric((await client.get("/metrics")).text, "smsrelay_bulk_recipients_pending") == 2


async def test_a_scrape_reads_the_pending_rows_in_one_query_not_one_per_job(
    web_bot: tuple[BotHarness, httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, client = web_bot
    jobs = bot.services.db.jobs
    for _ in range(3):
        await jobs.create(NewBulkJob(SENDER, SENDER, "Hi", "gsm7", 1, "texin", "SMSRELAY"), ["254712345678"])
    per_job: list[int] = []

    async def counted_totals(job_id: int) -> Any:
        per_job.append(job_id)
        raise AssertionError("a scrape must not total each job")

    monkeypatch.setattr(jobs, "totals", counted_totals)
    assert metric((await client.get("/metrics")).text, "smsrelay_bulk_recipients_pending") == 3
    assert per_job == []


async def test_telegram_errors_are_counted_by_method(web_bot: tuple[BotHarness, httpx.AsyncClient]) -> None:
    bot, client = web_bot
    bot.telegram.fail_next("sendMessage", 400, "Bad Request: injected failure")
    await bot.say(SENDER, "/help", predicate=lambda m: True)
    text = (await client.get("/metrics")).text
    assert metric(text, "smsrelay_telegram_api_errors_total", method="sendMessage") >= 1


async def test_alertmanager_firing_alert_reaches_admins_in_local_time(
    web_bot: tuple[BotHarness, httpx.AsyncClient],
) -> None:
    bot, client = web_bot
    answer = await client.post(
        "/alerts/alertmanager", json=alertmanager_body(), headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200, answer.text
    message = await bot.alert(lambda m: "DiskFull" in m.text)
    assert "FIRING" in message.text and "warning" in message.text and "db1:9100" in message.text
    assert "Disk / is 97% full" in message.text
    assert "2026-11-28 12:15 EAT" in message.text  # 09:15 UTC in Africa/Nairobi
    assert bot.texin.received[ON_CALL] == 0  # not critical: no SMS
    metrics = (await client.get("/metrics")).text
    assert metric(metrics, "smsrelay_alerts_sent_total") >= 1


async def test_repeated_alert_is_folded_not_sent_twice(web_bot: tuple[BotHarness, httpx.AsyncClient]) -> None:
    bot, client = web_bot
    for _ in range(3):
        answer = await client.post(
            "/alerts/alertmanager", json=alertmanager_body(), headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert answer.status_code == 200
    await bot.alert(lambda m: "DiskFull" in m.text)
    await bot.settle()
    assert sum("DiskFull" in m.text for m in bot.telegram.messages(ADMIN)) == 1


async def test_critical_alert_goes_by_sms_once_and_is_recorded(
    web_bot: tuple[BotHarness, httpx.AsyncClient],
) -> None:
    bot, client = web_bot
    body = alertmanager_body(labels={"alertname": "SiteDown", "severity": "critical", "instance": "web1"})
    for _ in range(2):  # Alertmanager repeats a notification: one SMS only
        answer = await client.post("/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200
    assert bot.texin.received[ON_CALL] == 1
    sent = bot.texin.requests_to("/api/send_sms")[0].body
    assert "SiteDown" in sent["message"]
    records = await bot.services.db.messages.list_for_chat(ADMIN)
    assert [record.recipient for record in records] == [ON_CALL]


async def test_alert_sms_to_a_contact_group_skips_blocked_members(
    web_bot: tuple[BotHarness, httpx.AsyncClient],
) -> None:
    bot, client = web_bot
    services = bot.services
    await services.groups.add(
        "oncall", ["0712000222", "0712000333"], chat_id=ADMIN, user_id=ADMIN, caller_role=Role.ADMIN
    )
    await services.blocklist.block(["0712000333"], reason=None, chat_id=ADMIN, user_id=ADMIN, caller_role=Role.ADMIN)
    body = alertmanager_body(labels={"alertname": "QueueStuck", "severity": "warning", "sms_group": "oncall"})
    answer = await client.post("/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.json()["sms"] == 1
    assert bot.texin.received["254712000222"] == 1
    assert bot.texin.received["254712000333"] == 0


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": TOKEN}, 401)],
)
async def test_alert_intake_refuses_without_the_right_token(
    web_bot: tuple[BotHarness, httpx.AsyncClient], headers: dict[str, str], status: int
) -> None:
    bot, client = web_bot
    for path in ("/alerts/alertmanager", "/alerts/plain"):
        answer = await client.post(path, json=alertmanager_body(), headers=headers)
        assert answer.status_code == status
    await bot.settle()
    assert not [m for m in bot.telegram.messages(ADMIN) if "DiskFull" in m.text]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (json.dumps({"version": "3", "alerts": []}).encode(), "version"),
        (json.dumps({"version": "4", "alerts": [{"status": "odd"}]}).encode(), "status"),
    ],
)
async def test_malformed_alert_body_gets_400_with_a_reason(
    web_bot: tuple[BotHarness, httpx.AsyncClient], body: bytes, reason: str
) -> None:
    _, client = web_bot
    answer = await client.post("/alerts/alertmanager", content=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 400
    assert reason in answer.json()["error"]


async def test_oversized_alert_body_is_refused(web_bot: tuple[BotHarness, httpx.AsyncClient]) -> None:
    _, client = web_bot
    answer = await client.post("/alerts/plain", content=b"x" * 2_000_000, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 413


async def test_plain_alert_reaches_admins(web_bot: tuple[BotHarness, httpx.AsyncClient]) -> None:
    bot, client = web_bot
    answer = await client.post(
        "/alerts/plain", json={"text": "Backup <failed> on nas1"}, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200
    await bot.alert(lambda m: "Backup <failed> on nas1" in m.text)


async def test_alert_endpoints_are_off_without_a_token(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, _ = await start_bot(telegram, texin, sms254, database_path, http_port=0)
    async with running(application):
        web = application.bot_data.web
        assert web is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}") as client:
            assert (await client.post("/alerts/plain", json={"text": "x"})).status_code == 404
            assert (await client.post("/alerts/alertmanager", json={})).status_code == 404


async def test_an_alert_sms_that_cannot_go_is_told_to_the_admins(
    web_bot: tuple[BotHarness, httpx.AsyncClient],
) -> None:
    bot, client = web_bot
    services = bot.services
    await services.blocklist.block([ON_CALL], reason=None, chat_id=ADMIN, user_id=ADMIN, caller_role=Role.ADMIN)
    body = alertmanager_body(labels={"alertname": "SiteDown", "severity": "critical", "instance": "web1"})

    answer = await client.post("/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {TOKEN}"})

    assert answer.status_code == 200 and answer.json()["sms"] == 0
    assert bot.texin.received[ON_CALL] == 0
    notice = await bot.telegram.wait_for_message(ADMIN, lambda m: "SMS not sent" in m.text, timeout=10)
    assert "SiteDown" in notice.text and "1 of 1" in notice.text


async def test_critical_alert_sms_without_admin_chat_ids_is_recorded_under_the_claimed_admin(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, settings = await start_bot(
        telegram,
        texin,
        sms254,
        database_path,
        admin_chat_ids=[],
        http_port=0,
        alert_webhook_token=TOKEN,
        alert_sms_numbers=[ON_CALL],
    )
    async with running(application):
        harness = BotHarness(telegram, texin, sms254, application, settings)
        await harness.services.db.chats.grant(ADMIN, Role.ADMIN, added_by=None, note="claimed with the start-up code")
        web = application.bot_data.web
        assert web is not None
        body = alertmanager_body(labels={"alertname": "SiteDown", "severity": "critical", "instance": "web1"})
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}", timeout=10) as client:
            answer = await client.post("/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 200, answer.text
        assert texin.received[ON_CALL] == 1
        records = await harness.services.db.messages.list_for_chat(ADMIN)
        assert [record.recipient for record in records] == [ON_CALL]
