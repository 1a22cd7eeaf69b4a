"""Per-chat daily quotas end to end: /quota, refusals before anything is stored or sent (/send, /bulk, /retry),
two concurrent sends racing for the last units, and the admins' 80 % / 100 % notices (once, across restarts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.errors import QuotaExceededError
from bot.services.requests import DuplicateRequest
from storage import Role
from storage import audit_actions as actions
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness, button_data, running, start_bot, wait_until
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer

A, B, C = "254712345678", "254722000000", "254733000000"


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text


@pytest.fixture
async def bot(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> AsyncIterator[BotHarness]:
    """Senders may spend 5 units a day, admins have no default limit."""
    application, settings = await start_bot(telegram, texin, sms254, database_path, sender_daily_units=5)
    async with running(application):
        harness = BotHarness(telegram, texin, sms254, application, settings)
        access = harness.services.access
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN)
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=VIEWER, role=Role.VIEWER, caller_role=Role.ADMIN)
        yield harness


async def test_quota_alone_shows_todays_use_the_limit_and_where_it_comes_from(bot: BotHarness) -> None:
    await bot.say(SENDER, "/send 0712345678 Hello")
    answer = await bot.say(SENDER, "/quota")
    assert "1 of 5 units used today" in answer.text and "4 left" in answer.text
    assert "the sender default" in answer.text and "_DAILY_UNITS" not in answer.text
    admin = await bot.say(ADMIN, "/quota")
    assert "Daily limit: none" in admin.text and "none is set for admin chats" in admin.text


async def test_a_send_past_the_quota_is_refused_naming_the_figures_and_nothing_is_stored_or_sent(
    bot: BotHarness,
) -> None:
    for _ in range(5):
        assert "Sent" in (await bot.say(SENDER, "/send 0712345678 Hello")).text
    stored = len(await bot.services.db.messages.list_for_chat(SENDER, limit=50))

    answer = await bot.say(SENDER, "/send 0722000000 One more")

    assert "Daily quota reached" in answer.text
    assert "5 units a day" in answer.text and "5 used today, 0 left" in answer.text and "needs 1" in answer.text
    assert bot.texin.received == {A: 5}
    assert len(await bot.services.db.messages.list_for_chat(SENDER, limit=50)) == stored


async def test_two_concurrent_sends_that_fit_alone_but_not_together_send_exactly_one(bot: BotHarness) -> None:
    # 3 units used: 2 left. Each send needs 2 (a two-part text): either fits alone, not both.
    await bot.services.db.quotas.set_override(SENDER, 5, by_chat_id=ADMIN)
    await bot.say(SENDER, "/send 0712345678 " + "x" * 400)  # 3 parts
    sending = bot.services.sending
    text = "y" * 200  # 2 parts
    first, second = (
        sending.prepare(chat_id=SENDER, user_id=SENDER, number=number, text=text, caller_role=Role.SENDER)
        for number in ("0722000000", "0733000000")
    )

    outcomes = await asyncio.gather(sending.send(first), sending.send(second), return_exceptions=True)

    refused = [outcome for outcome in outcomes if isinstance(outcome, QuotaExceededError)]
    assert len(refused) == 1, outcomes
    assert refused[0].limit == 5 and refused[0].used == 5 and refused[0].needed == 2
    assert sum(bot.texin.received.values()) == 2
    assert (await bot.services.quotas.status(SENDER)).used == 5


async def test_a_repeated_update_that_used_the_last_units_is_a_duplicate_not_a_quota_refusal(bot: BotHarness) -> None:
    await bot.services.db.quotas.set_override(SENDER, 1, by_chat_id=ADMIN)
    sending = bot.services.sending
    request = sending.prepare(chat_id=SENDER, user_id=SENDER, number="0712345678", text="Hi", caller_role=Role.SENDER)
    await sending.send(request, request_key="msg:2002:77")

    with pytest.raises(DuplicateRequest):
        await sending.send(request, request_key="msg:2002:77")  # Telegram delivered the same update again
    assert bot.texin.received == {A: 1}


async def test_a_send_preview_pressed_after_the_quota_ran_out_is_refused(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/send 0712345678 " + "z" * 500)  # 4 parts: a preview
    assert "Send this SMS?" in preview.text
    await bot.say(SENDER, "/send 0722000000 Hi")
    await bot.say(SENDER, "/send 0722000000 Hi again")  # 2 used: 3 left, the preview needs 4

    answer = await bot.press(SENDER, preview, "Send", predicate=lambda m: "Sending" not in m.text)

    assert "Not enough daily quota left" in answer.text and "needs 4" in answer.text
    assert A not in bot.texin.received


async def test_the_bulk_preview_shows_the_quota_left_and_send_is_refused_past_it(bot: BotHarness) -> None:
    await bot.say(SENDER, "/send 0712345678 Hi")
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000, 0733000000\nHello")
    assert "Quota left today: 4 of 5 units" in preview.text and "Over the daily quota" not in preview.text
    await bot.say(SENDER, "/send 0712345678 Hi")
    await bot.say(SENDER, "/send 0712345678 Hi")  # 2 left now, the job needs 3

    answer = await bot.press(SENDER, preview, "Send")

    assert "Not enough daily quota left" in answer.text and "2 left" in answer.text and "needs 3" in answer.text
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []
    assert bot.texin.requests_to("/api/send_bulk_sms") == []


async def test_a_bulk_preview_past_the_quota_warns_before_send(bot: BotHarness) -> None:
    numbers = ", ".join(f"07{n:08d}" for n in range(12345678, 12345684))
    preview = await bot.say(SENDER, f"/bulk {numbers}\nHello")
    assert "Quota left today: 5 of 5 units" in preview.text and "Over the daily quota" in preview.text
    assert "this needs 6 units" in preview.text
    labels = [b["text"] for row in (preview.reply_markup or {}).get("inline_keyboard", []) for b in row]
    assert not any("Send" in label for label in labels), labels


async def test_admins_set_switch_off_and_reset_a_chats_quota_and_it_is_audited(bot: BotHarness) -> None:
    answer = await bot.say(ADMIN, f"/quota {SENDER} 2")
    assert "Quota changed" in answer.text and "Daily limit: 2 units — set for this chat" in answer.text
    await bot.say(SENDER, "/send 0712345678 Hi")
    await bot.say(SENDER, "/send 0712345678 Hi")
    assert "Daily quota reached" in (await bot.say(SENDER, "/send 0712345678 Hi")).text

    off = await bot.say(ADMIN, f"/quota {SENDER} off")
    assert "Daily limit: none — switched off for this chat" in off.text
    assert "Sent" in (await bot.say(SENDER, "/send 0712345678 Hi")).text  # 3 used: past the default, no limit

    default = await bot.say(ADMIN, f"/quota {SENDER} default")
    assert "3 of 5 units used today" in default.text and "sender default" in default.text
    audited = [r.detail for r in await bot.services.db.audit.list(10) if r.action == actions.QUOTA]
    assert audited == ["back to the role's default", "no limit", "2 units a day"]


@pytest.mark.parametrize(
    ("command", "explanation"),
    [
        (f"/quota {SENDER} lots", "is not a number of units per day"),
        (f"/quota {SENDER} -3", "is not a number of units per day"),
        (f"/quota {SENDER} 99999999999", "is not a number of units per day"),
        ("/quota twelve 5", "Give a chat id"),
        (f"/quota {SENDER} 5 extra", "Give a chat id"),
    ],
)
async def test_a_malformed_quota_command_is_explained_and_nothing_changes(
    bot: BotHarness, command: str, explanation: str
) -> None:
    answer = await bot.say(ADMIN, command)
    assert explanation in answer.text and "Usage: /quota" in answer.text
    assert await bot.services.db.quotas.override(SENDER) is None


async def test_a_sender_can_read_but_not_change_quotas(bot: BotHarness) -> None:
    answer = await bot.say(SENDER, f"/quota {SENDER} 500")
    assert "Only an admin chat can change quotas" in answer.text
    assert await bot.services.db.quotas.override(SENDER) is None
    assert "Only an admin chat" in (await bot.say(SENDER, f"/quota {ADMIN}")).text
    assert "0 of 5 units used today" in (await bot.say(SENDER, f"/quota {SENDER}")).text


async def test_a_retry_past_the_quota_is_refused_and_nothing_is_requeued(bot: BotHarness) -> None:
    bot.texin.failing_numbers = {B, C}
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000, 0733000000\nHello")
    await bot.press(SENDER, preview, "Send", predicate=is_summary)
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    await bot.services.bulk.wait(job.id)
    bot.texin.failing_numbers = set()
    await bot.say(ADMIN, f"/quota {SENDER} 2")  # 1 used (the failed two cost nothing): 1 left, the retry needs 2
    retry_preview = await bot.say(ADMIN, f"/retry {job.id}")

    answer = await bot.press(ADMIN, retry_preview, "Send again")

    assert "Not enough daily quota left" in answer.text and "needs 2" in answer.text
    assert bot.texin.received == {A: 1}
    assert (await bot.services.db.jobs.totals(job.id)).failed == 2


async def test_admins_are_told_once_at_80_percent_and_once_at_100_percent(bot: BotHarness) -> None:
    await bot.say(SENDER, "/send 0712345678 " + "x" * 400)  # 3 of 5: 60 %
    await bot.say(SENDER, "/send 0712345678 Hi")  # 4 of 5: 80 %
    warned = await bot.alert(lambda m: "passed 80 % of its daily quota" in m.text)
    assert f"Chat {SENDER}" in warned.text and "4 of 5 units" in warned.text
    await bot.say(SENDER, "/send 0712345678 Hi")  # 5 of 5
    full = await bot.alert(lambda m: "used its whole daily quota" in m.text)
    assert "5 of 5 units" in full.text
    await bot.say(SENDER, "/send 0712345678 Hi")  # refused: no third notice
    await bot.settle()
    notices = [m for m in bot.telegram.messages(ADMIN) if "daily quota" in m.text]
    assert len(notices) == 2


async def test_quota_notices_are_not_repeated_after_a_restart(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    for round_ in range(2):
        application, settings = await start_bot(telegram, texin, sms254, database_path, admin_daily_units=2)
        async with running(application):
            bot = BotHarness(telegram, texin, sms254, application, settings)
            if round_ == 0:
                await bot.say(ADMIN, "/send 0712345678 Hi")
                await bot.say(ADMIN, "/send 0712345678 Hi")
                await bot.alert(lambda m: "used its whole daily quota" in m.text)
            else:
                await bot.services.db.quotas.set_override(ADMIN, 3, by_chat_id=ADMIN)
                await bot.say(ADMIN, "/send 0712345678 Hi")  # 3 of 3 again, after a restart
                await bot.settle()
    assert len([m for m in telegram.messages(ADMIN) if "daily quota" in m.text]) == 1


async def test_a_jobs_recipients_not_sent_yet_block_a_concurrent_send_past_the_quota(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    # Batches of 2, one at a time: every recipient is stored (and counted) when Send is pressed.
    application, settings = await start_bot(
        telegram, texin, sms254, database_path, batch_size=2, bulk_batch_size=2, bulk_concurrency=1,
        sender_daily_units=30,
    )  # fmt: skip
    numbers = [f"07120000{i:02d}" for i in range(30)]
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        await bot.services.access.allow(
            by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN
        )
        preview = await bot.say(SENDER, "/bulk " + " ".join(numbers) + "\nWater off tomorrow")
        # A slow Telegram holds the job before its first batch: nothing is sent yet, all of it is counted.
        holds = [telegram.hold("editMessageText", SENDER), telegram.hold("sendMessage", SENDER)]
        telegram.press_button(SENDER, preview.message_id, button_data(preview, "Send"))
        await wait_until(lambda: any(hold.arrived for hold in holds), 10, "the job's progress message")
        [job] = await bot.services.db.jobs.list_for_chat(SENDER)
        assert (await bot.services.db.jobs.totals(job.id)).pending == 30

        sending = bot.services.sending
        request = sending.prepare(chat_id=SENDER, user_id=SENDER, number=A, text="Hi", caller_role=Role.SENDER)
        with pytest.raises(QuotaExceededError) as refused:
            await sending.send(request)

        for hold in holds:
            hold.release()
        totals = await bot.services.bulk.wait(job.id)
    assert (refused.value.limit, refused.value.used, refused.value.needed) == (30, 30, 1)
    assert totals is not None and totals.sent == 30
    assert sum(texin.received.values()) == 30 and A not in texin.received
