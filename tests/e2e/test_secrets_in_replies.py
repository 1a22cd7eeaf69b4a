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


async def test_an_error_quoting_secrets_reaches_the_admins_without_them(bot: BotHarness) -> None:
    # Telegram's refusal text ends up in the exception, the traceback and the admins' alert; python-telegram-bot
    # lower-cases it on the way (the token's letters too).
    secrets = [bot.telegram.token, bot.telegram.token.split(":")[1], bot.texin.api_key, bot.sms254.api_key]
    bot.telegram.fail_next("sendMessage", status=400, description="Bad Request: " + " ".join(secrets))
    mark = bot.telegram.mark()
    bot.telegram.send_text(SENDER, "/balance")
    await bot.telegram.wait_for_message(SENDER, lambda m: "went wrong" in m.text, after=mark)
    alert = await bot.alert(lambda m: "/balance" in m.text and "BadRequest" in m.text)
    assert "telegram.error.BadRequest: *** *** *** ***" in alert.text
