"""One odd alert costs only itself; alert SMS go before Telegram, in two parts, outside every chat's quota.

Over real loopback HTTP, in-process, like ``test_http_endpoints.py`` (whose ``web_bot`` fixture this file shares).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from bot.sms_text import measure
from tests.e2e.harness import ADMIN, BotHarness
from tests.e2e.test_http_endpoints import ON_CALL, TOKEN, alertmanager_body
from tests.e2e.test_http_endpoints import web_bot as web_bot  # the shared fixture

AUTH = {"Authorization": f"Bearer {TOKEN}"}
Web = tuple[BotHarness, httpx.AsyncClient]


def notification(*alerts: dict[str, Any]) -> dict[str, Any]:
    body = alertmanager_body()
    body["alerts"] = [{**body["alerts"][0], **alert} for alert in alerts]
    return body


def critical(name: str, **extra: Any) -> dict[str, Any]:
    return {"labels": {"alertname": name, "severity": "critical"}, "fingerprint": name, **extra}


async def test_a_start_in_year_9999_does_not_lose_the_alerts_after_it(web_bot: Web) -> None:
    bot, client = web_bot
    body = notification(
        critical("FarFuture", startsAt="9999-12-31T23:59:59-05:00"),
        critical("EdgeOfTime", startsAt="9999-12-31T23:30:00Z"),  # fine in UTC, past year 9999 in Nairobi
        critical("SiteDown"),
    )
    answer = await client.post("/alerts/alertmanager", json=body, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["alerts"] == 3
    far = await bot.alert(lambda m: "FarFuture" in m.text)
    assert "FIRING" in far.text and "out of range" in far.text
    edge = await bot.alert(lambda m: "EdgeOfTime" in m.text)
    assert "Since 9999-12-31T23:30:00+00:00" in edge.text
    await bot.alert(lambda m: "SiteDown" in m.text)
    assert bot.texin.received[ON_CALL] == 3


async def test_an_unreadable_alert_is_named_and_the_others_go_out(web_bot: Web) -> None:
    bot, client = web_bot
    body = notification(critical("First"), {"status": "odd"}, critical("Third"))
    answer = await client.post("/alerts/alertmanager", json=body, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["alerts"] == 2
    await bot.alert(lambda m: "First" in m.text)
    await bot.alert(lambda m: "Third" in m.text)
    notice = await bot.alert(lambda m: "could not be read" in m.text)
    assert "alerts[1].status" in notice.text
    assert bot.texin.received[ON_CALL] == 2


async def test_an_emoji_summary_of_twelve_parts_goes_as_two(web_bot: Web) -> None:
    bot, client = web_bot
    summary = "🔥👨‍👩‍👧‍👦" * 70  # far past ten parts as it stands
    answer = await client.post(
        "/alerts/alertmanager", json=notification(critical("Hot", annotations={"summary": summary})), headers=AUTH
    )
    assert answer.status_code == 200 and answer.json()["sms"] == 1
    sent = bot.texin.requests_to("/api/send_sms")[0].body["message"]
    assert sent.startswith("[FIRING] Hot - 🔥") and sent.endswith("…")
    assert measure(sent).segments == 2


async def test_severity_matches_in_any_case(web_bot: Web) -> None:
    bot, client = web_bot
    body = notification(
        {"labels": {"alertname": "Upper", "severity": "CRITICAL"}, "fingerprint": "a"},
        {"labels": {"alertname": "Title", "severity": "Critical"}, "fingerprint": "b"},
    )
    answer = await client.post("/alerts/alertmanager", json=body, headers=AUTH)
    assert answer.status_code == 200 and answer.json()["sms"] == 2
    assert bot.texin.received[ON_CALL] == 2


async def test_alert_sms_ignore_the_chats_quota_and_have_their_own_usage_line(web_bot: Web) -> None:
    bot, client = web_bot
    await bot.say(ADMIN, f"/quota {ADMIN} 0")  # the alert SMS are recorded under the first admin chat
    answer = await client.post("/alerts/alertmanager", json=notification(critical("SiteDown")), headers=AUTH)
    assert answer.status_code == 200 and answer.json()["sms"] == 1
    assert bot.texin.received[ON_CALL] == 1
    assert (await bot.services.quotas.status(ADMIN)).used == 0
    usage = await bot.say(ADMIN, "/usage", predicate=lambda m: "Usage of" in m.text)
    assert "Alert SMS (the bot's own, outside every quota): 1 " in usage.text


async def test_critical_sms_do_not_wait_for_a_hanging_telegram(web_bot: Web) -> None:
    bot, client = web_bot
    hold = bot.telegram.hold("sendMessage", ADMIN)
    body = notification(critical("One"), critical("Two"))
    post = asyncio.create_task(client.post("/alerts/alertmanager", json=body, headers=AUTH, timeout=60))
    started = time.monotonic()
    try:
        while bot.texin.received[ON_CALL] < 2:
            assert time.monotonic() - started < 3, "the SMS waited for Telegram"
            await asyncio.sleep(0.05)
        assert hold.waiting <= 1  # Telegram was reached after the SMS, if at all yet
    finally:
        hold.release()
    assert (await post).status_code == 200
