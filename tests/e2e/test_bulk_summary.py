"""A bulk job's summary is never lost to Telegram: retried through 5xx, floods and outages, and handed to the
admins when the chat refuses it for good or Telegram stays away too long; a shutdown still ends on time."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.handlers.bulk_progress import TelegramJobReporter
from bot.handlers.retrying import Patience
from tests.e2e.harness import ADMIN, SENDER, BotHarness, button_data, running, start_bot
from tests.e2e.test_bulk import is_summary
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

RECIPIENTS = "0712345678, 0722000000, 0733000000"


async def test_summary_refused_with_5xx_pages_is_sent_again_until_it_arrives(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, f"/bulk {RECIPIENTS}\nWater is back")
    bot.telegram.fail_next("sendMessage", 502, count=2)
    bot.telegram.fail_next("sendMessage", 500)
    summary = await bot.press(SENDER, preview, "Send", predicate=is_summary, timeout=30)
    assert "Sent: 3" in summary.text
    assert [r.status for r in bot.telegram.refusals("sendMessage")] == [502, 502, 500]
    assert len([m for m in bot.telegram.messages(SENDER) if is_summary(m)]) == 1
    assert sum(bot.texin.received.values()) == 3


async def test_summary_flood_limited_past_the_rate_limiters_retries_waits_and_arrives(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, f"/bulk {RECIPIENTS}\nWater is back")
    # PTB's AIORateLimiter retries a 429 three times itself; the fifth answer reaches the reporter as RetryAfter.
    bot.telegram.fail_next("sendMessage", 429, retry_after=1, count=5)
    summary = await bot.press(SENDER, preview, "Send", predicate=is_summary, timeout=30)
    assert "Sent: 3" in summary.text
    assert len(bot.telegram.refusals("sendMessage")) == 5
    assert len([m for m in bot.telegram.messages(SENDER) if is_summary(m)]) == 1


async def test_summary_of_a_chat_that_blocked_the_bot_goes_to_the_admins_without_retrying(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, f"/bulk {RECIPIENTS}\nWater is back")
    bot.telegram.block_chat(SENDER)
    bot.telegram.press_button(SENDER, preview.message_id, button_data(preview, "Send"))
    handed_over = await bot.alert(lambda m: "did not reach chat" in m.text, timeout=30)
    assert f"<code>{SENDER}</code>" in handed_over.html and "blocked" in handed_over.text
    assert "Bulk job #" in handed_over.text and "Sent: 3" in handed_over.text
    # A 403 is final: the last edit is tried once, and the summary is not tried at all in a chat that blocked us.
    final_edits = [
        r
        for r in bot.telegram.requests("editMessageText")
        if r.params.get("chat_id") == SENDER and "Done" in r.params["text"]
    ]
    assert len(final_edits) == 1, final_edits
    assert [
        r for r in bot.telegram.requests("sendMessage") if r.seq > preview.seq and r.params.get("chat_id") == SENDER
    ] == []
    assert sum(bot.texin.received.values()) == 3


async def test_summary_refused_as_a_bad_request_goes_to_the_admins_after_one_try(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, f"/bulk {RECIPIENTS}\nWater is back")
    bot.telegram.fail_next("sendMessage", 400, "Bad Request: chat not found")
    await bot.press(SENDER, preview, "Send")
    handed_over = await bot.alert(lambda m: "did not reach chat" in m.text, timeout=30)
    assert "chat not found" in handed_over.text.lower() and "Sent: 3" in handed_over.text
    assert [r.status for r in bot.telegram.refusals("sendMessage")] == [400]
    progress = bot.telegram.messages(SENDER)[-1]
    assert progress.message_id == preview.message_id and "Done" in progress.text  # the final edit still arrived


async def test_summary_attempts_end_after_the_patience_and_are_logged(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    preview = await bot.say(SENDER, f"/bulk {RECIPIENTS}\nWater is back")
    await bot.press(SENDER, preview, "Send", predicate=is_summary)
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    totals = await bot.services.db.jobs.totals(job.id)
    reporter = TelegramJobReporter(
        bot.application.bot,
        job,
        "start",
        None,
        admins=bot.services.alerts,
        patience=Patience(first_delay=0.05, max_delay=0.2, give_up_after=1.0),
    )
    mark = len(bot.telegram.refusals("sendMessage"))
    bot.telegram.fail_next("sendMessage", 502, count=1000)
    try:
        with caplog.at_level(logging.WARNING):
            await asyncio.wait_for(reporter.finished(job, totals, [], None), timeout=20)
    finally:
        bot.telegram.clear_failures()
    assert len(bot.telegram.refusals("sendMessage")) - mark > 2, "the summary was not tried again"
    assert any("gave up delivering the summary" in r.getMessage() for r in caplog.records), caplog.text


async def test_shutdown_cuts_a_summary_still_waiting_for_telegram_within_the_grace(
    telegram: FakeTelegram,
    texin: TexinFakeServer,
    sms254: Sms254FakeServer,
    database_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    application, _ = await start_bot(telegram, texin, sms254, database_path, shutdown_grace_seconds=2.0)

    async def run_until_the_summary_waits_then_stop() -> None:
        async with running(application):
            mark = telegram.mark()
            telegram.send_text(ADMIN, f"/bulk {RECIPIENTS}\nWater is back")
            preview = await telegram.wait_for_message(ADMIN, lambda m: "preview" in m.text, after=mark, timeout=10)
            mark = telegram.mark()
            telegram.fail_next("sendMessage", 502, count=1000)
            telegram.press_button(ADMIN, preview.message_id, button_data(preview, "Send"))
            await telegram.wait_for_request("sendMessage", after=mark, timeout=30)  # the summary's first try
        # Leaving the block stops the bot the way run_polling does: stop, post_stop, shutdown, post_shutdown.

    try:
        with caplog.at_level(logging.WARNING):
            await asyncio.wait_for(run_until_the_summary_waits_then_stop(), timeout=40)
    finally:
        telegram.clear_failures()
    assert any("stopped before the summary" in r.getMessage() for r in caplog.records), caplog.text
    assert sum(texin.received.values()) == 3
