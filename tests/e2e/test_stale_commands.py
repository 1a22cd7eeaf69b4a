"""Commands typed while the bot was offline are not carried out blindly when it comes back.

The fake Bot API backdates a message (``date``); the bot compares it with its clock (the real one here, so the
ages below are minutes apart from any test's own duration) against STALE_COMMAND_SECONDS (300 by default).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.harness import SENDER, BotHarness

QUESTION = "while the bot was offline: send it now?"


def minutes_ago(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes, seconds=5)


async def test_an_old_cheap_send_asks_first_and_sends_only_when_confirmed(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/send 0712345678 Server back up", date=minutes_ago(12))

    assert f"This command was sent 12 min ago, {QUESTION}" in preview.text
    assert "+254 712 345 678" in preview.text and "Server back up" in preview.text
    assert "costs more than" not in preview.text  # one unit: only its age is why it asks
    assert bot.texin.requests_to("/api/send_sms") == []
    assert await bot.services.db.messages.list_for_chat(SENDER) == []

    sent = await bot.press(SENDER, preview, "Send", predicate=lambda m: "Sent" in m.text)
    assert "Sent" in sent.text
    assert bot.texin.received == {"254712345678": 1}


async def test_an_old_send_can_be_cancelled(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/send 0712345678 Server back up", date=minutes_ago(90))
    assert f"This command was sent 1 h 30 min ago, {QUESTION}" in preview.text

    cancelled = await bot.press(SENDER, preview, "Cancel")

    assert "Cancelled" in cancelled.text
    assert bot.texin.requests_to("/api/send_sms") == []


async def test_a_recent_send_still_goes_out_at_once(bot: BotHarness) -> None:
    reply = await bot.say(SENDER, "/send 0712345678 Server back up", date=minutes_ago(3))

    assert "Sent" in reply.text and "offline" not in reply.text
    assert bot.texin.received == {"254712345678": 1}


async def test_an_old_expensive_send_gives_both_reasons(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/send 0712345678 " + "x" * 700, date=minutes_ago(30))

    assert f"This command was sent 30 min ago, {QUESTION}" in preview.text
    assert "It costs more than 3 units" in preview.text


async def test_an_old_bulk_preview_says_how_old_the_command_is(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nOffice closed today", date=minutes_ago(60 * 26))

    assert "Bulk SMS preview" in preview.text
    assert f"This command was sent 1 day ago, {QUESTION}" in preview.text
    assert bot.texin.requests_to("/api/send_bulk_sms") == []


async def test_a_recent_bulk_preview_does_not_mention_age(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nOffice closed today")

    assert "Bulk SMS preview" in preview.text and "offline" not in preview.text


async def test_an_old_file_with_a_bulk_caption_says_how_old_it_is(bot: BotHarness) -> None:
    mark = bot.telegram.mark()
    bot.telegram.send_document(
        SENDER, b"0712345678\n0722000000\n", "staff.csv", caption="/bulk Office closed today", date=minutes_ago(45)
    )
    preview = await bot.telegram.wait_for_message(SENDER, after=mark)

    assert "Recipients: 2 from staff.csv" in preview.text
    assert f"This command was sent 45 min ago, {QUESTION}" in preview.text
