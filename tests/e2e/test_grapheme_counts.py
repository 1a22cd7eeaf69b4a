"""Grapheme-aware counting seen from Telegram: preview and stored estimate, and invisible-only text as empty."""

from __future__ import annotations

import pytest

from tests.e2e.harness import SENDER, BotHarness

# 👍🏽 (4 UTF-16 units) would straddle units 66–69: grapheme-aware senders move it to part 2, so 3 parts, not 2.
STRADDLING = "a" * 65 + "👍🏽" + "a" * 65


async def test_send_stores_the_grapheme_aware_estimate(bot: BotHarness) -> None:
    reply = await bot.say(SENDER, f"/send 0712345678 {STRADDLING}")
    assert "Sent" in reply.text
    [stored] = await bot.services.db.messages.list_for_chat(SENDER)
    assert (stored.encoding, stored.segments) == ("UCS-2", 3)


async def test_bulk_preview_counts_parts_and_characters_as_a_reader_sees_them(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, f"/bulk 0712345678, 0722000000\n{STRADDLING}")
    assert "Length: 3 SMS parts (UCS-2, 131 characters) × 2 recipients = 6 units" in preview.text


@pytest.mark.parametrize(
    ("command", "explanation"),
    [
        ("/send 0712345678 \u200b\u2060", "The message is empty"),
        ("/send 0712345678 \ufeff \u200d", "The message is empty"),
        ("/bulk 0712345678, 0722000000\n\u200b\u200c", "The message is empty: write it on the line after the numbers"),
        ("/template save blank \u200b\ufeff", "The template text is empty"),
    ],
)
async def test_invisible_only_text_is_refused_as_empty_and_nothing_is_sent(
    bot: BotHarness, command: str, explanation: str
) -> None:
    reply = await bot.say(SENDER, command)
    assert explanation in reply.text
    assert bot.texin.requests == [] and bot.sms254.requests == []
    assert await bot.services.db.messages.list_for_chat(SENDER) == []
    assert await bot.services.db.templates.get("blank") is None
