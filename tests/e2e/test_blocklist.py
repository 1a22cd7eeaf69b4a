"""The opt-out blocklist end to end: /block, /unblock, /blocked, and a blocked number skipped on every send path
(/send, its Send press, bulk previews, a job whose numbers are blocked after Send, /retry, resumed jobs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.errors import NotAllowedError
from storage import JobState, MessageStatus, NewBulkJob, Role, open_database
from storage import audit_actions as actions
from storage.batches import BLOCKED_ERROR
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer

A, B, C = "254712345678", "254722000000", "254733000000"


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text


async def test_block_stores_normalised_numbers_with_who_when_and_why(bot: BotHarness) -> None:
    answer = await bot.say(SENDER, "/block +254 712345678 0722-000-000 asked to stop")
    # "+254" alone is refused (too short), the others are blocked in their normalised form.
    assert "Blocked (opted out): 2 numbers" in answer.text
    assert await bot.services.db.blocklist.blocked_among([A, B, C]) == {A, B}

    listing = await bot.say(VIEWER, "/blocked")

    assert "+254 712 345 678" in listing.text and "+254 722 000 000" in listing.text
    assert "asked to stop" in listing.text and f"by chat {SENDER}" in listing.text
    [entry, *_] = await bot.services.db.audit.list(5)
    assert entry.action == actions.BLOCK and entry.actor_chat_id == SENDER and "asked to stop" in (entry.detail or "")


async def test_blocking_again_says_already_blocked_and_keeps_the_first_reason(bot: BotHarness) -> None:
    await bot.say(SENDER, "/block 0712345678 first reason")
    again = await bot.say(ADMIN, "/block 254712345678 second reason")
    assert "Blocked (opted out): 0 numbers" in again.text and "Already blocked: 1" in again.text
    [entry] = await bot.services.db.blocklist.list()
    assert entry.reason == "first reason" and entry.blocked_by_chat == SENDER


async def test_only_admins_unblock_and_viewers_cannot_block(bot: BotHarness) -> None:
    await bot.say(SENDER, "/block 0712345678")
    assert "not for viewer chats" in (await bot.say(VIEWER, "/block 0722000000")).text
    assert "not for sender chats" in (await bot.say(SENDER, "/unblock 0712345678")).text
    assert await bot.services.db.blocklist.blocked_among([A, B]) == {A}

    answer = await bot.say(ADMIN, "/unblock +254712345678 0733000000")

    assert "Unblocked: 1 number" in answer.text and "Were not blocked: 1" in answer.text
    assert not await bot.services.db.blocklist.is_blocked(A)
    assert (await bot.services.db.audit.list(1))[0].action == actions.UNBLOCK


async def test_the_service_itself_refuses_roles_the_command_table_does_not_allow(bot: BotHarness) -> None:
    blocklist = bot.services.blocklist
    with pytest.raises(NotAllowedError):
        await blocklist.block([A], reason=None, chat_id=VIEWER, user_id=None, caller_role=Role.VIEWER)
    with pytest.raises(NotAllowedError):
        await blocklist.unblock([A], chat_id=SENDER, user_id=None, caller_role=Role.SENDER)
    with pytest.raises(NotAllowedError):
        await blocklist.page(1, caller_role=None)
    assert await bot.services.db.blocklist.count() == 0


async def test_bad_block_commands_are_explained_and_change_nothing(bot: BotHarness) -> None:
    assert "No numbers found" in (await bot.say(SENDER, "/block")).text
    assert "No numbers found" in (await bot.say(SENDER, "/block please stop")).text
    refused = await bot.say(SENDER, "/block 07123 typo")
    assert "Refused: 1 number" in refused.text and "too short" in refused.text
    too_long = await bot.say(SENDER, "/block 0712345678 " + "x" * 300)
    assert "reason is too long" in too_long.text and "Usage: /block" in too_long.text
    assert "Not a phone number: soon" in (await bot.say(ADMIN, "/unblock 0712345678 soon")).text
    assert "no page 2" in (await bot.say(ADMIN, "/blocked 2")).text
    assert "Usage: /blocked" in (await bot.say(ADMIN, "/blocked two")).text
    assert await bot.services.db.blocklist.count() == 0


async def test_blocked_list_is_paged(bot: BotHarness) -> None:
    numbers = " ".join(f"07{i:08d}" for i in range(25))
    await bot.say(ADMIN, f"/block {numbers}")
    first = await bot.say(ADMIN, "/blocked")
    second = await bot.say(ADMIN, "/blocked 2")
    assert "25 · page 1 of 2" in first.text and "/blocked 2" in first.text
    assert "page 2 of 2" in second.text
    assert first.text.count("• ") == 20 and second.text.count("• ") == 5


async def test_block_reads_a_csv_caption_or_a_reply_to_one(bot: BotHarness) -> None:
    csv = b"Name,Phone\nAlice,0712345678\nBob,0722000000\n"
    answer = await bot.upload(SENDER, csv, "stop.csv", "/block 2026 campaign: replied STOP")
    assert "Blocked (opted out): 2 numbers" in answer.text
    [entry, _] = await bot.services.db.blocklist.list()
    assert entry.reason == "2026 campaign: replied STOP"  # a caption is all reason; the numbers are the file's

    document = bot.telegram.send_document(ADMIN, b"0722000000\n0733000000\n", "back.txt")
    await bot.settle()  # the bot's answer to the bare file comes first
    answer = await bot.say(ADMIN, "/unblock", reply_to_message_id=document)
    assert "Unblocked: 1 number" in answer.text and "Were not blocked: 1" in answer.text
    assert await bot.services.db.blocklist.blocked_among([A, B, C]) == {A}


async def test_send_to_a_blocked_number_is_refused_before_anything_is_stored(bot: BotHarness) -> None:
    await bot.say(SENDER, "/block 0712345678")
    answer = await bot.say(SENDER, "/send +254 712 345 678 Offer ends Friday")
    assert "+254 712 345 678 is blocked (opted out)" in answer.text
    assert bot.texin.requests == [] and bot.sms254.requests == []
    assert await bot.services.db.messages.list_for_chat(SENDER) == []


async def test_send_press_of_a_preview_made_before_the_block_sends_nothing(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/send 0712345678 " + "word " * 100)  # above the unit limit: a preview
    await bot.say(ADMIN, "/block 0712345678 opted out by phone")
    answer = await bot.press(SENDER, preview, "Send", predicate=lambda m: "blocked" in m.text)
    assert "is blocked (opted out)" in answer.text
    assert bot.texin.requests_to("/api/send_sms") == []
    assert await bot.services.db.messages.list_for_chat(SENDER) == []


async def test_bulk_preview_counts_blocked_numbers_and_the_job_never_stores_them(bot: BotHarness) -> None:
    await bot.say(ADMIN, "/block 0722000000")
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000, 0733000000\nWater off tomorrow")
    assert "Recipients: 2" in preview.text and "Blocked (opted out): 1" in preview.text

    await bot.press(SENDER, preview, "Send", predicate=is_summary)

    assert bot.texin.received == {A: 1, C: 1}
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    rows = await bot.services.db.messages.list_for_job(job.id)
    assert job.total_recipients == 2 and {row.recipient for row in rows} == {A, C}


async def test_bulk_to_only_blocked_numbers_is_refused(bot: BotHarness) -> None:
    await bot.say(ADMIN, "/block 0712345678 0722000000")
    answer = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    assert "All 2 numbers are blocked (opted out)" in answer.text and "Usage:" not in answer.text
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []


async def test_a_number_blocked_after_the_bulk_preview_is_skipped_by_the_job(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000, 0733000000\nHello")
    await bot.say(ADMIN, "/block 0722000000")

    summary = await bot.press(SENDER, preview, "Send", predicate=is_summary)

    assert bot.texin.received == {A: 1, C: 1}
    assert "Not sent (cancelled): 1" in summary.text
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    [row] = [row for row in await bot.services.db.messages.list_for_job(job.id) if row.recipient == B]
    assert row.status is MessageStatus.CANCELLED and row.error == BLOCKED_ERROR


async def test_retry_skips_a_number_blocked_since_the_failure(bot: BotHarness) -> None:
    bot.texin.failing_numbers = {B}
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000\nRetry me")
    await bot.press(ADMIN, preview, "Send", predicate=is_summary)
    bot.texin.failing_numbers = set()
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
    await bot.say(ADMIN, "/block 0722000000 replied STOP")
    retry_preview = await bot.say(ADMIN, f"/retry {job.id}")

    await bot.press(ADMIN, retry_preview, "Send again", predicate=is_summary)

    assert bot.texin.received == {A: 1}
    [row] = [row for row in await bot.services.db.messages.list_for_job(job.id) if row.recipient == B]
    assert row.status is MessageStatus.CANCELLED and row.error == BLOCKED_ERROR


async def test_a_job_resumed_after_a_restart_skips_numbers_blocked_meanwhile(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, settings = await start_bot(telegram, texin, sms254, database_path)
    # What a stop leaves behind: a job with every recipient still pending; then someone opts out.
    async with await open_database(database_path) as db:
        job = await db.jobs.create(
            NewBulkJob(
                chat_id=ADMIN, user_id=ADMIN, body="Hello", encoding="gsm7", segments=1, provider="texin",
                sender_id=settings.texin_sender_id,
            ),
            [A, B, C],
        )  # fmt: skip
        await db.blocklist.add([B], reason="STOP", chat_id=ADMIN, user_id=ADMIN)
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        await bot.telegram.wait_for_message(ADMIN, is_summary)
        assert texin.received == {A: 1, C: 1}
        stored = await bot.services.db.jobs.get(job.id)
        assert stored is not None and stored.state is JobState.DONE
