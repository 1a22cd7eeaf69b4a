"""Whatever a reply quotes (a preview quotes the message typed), no secret reaches a chat: every text the bot
sends passes the redactor on its way to Telegram."""

from __future__ import annotations

from tests.e2e.harness import SENDER, BotHarness


async def test_a_key_pasted_into_a_message_is_not_echoed_by_the_preview(bot: BotHarness) -> None:
    key, username = bot.texin.api_key, bot.sms254.username
    preview = await bot.say(SENDER, f"/bulk 0712345678, 0722000000\nOur key is {key}, login {username}")
    assert "preview" in preview.text.lower(), preview.text
    assert "Our key is ***, login ***" in preview.text
    for message in bot.telegram.messages(SENDER):
        assert key not in message.html and username not in message.html
