"""On call from the chat, in-process over loopback HTTP: one post per alert that repeats, presses and the resolve
edit; Ack stops escalation; escalation texts each step's targets once; ``/alerts``; Alertmanager unreachable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from storage import Role, audit_actions
from tests.alertmanager_server import Alertmanager
from tests.e2e.harness import ADMIN, SENDER, BotHarness, button_data, running, start_bot, wait_until
from tests.e2e.http_process import free_port
from tests.e2e.test_http_endpoints import alertmanager_body
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer

TOKEN = "oncall-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ONCALL_MEMBER = "254712000201"
MANAGER = "254712000301"
AT_ONCE = "254712000111"
Web = tuple[BotHarness, httpx.AsyncClient]


@contextlib.asynccontextmanager
async def oncall_bot(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path, **settings: Any
) -> AsyncIterator[Web]:
    chosen: dict[str, Any] = {"http_port": 0, "alert_webhook_token": TOKEN} | settings
    application, values = await start_bot(telegram, texin, sms254, database_path, **chosen)
    async with running(application):
        harness = BotHarness(telegram, texin, sms254, application, values)
        web = application.bot_data.web
        assert web is not None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web.port}", timeout=10) as client:
            yield harness, client


class ShiftedClock:
    """The bot's clock: now, moved on by ``shift`` when a test needs time to have passed."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


def critical(name: str = "SiteDown", **alert: Any) -> dict[str, Any]:
    labels = {"alertname": name, "severity": "critical", "instance": "web1:443"}
    return alertmanager_body(labels=labels, fingerprint=f"fp-{name}", annotations={"summary": f"{name} now"}, **alert)


async def notify(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    answer = await client.post("/alerts/alertmanager", json=body, headers=AUTH)
    assert answer.status_code == 200, answer.text


def posts_about(telegram: FakeTelegram, words: str) -> list[SentMessage]:
    """The alert posts that mention ``words`` (not /alerts listings, not the admins' notices)."""
    heads = ("🔥 FIRING", "✅ RESOLVED", "📣")
    return [m for m in telegram.messages(ADMIN) if words in m.text and m.text.startswith(heads)]


def labels_of(message: SentMessage) -> list[str]:
    return [button["text"] for row in (message.reply_markup or {}).get("inline_keyboard", []) for button in row]


async def the_post(bot: BotHarness, words: str, condition: Any = None) -> SentMessage:
    """The one post about ``words`` once ``condition`` holds for it (it may be edited meanwhile)."""

    def found() -> bool:
        posts = posts_about(bot.telegram, words)
        return len(posts) == 1 and (condition is None or condition(posts[0]))

    try:
        await wait_until(found, 10, f"the post about {words}")
    except AssertionError:
        raise AssertionError(
            f"no single post about {words}: {[m.text for m in bot.telegram.messages(ADMIN)]}"
        ) from None
    [post] = posts_about(bot.telegram, words)
    return post


async def press(bot: BotHarness, post: SentMessage, label: str) -> str:
    """Press the button and return the bot's one-line answer to the press."""
    query_id = bot.telegram.press_button(ADMIN, post.message_id, button_data(post, label), user_id=ADMIN)

    def answered() -> str | None:
        for answer in bot.telegram.callback_answers():
            if answer.callback_query_id == query_id:
                return answer.text or ""
        return None

    await wait_until(lambda: answered() is not None, 10, f"the answer to {label}")
    return answered() or ""


async def test_repeats_and_the_resolve_edit_the_alerts_own_post(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with oncall_bot(telegram, texin, sms254, database_path) as (bot, client):
        await notify(client, alertmanager_body())
        post = await the_post(bot, "DiskFull")
        assert "FIRING" in post.text and labels_of(post) == ["✅ Ack"]  # no ALERTMANAGER_URL: no Silence
        await notify(client, alertmanager_body())
        await notify(client, alertmanager_body())
        await bot.settle()
        assert not posts_about(telegram, "DiskFull")[0].edited  # a repeat costs no Telegram call; the count waits
        await notify(client, alertmanager_body(status="resolved"))
        post = await the_post(bot, "DiskFull", lambda m: "Resolved at" in m.text)
        assert "RESOLVED" in post.text and "FIRING" not in post.text and "lasted" in post.text
        assert "Notified 3 times" in post.text  # the folded repeats, counted
        assert labels_of(post) == []
        await bot.settle()
    assert len(posts_about(telegram, "DiskFull")) == 1


async def test_the_same_new_alert_notified_twice_at_once_is_posted_once(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with oncall_bot(telegram, texin, sms254, database_path) as (bot, client):
        held = telegram.hold("sendMessage", ADMIN)  # the first post waits at Telegram while the second arrives
        first = asyncio.create_task(notify(client, alertmanager_body()))
        await wait_until(lambda: held.arrived == 1, 10, "the first post at Telegram")
        second = asyncio.create_task(notify(client, alertmanager_body()))
        await asyncio.sleep(0.3)
        held.release()
        await asyncio.gather(first, second)
        await bot.settle()
        assert len(posts_about(telegram, "DiskFull")) == 1


async def test_a_resolve_after_a_restart_still_edits_the_post_made_before_it(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with oncall_bot(telegram, texin, sms254, database_path) as (bot, client):
        await notify(client, alertmanager_body())
        first = await the_post(bot, "DiskFull")
    async with oncall_bot(telegram, texin, sms254, database_path) as (bot, client):
        await notify(client, alertmanager_body(status="resolved"))
        post = await the_post(bot, "DiskFull", lambda m: "Resolved at" in m.text)
    assert post.message_id == first.message_id


async def test_ack_marks_who_and_when_once_and_is_audited(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    second_admin = -100777
    admins = [ADMIN, second_admin]
    async with oncall_bot(telegram, texin, sms254, database_path, admin_chat_ids=admins) as (bot, client):
        await notify(client, alertmanager_body())
        post = await the_post(bot, "DiskFull")
        await wait_until(lambda: any("DiskFull" in m.text for m in telegram.messages(second_admin)), 10, "post 2")
        [other] = telegram.messages(second_admin)
        # Two people press Ack at once, each in their own admin chat: the first wins, the second changes nothing.
        first = telegram.press_button(ADMIN, post.message_id, button_data(post, "Ack"), user_id=ADMIN)
        second = telegram.press_button(second_admin, other.message_id, button_data(other, "Ack"), user_id=777)
        await bot.settle()
        answers = {a.callback_query_id: a.text or "" for a in telegram.callback_answers()}
        texts = sorted([answers[first], answers[second]])
        assert texts[0].startswith("Already acknowledged by") and texts[1].startswith("✅ Acknowledged")
        acked = await the_post(bot, "DiskFull", lambda m: "Acknowledged by" in m.text)
        assert "EAT" in acked.text  # local time
        assert labels_of(acked) == []
        [other] = telegram.messages(second_admin)
        assert other.text == acked.text  # every admin chat's post says the same
        db = bot.services.db
        rows = [row for row in await db.audit.list(20) if row.action == audit_actions.ALERT_ACK]
        assert len(rows) == 1 and "DiskFull" in (rows[0].detail or "")


async def test_a_plain_alert_can_be_acknowledged_and_its_repeats_fold_into_its_post(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    clock = ShiftedClock()
    async with oncall_bot(telegram, texin, sms254, database_path, alert_fold_window=600.0, clock=clock) as (
        bot,
        client,
    ):
        for _ in range(2):
            answer = await client.post("/alerts/plain", json={"text": "Backup <failed> on nas1"}, headers=AUTH)
            assert answer.status_code == 200
        post = await the_post(bot, "Backup <failed> on nas1")
        assert post.text.startswith("📣 Backup <failed> on nas1") and labels_of(post) == ["✅ Ack"]
        assert (await press(bot, post, "Ack")).startswith("✅ Acknowledged")
        acked = await the_post(bot, "Backup", lambda m: "Acknowledged by" in m.text)
        assert "Notified 2 times" in acked.text and labels_of(acked) == []
        listing = await bot.say(ADMIN, "/alerts")
        assert "No alert is firing" in listing.text  # a plain alert has nothing that resolves: not listed
        clock.shift = timedelta(minutes=11)  # past the fold window: the same text is a new post
        answer = await client.post("/alerts/plain", json={"text": "Backup <failed> on nas1"}, headers=AUTH)
        assert answer.status_code == 200
        await wait_until(lambda: len(posts_about(telegram, "Backup")) == 2, 10, "a second post")


async def test_a_chat_that_is_no_longer_an_admin_cannot_press_the_buttons_it_still_shows(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with oncall_bot(telegram, texin, sms254, database_path) as (bot, client):
        access = bot.services.access
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.ADMIN, caller_role=Role.ADMIN)
        await notify(client, alertmanager_body())
        await wait_until(lambda: any("DiskFull" in m.text for m in telegram.messages(SENDER)), 10, "its post")
        [post] = telegram.messages(SENDER)
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN)
        query_id = telegram.press_button(SENDER, post.message_id, button_data(post, "Ack"), user_id=SENDER)
        await bot.settle()
        [answer] = [a for a in telegram.callback_answers() if a.callback_query_id == query_id]
        assert "not for sender chats" in (answer.text or "")
        incident = (await bot.services.oncall.firing())[0][0]
        assert incident.acked_by is None


async def test_an_unacknowledged_critical_alert_is_texted_step_by_step_and_an_acknowledged_one_is_not(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with oncall_bot(
        telegram,
        texin,
        sms254,
        database_path,
        alert_escalation="3s:@oncall,5s:@oncall 0712000301",
        alert_sms_numbers=[AT_ONCE],
    ) as (bot, client):
        await bot.services.groups.add("oncall", [ONCALL_MEMBER], chat_id=ADMIN, user_id=ADMIN, caller_role=Role.ADMIN)
        await notify(client, critical("Acked"))
        acked_post = await the_post(bot, "Acked")
        assert "⏱ Texts @oncall at" in acked_post.text
        await press(bot, acked_post, "Ack")
        await notify(client, critical("SiteDown"))
        post = await the_post(bot, "SiteDown")
        await wait_until(lambda: texin.received[MANAGER] == 1, 15, "the second step")
        post = await the_post(bot, "SiteDown", lambda m: "⏱" not in m.text)
        assert "📟 Texted: @oncall at" in post.text and "; @oncall, +254 712 000 301 at" in post.text
        # Each number once per step: the group's member is in both steps, so twice in all; the manager once.
        await wait_until(lambda: texin.received[ONCALL_MEMBER] == 2, 10, "both steps")
        await bot.settle()
        assert texin.received[AT_ONCE] == 0  # with ALERT_ESCALATION the steps text, not ALERT_SMS_NUMBERS at once
        sms = [r.body["message"] for r in texin.requests_to("/api/send_sms")]
        assert all("SiteDown" in text for text in sms) and all("web1:443" in text for text in sms)
        acked = await the_post(bot, "Acked")
        assert "Texted" not in acked.text

        # Resolved: those it reached learn it is over, once each.
        await notify(client, critical("SiteDown", status="resolved"))
        await wait_until(lambda: texin.received[MANAGER] == 2, 10, "the all-clear")
        await notify(client, critical("SiteDown", status="resolved"))
        await bot.settle()
        assert (texin.received[MANAGER], texin.received[ONCALL_MEMBER]) == (2, 3)
        assert "RESOLVED" in texin.requests_to("/api/send_sms")[-1].body["message"]

        listing = await bot.say(ADMIN, "/alerts all")
        assert "No alert is firing" not in listing.text and "Acked" in listing.text
        assert "acked by" in listing.text and "Resolved lately" in listing.text and "texted @oncall" in listing.text
        records = [m for m in await bot.services.db.messages.list_for_chat(ADMIN, 50) if m.recipient == MANAGER]
        assert [m.status.value for m in records] == ["sent", "sent"]  # the step and the all-clear, recorded


async def test_alerts_lists_the_firing_ones_newest_first(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with oncall_bot(telegram, texin, sms254, database_path) as (bot, client):
        empty = await bot.say(ADMIN, "/alerts")
        assert "No alert is firing" in empty.text
        await notify(client, critical("Older"))
        await the_post(bot, "Older")
        await notify(client, critical("Newer"))
        await the_post(bot, "Newer")
        listing = await bot.say(ADMIN, "/alerts")
        assert "Firing alerts: 2" in listing.text
        assert listing.text.index("Newer") < listing.text.index("Older")
        wrong = await bot.say(ADMIN, "/alerts everything")
        assert "Usage: /alerts [all]" in wrong.text


async def test_silence_when_alertmanager_is_unreachable_says_so_and_changes_nothing(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    closed = f"http://admin:s3cret-pass@127.0.0.1:{free_port()}"
    async with oncall_bot(telegram, texin, sms254, database_path, alertmanager_url=closed) as (bot, client):
        await notify(client, alertmanager_body())
        post = await the_post(bot, "DiskFull")
        assert labels_of(post) == ["✅ Ack", "🔕 Silence 1h", "🔕 Silence 4h", "🔕 Silence 24h"]
        answer = await press(bot, post, "Silence 4h")
        assert answer.startswith("Alertmanager could not be reached") and "\n" not in answer
        assert "s3cret" not in answer and "127.0.0.1" not in answer
        await bot.settle()
        [after] = posts_about(telegram, "DiskFull")
        assert after.text == post.text and not after.edited
        db = bot.services.db
        assert [row for row in await db.audit.list(20) if row.action == audit_actions.ALERT_SILENCE] == []


async def test_silences_on_a_real_alertmanager_end_escalation_and_a_resolve_while_silenced_is_found(
    telegram: FakeTelegram,
    texin: TexinFakeServer,
    sms254: Sms254FakeServer,
    database_path: Path,
    alertmanager_binary: Path,
) -> None:
    port = free_port()
    clock = ShiftedClock()
    receiver = f"http://127.0.0.1:{port}/alerts/alertmanager"
    with Alertmanager(alertmanager_binary, receiver, TOKEN) as alertmanager:
        async with oncall_bot(
            telegram,
            texin,
            sms254,
            database_path,
            http_port=port,
            clock=clock,
            alertmanager_url=alertmanager.url,
            alert_escalation="3s:0712000301",
        ) as (bot, _):
            started = datetime.now(UTC).isoformat()
            alerts = {
                name: {"labels": {"alertname": name, "severity": "critical"}, "startsAt": started}
                for name in ("Silenced", "Witness")
            }
            alertmanager.post_alerts(list(alerts.values()))
            post = await the_post(bot, "Silenced")
            answer = await press(bot, post, "Silence 1h")
            assert answer.startswith("🔕 Silenced until")
            post = await the_post(bot, "Silenced", lambda m: "Silenced by" in m.text)
            assert "⏱" not in post.text and labels_of(post) == ["✅ Ack", "🔔 Expire silence"]
            await wait_until(lambda: texin.received[MANAGER] == 1, 20, "the witness's step")
            await bot.settle()
            texts = [r.body["message"] for r in texin.requests_to("/api/send_sms")]
            assert texts == ["[FIRING] Witness"]  # the silenced one stays quiet

            # It resolves while silenced: Alertmanager says nothing. Once the silence has run out, the bot asks.
            alertmanager.post_alerts([alerts["Silenced"] | {"endsAt": datetime.now(UTC).isoformat()}])
            await wait_until(lambda: not alertmanager.alerts("Silenced"), 10, "Alertmanager to drop it")
            oncall = bot.services.oncall
            assert await oncall.reconcile() == 0  # absent once: Alertmanager may just have restarted
            clock.shift = timedelta(minutes=6)
            assert await oncall.reconcile() == 1
            post = await the_post(bot, "Silenced", lambda m: "gone from Alertmanager by" in m.text)
            assert labels_of(post) == []
            listing = await bot.say(ADMIN, "/alerts")
            assert "Witness" in listing.text and "Silenced" not in listing.text
            clock.shift = timedelta(0)

            # Expire on an alert that still fires: the silence ends on Alertmanager, the Silence buttons return,
            # and its escalation stays over (silencing stops it, as an Ack does).
            witness = await the_post(bot, "Witness")
            assert (await press(bot, witness, "Silence 4h")).startswith("🔕")
            witness = await the_post(bot, "Witness", lambda m: "Expire" in str(m.reply_markup))
            assert await press(bot, witness, "Expire silence") == "🔔 Silence expired."
            witness = await the_post(bot, "Witness", lambda m: "Silence 24h" in str(m.reply_markup))
            states = sorted(s["status"]["state"] for s in alertmanager.silences())
            assert states == ["expired", "expired"] or states == ["active", "expired"]
            audit = [row.action for row in await bot.services.db.audit.list(30)]
            assert audit.count(audit_actions.ALERT_SILENCE) == 2 and audit_actions.ALERT_EXPIRE in audit


async def test_a_critical_alert_no_step_covers_is_texted_at_once_and_a_missing_group_is_told(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with oncall_bot(
        telegram,
        texin,
        sms254,
        database_path,
        alert_escalation="1s:@nobody 0712000301",
        alert_escalate_severities=frozenset({"page"}),
        alert_sms_numbers=[AT_ONCE],
    ) as (bot, client):
        await notify(client, critical("NotCovered"))
        await wait_until(lambda: texin.received[AT_ONCE] == 1, 10, "the SMS at once")
        paged = alertmanager_body(labels={"alertname": "Paged", "severity": "Page"}, fingerprint="fp-paged")
        await notify(client, paged)
        await wait_until(lambda: texin.received[MANAGER] == 1, 15, "the step")
        told = await bot.alert(lambda m: "Escalation of" in m.text and "Paged" in m.text)
        assert "@nobody" in told.text
        await bot.settle()
        assert texin.received[AT_ONCE] == 1 and texin.received[MANAGER] == 1  # NotCovered does not escalate


SECOND = "254712000302"


async def test_an_ack_or_a_resolve_during_a_step_stops_the_rest_and_only_those_texted_hear_the_all_clear(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    plan = "1s:0712000301 0712000302"
    async with oncall_bot(telegram, texin, sms254, database_path, alert_escalation=plan) as (bot, client):
        # Acknowledged while the step's first SMS is at Texin (no answer yet): the second number is not texted.
        texin.fail_next("timeout")
        await notify(client, critical("AckedMidStep"))
        post = await the_post(bot, "AckedMidStep")
        await wait_until(lambda: texin.received[MANAGER] == 1, 15, "the first SMS of the step")
        await press(bot, post, "Ack")
        await the_post(bot, "AckedMidStep", lambda m: "(1 of 2 reached)" in m.text)
        assert texin.received[SECOND] == 0

        # Resolved while the step's first SMS is at Texin: the rest stops; the one texted hears the all-clear.
        texin.fail_next("timeout")
        await notify(client, critical("ResolvedMidStep"))
        await wait_until(lambda: texin.received[MANAGER] == 2, 15, "the first SMS of the second step")
        await notify(client, critical("ResolvedMidStep", status="resolved"))
        await wait_until(lambda: texin.received[MANAGER] == 3, 15, "the all-clear")
        await bot.settle()
        assert texin.received[SECOND] == 0
        last = texin.requests_to("/api/send_sms")[-1].body
        assert last["recipient"] == MANAGER and last["message"].startswith("[RESOLVED] ResolvedMidStep")


async def test_a_resolve_with_another_start_closes_the_alert_it_belongs_to(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with oncall_bot(telegram, texin, sms254, database_path, alert_escalation="3s:0712000301") as (bot, client):
        await notify(client, critical("Flapping"))
        first = await the_post(bot, "Flapping")
        # Alertmanager: it resolved and fired again within one group_interval, so only the later start is told.
        await notify(client, critical("Flapping", status="resolved", startsAt="2026-11-28T09:20:00Z"))
        post = await the_post(bot, "Flapping", lambda m: "Resolved at" in m.text)
        assert post.message_id == first.message_id
        await notify(client, critical("Witness"))
        await wait_until(lambda: texin.received[MANAGER] == 1, 15, "the witness's step")
        await bot.settle()
        assert [r.body["message"] for r in texin.requests_to("/api/send_sms")] == [
            "[FIRING] Witness - web1:443 - Witness now"
        ]
