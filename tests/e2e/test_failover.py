"""Provider failover through the bot (PROVIDER_FAILOVER): which sends another provider may take, what the reply,
the record, /status, /history and the admins say, and bulk batches recorded with the provider that sent them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.services.failover import SendPurpose
from storage import MessageStatus, Role
from tests.e2e.harness import ADMIN, SENDER, BotHarness, running, start_bot
from tests.e2e.test_bulk import is_summary
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer

CUSTOMER = "254712345678"
Starter = Callable[..., AbstractAsyncContextManager[BotHarness]]


@pytest.fixture
def bot_with(telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path) -> Starter:
    """The bot with both providers and a sender chat, with the given PROVIDER_FAILOVER and other settings."""

    @asynccontextmanager
    async def start(failover: str, **overrides: Any) -> AsyncIterator[BotHarness]:
        application, settings = await start_bot(
            telegram, texin, sms254, database_path, provider_failover=failover, **overrides
        )
        async with running(application):
            harness = BotHarness(telegram, texin, sms254, application, settings)
            await harness.services.access.allow(
                by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN
            )
            yield harness

    return start


def is_outcome(message: SentMessage) -> bool:
    return "Sent" in message.text or "Not sent" in message.text or "Not confirmed" in message.text


async def test_send_goes_through_254sms_when_texin_refuses_the_key_and_status_says_why(bot_with: Starter) -> None:
    async with bot_with("all") as bot:
        bot.texin.fail_next("auth")
        reply = await bot.say(SENDER, "/send 0712345678 Water back on", predicate=is_outcome)
        assert reply.text.startswith("✅ Sent to +254 712 345 678 via 254sms\n")
        assert "↪️ Via 254sms because Texin refused before sending: Texin refused the API key (HTTP 401)" in reply.text
        assert bot.sms254.received[CUSTOMER] == 1 and bot.texin.received.total() == 0
        [record] = await bot.services.db.messages.list_for_chat(SENDER)
        assert (record.provider, record.status, record.failover_from) == ("sms254", MessageStatus.SENT, "texin")
        status = await bot.say(SENDER, f"/status {record.id}")
        assert "via 254sms" in status.text and "↪️ Via 254sms because Texin refused before sending" in status.text
        history = await bot.say(SENDER, "/history")
        assert "↪️ via 254sms" in history.text
        told = await bot.alert(lambda m: "handed to 254sms" in m.text)
        assert "Texin refused" in told.text and "Through 254sms: sent" in told.text


@pytest.mark.parametrize(
    ("fault", "said"),
    [("insufficient", "not enough SMS balance"), ("forbidden", "HTTP 403"), ("invalid_sender", "sender id")],
)
async def test_every_refusal_before_sending_is_handed_over(bot_with: Starter, fault: str, said: str) -> None:
    async with bot_with("all") as bot:
        bot.texin.fail_next(fault)
        reply = await bot.say(SENDER, "/send 0712345678 Water back on", predicate=is_outcome)
        assert "Sent to" in reply.text and "via 254sms" in reply.text and said in reply.text
        assert bot.sms254.received[CUSTOMER] == 1


async def test_254sms_refusing_hands_over_to_texin_with_texins_own_sender_id(bot_with: Starter) -> None:
    async with bot_with("all", default_provider="sms254") as bot:
        bot.sms254.fail_next("x001")
        reply = await bot.say(SENDER, "/send 0712345678 Water back on", predicate=is_outcome)
        assert "Sent to" in reply.text and "via Texin" in reply.text and "254sms refused before sending" in reply.text
        assert bot.texin.received[CUSTOMER] == 1
        assert bot.texin.requests_to("/api/send_sms")[0].body["sender_id"] == "Texin"


async def test_a_provider_chosen_with_via_is_never_replaced(bot_with: Starter) -> None:
    async with bot_with("all") as bot:
        bot.texin.fail_next("auth")
        reply = await bot.say(SENDER, "/send via:texin 0712345678 Water back on", predicate=is_outcome)
        assert "Not sent" in reply.text and "via Texin" in reply.text and "↪️" not in reply.text
        assert bot.sms254.requests == []


@pytest.mark.parametrize("fault", ["http500", "bad_request", "timeout"])
async def test_faults_that_are_not_refusals_before_sending_are_never_handed_over(bot_with: Starter, fault: str) -> None:
    async with bot_with("all") as bot:
        bot.texin.fail_next(fault)
        reply = await bot.say(SENDER, "/send 0712345678 Water back on", predicate=is_outcome)
        assert "via Texin" in reply.text and "254sms" not in reply.text
        assert bot.sms254.requests == []


@pytest.mark.parametrize(("mode", "purpose"), [("alerts", SendPurpose.USER), ("off", SendPurpose.ALERT)])
async def test_a_mode_hands_over_only_the_sends_it_covers(bot_with: Starter, mode: str, purpose: SendPurpose) -> None:
    async with bot_with(mode) as bot:
        sending = bot.services.sending
        bot.texin.fail_next("auth")
        request = sending.prepare(
            chat_id=ADMIN, user_id=None, number=CUSTOMER, text="Disk full", caller_role=Role.ADMIN
        )
        report = await sending.send(request, purpose=purpose)
        assert (report.status, report.request.provider.value, report.failover_from) == (
            MessageStatus.FAILED,
            "texin",
            None,
        )
        assert bot.sms254.requests == []
        if mode == "alerts":  # and /send in that mode: refused by Texin, not handed over
            bot.texin.fail_next("auth")
            reply = await bot.say(SENDER, "/send 0712345678 Water back on", predicate=is_outcome)
            assert "Not sent" in reply.text and "254sms" not in reply.text
            assert bot.sms254.requests == []


async def test_alert_sms_are_handed_over_in_the_default_mode(bot_with: Starter) -> None:
    async with bot_with("alerts") as bot:
        sending = bot.services.sending
        bot.texin.fail_next("auth")
        request = sending.prepare(
            chat_id=ADMIN, user_id=None, number=CUSTOMER, text="Disk full", caller_role=Role.ADMIN
        )
        report = await sending.send(request, count_quota=False, purpose=SendPurpose.ALERT)
        assert (report.status, report.request.provider.value) == (MessageStatus.SENT, "sms254")
        assert report.failover_from is not None and report.failover_from.value == "texin"
        assert report.failover_reason is not None and "HTTP 401" in report.failover_reason


async def test_when_both_refuse_the_row_names_the_second_and_the_first_reason(bot_with: Starter) -> None:
    async with bot_with("all") as bot:
        bot.texin.fail_next("auth")
        bot.sms254.fail_next("insufficient")
        reply = await bot.say(SENDER, "/send 0712345678 Water back on", predicate=is_outcome)
        assert "Not sent" in reply.text and "via 254sms" in reply.text and "Texin refused the API key" in reply.text
        [record] = await bot.services.db.messages.list_for_chat(SENDER)
        assert (record.provider, record.status, record.failover_from) == ("sms254", MessageStatus.FAILED, "texin")
        assert record.error is not None and "254sms" in record.error


async def test_a_bulk_job_refused_by_texin_goes_out_through_254sms_recorded_as_such(bot_with: Starter) -> None:
    async with bot_with("all", batch_size=2, bulk_concurrency=1) as bot:
        preview = await bot.say(SENDER, "/bulk 0712000001 0712000002 0712000003 0712000004 0712000005\nWater back on")
        bot.texin.api_key = "changed-since"  # after the preview, which asked for the balance: every call is a 401
        summary = await bot.press(SENDER, preview, "Send", predicate=is_summary)
        assert "Sent: 5" in summary.text
        assert "↪️ Through the other provider, Texin having refused before sending: 5" in summary.text
        assert bot.sms254.received.total() == 5 and bot.texin.received.total() == 0
        # One refused request: the later batches went to 254sms without asking Texin again.
        assert len(bot.texin.requests_to("/api/send_bulk_sms")) == 1
        assert all(r.body["sender_id"] == "254sms" for r in bot.sms254.requests)
        [job] = await bot.services.db.jobs.list_for_chat(SENDER)
        rows = await bot.services.db.messages.list_for_job(job.id)
        assert {(m.provider, m.status, m.failover_from) for m in rows} == {("sms254", MessageStatus.SENT, "texin")}
        assert all(m.failover_reason and "HTTP 401" in m.failover_reason for m in rows)
        told = await bot.alert(lambda m: f"bulk job #{job.id}" in m.text and "handed to 254sms" in m.text)
        assert "Through 254sms: 2 of 2 sent" in told.text
        history = await bot.say(SENDER, "/history")
        assert f"#{job.id} done · Texin (↪️ 5 through the other provider)" in history.text


async def test_a_bulk_job_on_a_chosen_provider_stops_instead(bot_with: Starter) -> None:
    async with bot_with("all", batch_size=2) as bot:
        preview = await bot.say(SENDER, "/bulk via:texin 0712000001 0712000002 0712000003\nWater back on")
        bot.texin.api_key = "changed-since"  # after the preview, which asked for the balance: every call is a 401
        summary = await bot.press(SENDER, preview, "Send", predicate=is_summary)
        assert "stopped via Texin" in summary.text
        assert bot.sms254.requests == []
        [job] = await bot.services.db.jobs.list_for_chat(SENDER)
        rows = await bot.services.db.messages.list_for_job(job.id)
        assert {(m.provider, m.status, m.failover_from) for m in rows} == {("texin", MessageStatus.FAILED, None)}


async def test_bulk_jobs_are_not_handed_over_in_the_default_mode(bot_with: Starter) -> None:
    async with bot_with("alerts", batch_size=2) as bot:
        preview = await bot.say(SENDER, "/bulk 0712000001 0712000002 0712000003\nWater back on")
        bot.texin.api_key = "changed-since"  # after the preview, which asked for the balance: every call is a 401
        summary = await bot.press(SENDER, preview, "Send", predicate=is_summary)
        assert "stopped" in summary.text and bot.sms254.requests == []
