"""Scheduled sends over the fake Bot API: /send and /bulk with in:/at:, /scheduled, Cancel, and the checks made
again when a schedule fires (blocklist, role, /deny). The bot's clock is moved by hand; the firing job runs on its
own every couple of seconds, as in production."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.services.errors import NotAllowedError
from storage import Role, ScheduleState
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness, button_data, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer

NUMBER = "254712345678"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path, clock: Clock
) -> AsyncIterator[BotHarness]:
    # Commands are never "stale" here: the clock jumps ahead of the messages' real dates.
    application, settings = await start_bot(
        telegram, texin, sms254, database_path, clock=clock, stale_command_seconds=10**7
    )
    async with running(application):
        harness = BotHarness(telegram, texin, sms254, application, settings)
        access = harness.services.access
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN)
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=VIEWER, role=Role.VIEWER, caller_role=Role.ADMIN)
        yield harness


def fired(schedule_id: int) -> Callable[[SentMessage], bool]:
    return lambda m: f"Scheduled send #{schedule_id}" in m.text


async def test_a_scheduled_send_waits_then_goes_out_once(bot: BotHarness, clock: Clock) -> None:
    answer = await bot.say(SENDER, "/send in:2h5m 0712345678 Water off at noon")

    assert "⏰ Scheduled #1:" in answer.text and "+254 712 345 678" in answer.text
    assert "(in 2 h 5 min)" in answer.text and "EAT" in answer.text and "Water off at noon" in answer.text
    assert button_data(answer, "Cancel #1") == "no:scheduled:1"
    await bot.settle()
    assert bot.texin.received.total() == 0

    clock.now += timedelta(hours=2, minutes=6)
    report = await bot.telegram.wait_for_message(SENDER, fired(1), timeout=15)

    assert "✅ Sent to +254 712 345 678" in report.text
    assert bot.texin.received[NUMBER] == 1
    record = await bot.services.db.schedules.get(1)
    assert record is not None and record.state is ScheduleState.DONE
    assert await bot.services.db.spend_requests.seen("sched:1")


async def test_cancel_is_idempotent_and_nothing_goes_out(bot: BotHarness, clock: Clock) -> None:
    answer = await bot.say(SENDER, "/send at:23:59 0712345678 Meeting moved")
    listing = await bot.say(SENDER, "/scheduled")
    cancelled = await bot.press(SENDER, answer, "Cancel")
    assert "cancelled. Nothing will be sent" in cancelled.text

    # The list keeps its buttons: a second press of the same Cancel.
    query_id = bot.telegram.press_button(SENDER, listing.message_id, button_data(listing, "Cancel #1"))
    await bot.settle()
    [again] = [a for a in bot.telegram.callback_answers() if a.callback_query_id == query_id]
    assert again.text is not None and "already cancelled" in again.text

    clock.now += timedelta(days=2)
    await bot.settle()
    assert bot.texin.received.total() == 0
    assert await bot.services.db.schedules.claim_due(clock.now) == []


async def test_only_its_chat_or_an_admin_can_cancel_and_scheduled_lists_by_chat(bot: BotHarness) -> None:
    await bot.say(ADMIN, "/send in:1h 0712345678 From the admins")
    await bot.say(SENDER, "/send in:2h 0722000000 From the senders")

    mine = await bot.say(SENDER, "/scheduled")
    everything = await bot.say(ADMIN, "/scheduled")

    assert "From the senders" in mine.text and "From the admins" not in mine.text
    assert "From the admins" in everything.text and "From the senders" in everything.text
    assert f"chat {SENDER}" in everything.text
    # Buttons only show in the chat that may press them; a forged one reaches the service, which refuses.
    with pytest.raises(NotAllowedError, match="Only the chat that made"):
        await bot.services.schedules.cancel(1, chat_id=SENDER, user_id=SENDER, caller_role=Role.SENDER)
    assert (await bot.services.db.schedules.count_pending(chat_id=None)) == 2

    await bot.press(ADMIN, everything, "Cancel #2")
    assert [r.id for r in await bot.services.db.schedules.pending(chat_id=None, limit=5)] == [1]
    assert "not for viewer chats" in (await bot.say(VIEWER, "/scheduled")).text


async def test_bad_times_are_refused_and_nothing_is_stored(bot: BotHarness) -> None:
    for typed, says in [
        ("/send in:0m 0712345678 Hi", "more than zero"),
        ("/send at:2020-01-01 08:00 0712345678 Hi", "has already passed"),
        ("/send in:90d 0712345678 Hi", "too far ahead"),
        ("/send at:soon 0712345678 Hi", "not a time"),
    ]:
        answer = await bot.say(SENDER, typed)
        assert says in answer.text and "Usage" in answer.text
    assert await bot.services.db.schedules.count_pending(chat_id=None) == 0


async def test_a_scheduled_bulk_previews_first_and_is_stored_once_on_a_repeated_press(
    bot: BotHarness, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    preview = await bot.say(SENDER, "/bulk via:texin in:30m 0712345678, 0722000000\nTank cleaning at 3")
    assert "Scheduled for" in preview.text and "(in 30 min)" in preview.text and "Recipients: 2" in preview.text

    stored = await bot.press(SENDER, preview, "Schedule for 2")
    # Telegram delivers the same press again (a crash before the bot confirmed it): its key is recorded already.
    [press] = [a.callback_query_id for a in bot.telegram.callback_answers()]
    with caplog.at_level(logging.INFO):
        bot.telegram.redeliver(bot.telegram.update_id_of(SENDER, query_id=press))
        await bot.settle()
    assert any(f"cbq:{press}" in r.getMessage() and "ignored a repeated" in r.getMessage() for r in caplog.records)

    assert "⏰ Scheduled #1:" in stored.text and "2 recipients" in stored.text
    assert await bot.services.db.schedules.count_pending(chat_id=None) == 1

    clock.now += timedelta(minutes=31)
    await bot.telegram.wait_for_message(SENDER, fired(1), timeout=15)
    await bot.telegram.wait_for_message(SENDER, lambda m: "finished" in m.text, timeout=15)
    assert bot.texin.received.total() == 2
    record = await bot.services.db.schedules.get(1)
    assert record is not None and record.state is ScheduleState.DONE and "bulk job #" in (record.outcome or "")


async def test_cancel_under_a_scheduled_bulk_preview_stores_nothing(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk at:23:59 0712345678, 0722000000\nTank cleaning at 3")
    cancelled = await bot.press(SENDER, preview, "Cancel")
    assert "Nothing was scheduled" in cancelled.text
    assert await bot.services.db.schedules.count_pending(chat_id=None) == 0


async def test_a_number_blocked_after_scheduling_is_not_texted(bot: BotHarness, clock: Clock) -> None:
    await bot.say(SENDER, "/send in:10m 0712345678 Reminder")
    await bot.say(ADMIN, "/block 0712345678 asked to stop")

    clock.now += timedelta(minutes=11)
    note = await bot.telegram.wait_for_message(SENDER, fired(1), timeout=15)

    assert "was not sent" in note.text and "opted out" in note.text
    assert bot.texin.received.total() == 0
    record = await bot.services.db.schedules.get(1)
    assert record is not None and record.state is ScheduleState.REFUSED


async def test_a_chat_made_viewer_after_scheduling_sends_nothing_and_the_admins_hear(
    bot: BotHarness, clock: Clock
) -> None:
    await bot.say(SENDER, "/send in:10m 0712345678 Reminder")
    await bot.say(ADMIN, f"/allow {SENDER} viewer")

    clock.now += timedelta(minutes=11)
    alert = await bot.alert(lambda m: "Scheduled send #1" in m.text)

    assert f"chat {SENDER}" in alert.text and "now viewer" in alert.text
    assert bot.texin.received.total() == 0


async def test_deny_cancels_the_chats_pending_schedules(bot: BotHarness, clock: Clock) -> None:
    await bot.say(SENDER, "/send in:10m 0712345678 One")
    await bot.say(SENDER, "/send in:20m 0712345678 Two")

    answer = await bot.say(ADMIN, f"/deny {SENDER}")

    assert "Cancelled its 2 scheduled sends" in answer.text
    clock.now += timedelta(hours=1)
    await bot.settle()
    assert await bot.services.db.schedules.count_pending(chat_id=None) == 0
    assert bot.texin.received.total() == 0


async def test_a_schedule_that_comes_due_while_the_bot_runs_fires_even_with_no_grace(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path, clock: Clock
) -> None:
    # SCHEDULE_GRACE_SECONDS=0 means "never send what came due while the bot was down", not "miss everything a
    # round did not catch within the same instant".
    application, settings = await start_bot(
        telegram, texin, sms254, database_path, clock=clock, stale_command_seconds=10**7, schedule_grace_seconds=0
    )
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        answer = await bot.say(ADMIN, "/send in:10m 0712345678 Generator test at 3")
        assert "⏰ Scheduled #1:" in answer.text

        clock.now += timedelta(minutes=11)  # the round after the due time sees it a minute late
        report = await bot.telegram.wait_for_message(ADMIN, fired(1), timeout=15)

        assert "✅ Sent to +254 712 345 678" in report.text
        assert bot.texin.received[NUMBER] == 1


async def test_a_page_number_past_the_end_is_answered_not_an_error(bot: BotHarness) -> None:
    await bot.say(SENDER, "/send in:1h 0712345678 Tea")

    answer = await bot.say(SENDER, "/scheduled 999999999999999999")

    assert "There is no page 999999999999999999" in answer.text
    assert not [m for m in bot.telegram.messages(ADMIN) if "went wrong" in m.text or "Error" in m.text]


# --- personalised (mail merge) schedules, opted-out recipients, the quota in a scheduled preview -------------------

BILLS = (
    b"Name,Phone,Amount\n"
    b"Ann,0712000001,500\n"
    b"Bob,0712000002,700\n"
    b"Carol,0712000003,\n"  # empty amount: refused in the preview, never scheduled
    b"Zo\xc3\xab,0712000004,1200\n"
)


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text


def texts_sent(bot: BotHarness) -> dict[str, str]:
    sent: dict[str, str] = {}
    for request in [*bot.texin.requests_to("/api/send_bulk_sms"), *bot.texin.requests_to("/api/send_sms")]:
        for number in request.body.get("recipients") or [request.body.get("recipient")]:
            sent[number] = request.body["message"]
    return sent


def nine_in_nairobi() -> datetime:
    """09:00 local today: far from midnight, so "today" and "tomorrow" mean what the test says."""
    local = datetime.now(UTC).astimezone(ZoneInfo("Africa/Nairobi"))
    return local.replace(hour=9, minute=0, second=0, microsecond=0).astimezone(UTC)


async def test_a_personalised_csv_bulk_is_scheduled_with_each_recipients_own_text(
    bot: BotHarness, clock: Clock
) -> None:
    preview = await bot.upload(SENDER, BILLS, "bills.csv", "/bulk in:2h Hi {name}, you owe KES {Amount}.")
    assert "Scheduled for" in preview.text and "(in 2 h)" in preview.text and "Recipients: 3" in preview.text
    assert "Personalised: 3 different texts" in preview.text and "Hi Ann, you owe KES 500." in preview.text
    assert "+254 712 000 003: empty Amount" in preview.text

    stored = await bot.press(SENDER, preview, "Schedule for 3")
    assert "⏰ Scheduled #1:" in stored.text and "3 recipients, each with their own text" in stored.text
    record = await bot.services.db.schedules.get(1)
    assert record is not None and record.personal
    assert await bot.services.db.schedules.texts(1) == (
        "Hi Ann, you owe KES 500.",
        "Hi Bob, you owe KES 700.",
        "Hi Zoë, you owe KES 1200.",
    )
    await bot.say(
        ADMIN, "/block 0712000002 asked to stop"
    )  # Bob opts out before it fires: Ann and Zoë still get theirs
    assert bot.texin.received.total() == 0

    clock.now += timedelta(hours=2, minutes=1)
    await bot.telegram.wait_for_message(SENDER, fired(1), timeout=15)
    await bot.telegram.wait_for_message(SENDER, is_summary, timeout=15)

    assert texts_sent(bot) == {"254712000001": "Hi Ann, you owe KES 500.", "254712000004": "Hi Zoë, you owe KES 1200."}
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    rows = {row.recipient: row.body for row in await bot.services.db.messages.list_for_job(job.id)}
    assert rows == {"254712000001": "Hi Ann, you owe KES 500.", "254712000004": "Hi Zoë, you owe KES 1200."}
    assert await bot.services.db.spend_requests.seen("sched:1")
    done = await bot.services.db.schedules.get(1)
    assert done is not None and done.state is ScheduleState.DONE


async def test_a_scheduled_template_merge_is_checked_against_the_quota_when_it_fires(
    bot: BotHarness, clock: Clock
) -> None:
    await bot.say(SENDER, "/template save bill Hi {name}, KES {amount} due.")
    preview = await bot.upload(SENDER, BILLS, "bills.csv", "/bulk in:1h #bill")
    assert "Hi Ann, KES 500 due." in preview.text and "Recipients: 3" in preview.text
    await bot.press(SENDER, preview, "Schedule for 3")
    await bot.say(ADMIN, f"/quota {SENDER} 2")  # set after scheduling: the check is made when it fires

    clock.now += timedelta(hours=1, minutes=1)
    note = await bot.telegram.wait_for_message(SENDER, fired(1), timeout=15)

    assert "was not sent" in note.text and "Not enough daily quota left" in note.text
    assert "Daily quota reached" not in note.text  # 0 of 2 used: not reached
    assert bot.texin.received.total() == 0 and await bot.services.db.jobs.list_for_chat(SENDER) == []
    record = await bot.services.db.schedules.get(1)
    assert record is not None and record.state is ScheduleState.REFUSED


async def test_a_bulk_schedule_whose_recipients_all_opted_out_is_refused_saying_so(
    bot: BotHarness, clock: Clock
) -> None:
    preview = await bot.say(SENDER, "/bulk in:10m 0712345678, 0722000000\nTank cleaning at 3")
    await bot.press(SENDER, preview, "Schedule for 2")
    await bot.say(ADMIN, "/block 0712345678 0722000000 asked to stop")

    clock.now += timedelta(minutes=11)
    note = await bot.telegram.wait_for_message(SENDER, fired(1), timeout=15)

    assert "was not sent" in note.text and "every recipient has opted out since this was scheduled" in note.text
    record = await bot.services.db.schedules.get(1)
    assert record is not None and record.state is ScheduleState.REFUSED and "opted out" in (record.outcome or "")
    typed = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nTank cleaning at 3")
    assert "All 2 numbers are blocked (opted out)" in typed.text  # typed now: the usual words
    assert bot.texin.received.total() == 0


async def test_a_scheduled_bulk_preview_says_the_quota_is_checked_on_the_day_it_goes_out(
    bot: BotHarness, clock: Clock
) -> None:
    clock.now = nine_in_nairobi()
    await bot.say(ADMIN, f"/quota {SENDER} 3")
    await bot.say(SENDER, "/send 0712345678 Hi")  # 2 of 3 left today
    numbers = "0712345678, 0722000000, 0733000000"

    tomorrow = await bot.say(SENDER, f"/bulk in:1d {numbers}\nHello")
    day = (clock.now + timedelta(days=1)).astimezone(ZoneInfo("Africa/Nairobi"))
    assert f"Quota: checked on {day:%a %Y-%m-%d}, the day it goes out" in tomorrow.text
    assert "Quota left today" not in tomorrow.text and "⚠️" not in tomorrow.text

    today = await bot.say(SENDER, f"/bulk in:1h {numbers}\nHello")
    assert "Quota: checked when it goes out (today); 2 of 3 units left today" in today.text
    assert "This needs 3 units: it will be refused when it goes out" in today.text

    too_big = await bot.say(SENDER, f"/bulk in:1d {numbers}, 0744000000\nHello")
    assert "This needs 4, more than the daily limit" in too_big.text
