"""/bulk end to end: preview, Send, batches, progress, summary, cancel, failures and accounting."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from storage import JobState, MessageStatus
from tests.e2e.harness import ADMIN, SENDER, BotHarness, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"07{i:08d}" for i in range(start, start + count)]


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text or "cancelled" in message.text or "stopped" in message.text


async def test_bulk_preview_counts_valid_refused_duplicates_units_and_cost(bot: BotHarness) -> None:
    preview = await bot.say(
        SENDER, "/bulk 0712345678, 0722000000 0712345678\n07123;+447911123456 0733000000\nMaintenance at 22:00"
    )
    text = preview.text
    assert "Bulk SMS preview" in text
    assert "Recipients: 3" in text
    assert "Refused: 2 numbers" in text
    assert "07123: too short" in text and "+447911123456: not a Kenyan number" in text
    assert "Duplicates removed: 1" in text
    assert "1 SMS part" in text and "× 3 recipients = 3 units" in text
    assert "Estimated cost: KES 0.90" in text
    assert "Texin" in text and "Maintenance at 22:00" in text
    assert bot.texin.requests_to("/api/send_bulk_sms") == []


async def test_bulk_send_delivers_once_each_and_summarises_from_the_provider(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000, 0733000000, 07123\nServer back up")
    summary = await bot.press(SENDER, preview, "Send", predicate=is_summary)
    assert bot.texin.received == {"254712345678": 1, "254722000000": 1, "254733000000": 1}
    assert "Sent: 3" in summary.text and "Failed: 0" in summary.text
    assert "Refused before sending: 1" in summary.text
    assert "Units: 3" in summary.text and "Cost: KES 0.90" in summary.text
    progress = bot.telegram.messages(SENDER)[-2]
    assert progress.message_id == preview.message_id  # the preview became the progress message
    assert "Done" in progress.text and progress.reply_markup is None
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    totals = await bot.services.db.jobs.totals(job.id)
    assert job.state is JobState.DONE and totals.sent == 3 and totals.units == 3
    assert totals.cost == Decimal("0.90")


async def test_bulk_cancel_in_the_preview_sends_nothing(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    cancelled = await bot.press(SENDER, preview, "Cancel")
    assert "Cancelled" in cancelled.text
    assert bot.texin.requests_to("/api/send_bulk_sms") == []
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []


async def test_bulk_on_one_line_takes_leading_numbers_and_the_rest_as_message(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678,0722000000 Water off tomorrow")
    assert "Recipients: 2" in preview.text and "Water off tomorrow" in preview.text


async def test_bulk_without_message_or_numbers_is_explained(bot: BotHarness) -> None:
    assert "message is empty" in (await bot.say(SENDER, "/bulk 0712345678, 0722000000")).text
    assert "No numbers found" in (await bot.say(SENDER, "/bulk\nJust a message")).text
    nothing = await bot.say(SENDER, "/bulk 123, 456\nHello")
    assert "None of the numbers can be used" in nothing.text and "123" in nothing.text
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []


async def test_five_hundred_refused_numbers_still_make_a_reply_telegram_accepts(bot: BotHarness) -> None:
    bad = " ".join(f"0800{i:06d}" for i in range(500))
    preview = await bot.say(SENDER, f"/bulk 0712345678 {bad}\nHello")
    assert "Refused: 500 numbers" in preview.text
    assert "more" in preview.text
    assert bot.telegram.refusals("sendMessage") == []


async def test_per_number_failures_are_listed_in_the_summary(bot: BotHarness) -> None:
    bot.texin.failing_numbers = {"254722000000"}
    bot.texin.invalid_numbers = {"254733000000"}
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000, 0733000000\nHello")
    summary = await bot.press(SENDER, preview, "Send", predicate=is_summary)
    assert "Sent: 1" in summary.text and "Failed: 2" in summary.text
    assert "+254 722 000 000" in summary.text and "+254 733 000 000" in summary.text
    totals = await bot.services.db.jobs.totals((await bot.services.db.jobs.list_for_chat(SENDER))[0].id)
    assert totals.failed == 2 and totals.sent == 1


async def test_a_failing_batch_is_recorded_failed_and_the_admins_are_told(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    bot.texin.fail_next("http500")  # after the preview, which asked the price
    summary = await bot.press(SENDER, preview, "Send", predicate=is_summary)
    assert "Failed: 2" in summary.text
    await bot.alert(lambda m: "failed" in m.text and "bulk job #" in m.text)
    assert bot.texin.received == {}


async def test_bulk_via_254sms_sends_comma_joined_batches(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, settings = await start_bot(telegram, texin, sms254, database_path, batch_size=2)
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        preview = await bot.say(ADMIN, "/bulk via:sms254 0712345678 0722000000 0733000000 0744000000 0755000000\nHi")
        summary = await bot.press(ADMIN, preview, "Send", predicate=is_summary)
        assert "Sent: 5" in summary.text
        phones = sorted(request.body["phone"] for request in sms254.requests_to("/version1/sendsms"))
        assert phones == ["254712345678,254722000000", "254733000000,254744000000", "254755000000"]
        assert "Units: 5" in summary.text  # our estimate: 254sms reports no units


async def test_cancel_stops_the_remaining_batches_and_other_commands_still_answer(
    telegram: FakeTelegram, sms254: Sms254FakeServer, database_path: Path
) -> None:
    with TexinFakeServer(latency=0.15) as slow_texin:
        application, settings = await start_bot(
            telegram, slow_texin, sms254, database_path, batch_size=10, bulk_concurrency=1
        )
        async with running(application):
            bot = BotHarness(telegram, slow_texin, sms254, application, settings)
            preview = await bot.say(ADMIN, "/bulk " + " ".join(numbers(300)) + "\nHello")
            progress = await bot.press(ADMIN, preview, "Send", predicate=lambda m: "Sending bulk job" in m.text)
            # While the job runs, another command is answered.
            status = await bot.say(ADMIN, "/balance")
            assert "Balance" in status.text
            await bot.press(ADMIN, progress, "Cancel", predicate=is_summary, timeout=15)
            [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
            totals = await bot.services.db.jobs.totals(job.id)
            assert job.state is JobState.CANCELLED
            assert totals.cancelled > 0 and totals.pending == 0 and totals.sending == 0
            assert sum(slow_texin.received.values()) == totals.sent < 300
            assert all(count == 1 for count in slow_texin.received.values())


async def test_progress_message_is_edited_while_batches_complete(
    telegram: FakeTelegram, sms254: Sms254FakeServer, database_path: Path
) -> None:
    with TexinFakeServer(latency=0.05) as texin:
        application, settings = await start_bot(
            telegram, texin, sms254, database_path, batch_size=10, bulk_concurrency=2
        )
        async with running(application):
            bot = BotHarness(telegram, texin, sms254, application, settings)
            preview = await bot.say(ADMIN, "/bulk " + " ".join(numbers(200)) + "\nHello")
            await bot.press(ADMIN, preview, "Send", predicate=is_summary, timeout=20)
            progress = next(m for m in telegram.messages(ADMIN) if m.message_id == preview.message_id)
            middle = [v.text for v in progress.history if "Remaining" in v.text and "Remaining: 0 " not in v.text]
            assert middle, "no intermediate progress was shown"
            assert any("ETA" in text for text in middle)
            assert texin.received.total() == 200


async def test_unknown_outcome_of_a_batch_is_never_resent(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    bot.texin.fail_next("timeout")
    summary = await bot.press(SENDER, preview, "Send", predicate=is_summary, timeout=15)
    assert "Unknown (maybe sent, not resent): 2" in summary.text
    await asyncio.sleep(0.2)
    assert len(bot.texin.requests_to("/api/send_bulk_sms")) == 1
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    rows = await bot.services.db.messages.list_for_job(job.id)
    assert {row.status for row in rows} == {MessageStatus.UNKNOWN}


async def test_admin_retries_a_jobs_failed_and_unknown_recipients_after_a_preview(bot: BotHarness) -> None:
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000, 0733000000\nRetry me")
    await bot.press(ADMIN, preview, "Send", predicate=is_summary)
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
    await bot.services.bulk.wait(job.id)  # the summary goes out just before the job's task ends
    assert "no failed or unknown" not in (await bot.say(ADMIN, f"/retry {job.id}")).text
    bot.texin.failing_numbers = set()  # the gateway recovered
    retry_preview = bot.telegram.last_message(ADMIN)
    assert "Failed: 1" in retry_preview.text and "Unknown: 0" in retry_preview.text
    await bot.press(
        ADMIN, retry_preview, "Send again", predicate=lambda m: "finished" in m.text and "Sent: 3" in m.text
    )
    await bot.services.bulk.wait(job.id)
    assert bot.texin.received == {"254712345678": 1, "254722000000": 1, "254733000000": 1}
    totals = await bot.services.db.jobs.totals(job.id)
    assert totals.sent == 3 and totals.failed == 0
    nothing_left = await bot.say(ADMIN, f"/retry {job.id}")
    assert "no failed or unknown recipients" in nothing_left.text


async def test_retry_is_for_admins_and_needs_a_job_number(bot: BotHarness) -> None:
    assert "not for sender chats" in (await bot.say(SENDER, "/retry 1")).text
    assert "Usage: /retry" in (await bot.say(ADMIN, "/retry")).text
    assert "no bulk job #99" in (await bot.say(ADMIN, "/retry 99")).text
