"""/send end to end: validation, immediate sends, the preview flow, provider choice and provider faults."""

from __future__ import annotations

import asyncio

import pytest

from storage import MessageStatus, Role
from tests.e2e.harness import ADMIN, SENDER, BotHarness, button_data
from tests.fakes.telegram_server import CallbackAnswer


async def test_send_goes_out_at_once_and_reply_names_everything(bot: BotHarness) -> None:
    reply = await bot.say(SENDER, "/send 0712 345 678 Server back up")
    assert "Sent" in reply.text
    assert "+254 712 345 678" in reply.text
    assert "Texin" in reply.text
    message_id = next(iter(bot.texin.messages))
    assert message_id in reply.text
    assert "Units: 1" in reply.text and "Cost: KES 0.30" in reply.text and "Balance: 999" in reply.text
    assert bot.texin.received == {"254712345678": 1}
    body = bot.texin.requests_to("/api/send_sms")[0].body
    assert body["recipient"] == "254712345678" and body["message"] == "Server back up"
    stored = await bot.services.db.messages.get_by_provider_id("texin", message_id)
    assert stored is not None and stored.status is MessageStatus.SENT and stored.chat_id == SENDER
    assert f"#{stored.id}" in reply.text


async def test_send_keeps_line_breaks_of_the_message(bot: BotHarness) -> None:
    await bot.say(SENDER, "/send 0712345678 Line one\nLine two")
    assert bot.texin.requests_to("/api/send_sms")[0].body["message"] == "Line one\nLine two"


async def test_send_via_254sms_uses_that_provider(bot: BotHarness) -> None:
    reply = await bot.say(SENDER, "/send via:254sms 0722000000 Hello there")
    assert "Sent" in reply.text and "254sms" in reply.text
    assert "(estimated)" in reply.text  # 254sms reports no units
    assert bot.sms254.received == {"254722000000": 1}
    assert bot.texin.requests == []


@pytest.mark.parametrize(
    ("command", "explanation"),
    [
        ("/send", "Give a number and a message"),
        ("/send 0712345678", "The message is empty"),
        ("/send 0712345678    ", "The message is empty"),
        ("/send 07123 hello", "too short"),
        ("/send +447911123456 hello", "not a Kenyan number"),
        ("/send 0201234567 hello", "not a mobile number"),
        ("/send hello world", "not a phone number"),
        ("/send via:mtn 0712345678 hi", "Unknown provider"),
        ("/send 0712345678 " + "x" * 1600, "too long"),
    ],
)
async def test_malformed_send_is_explained_and_nothing_is_sent_or_stored(
    bot: BotHarness, command: str, explanation: str
) -> None:
    reply = await bot.say(SENDER, command)
    assert explanation in reply.text
    assert "Usage: /send" in reply.text
    assert bot.texin.requests == [] and bot.sms254.requests == []
    assert await bot.services.db.messages.list_for_chat(SENDER) == []


async def test_send_above_the_limit_previews_and_cancel_sends_nothing(bot: BotHarness) -> None:
    long_text = "word " * 100  # 500 characters: 4 parts, above CONFIRM_ABOVE_UNITS=3
    preview = await bot.say(SENDER, f"/send 0712345678 {long_text}")
    assert "Send this SMS?" in preview.text
    assert "4 SMS parts" in preview.text and "4 units" in preview.text
    assert "Estimated cost: KES 1.20" in preview.text
    cancelled = await bot.press(SENDER, preview, "Cancel")
    assert "Cancelled" in cancelled.text
    assert bot.texin.requests_to("/api/send_sms") == []
    assert await bot.services.db.messages.list_for_chat(SENDER) == []


async def test_send_above_the_limit_sends_once_even_when_send_is_pressed_twice(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/send 0712345678 " + "word " * 100)
    data = button_data(preview, "Send")
    mark = bot.telegram.mark()
    # Two presses before the bot has handled either: both buttons are still on screen.
    bot.telegram.press_button(SENDER, preview.message_id, data)
    bot.telegram.press_button(SENDER, preview.message_id, data)
    sent = await bot.telegram.wait_for_message(SENDER, lambda m: "Sent" in m.text, after=mark)
    assert "+254 712 345 678" in sent.text and "Units: 4" in sent.text
    answers = [a.text or "" for a in await _answers(bot, 2)]
    assert any("already used" in text for text in answers)
    assert bot.texin.received == {"254712345678": 1}
    assert len(await bot.services.db.messages.list_for_chat(SENDER)) == 1


async def _answers(bot: BotHarness, count: int) -> list[CallbackAnswer]:
    for _ in range(200):
        answers = bot.telegram.callback_answers()
        if len(answers) >= count:
            return answers
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} callback answers, got {bot.telegram.callback_answers()}")


async def test_only_the_requester_can_confirm_a_preview(bot: BotHarness) -> None:
    group = -100500
    await bot.services.access.allow(
        by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=group, role=Role.SENDER, caller_role=Role.ADMIN
    )
    mark = bot.telegram.mark()
    bot.telegram.send_text(group, "/send 0712345678 " + "word " * 100, user_id=11, chat_type="supergroup", title="Ops")
    preview = await bot.telegram.wait_for_message(group, after=mark)
    bot.telegram.press_button(group, preview.message_id, button_data(preview, "Send"), user_id=12)
    answer = await bot.telegram.wait_for_request("answerCallbackQuery")
    assert "Only the person who asked" in answer.params["text"]
    assert bot.texin.requests_to("/api/send_sms") == []  # the preview only asked the price


async def test_provider_500_is_a_readable_failure_recorded_and_reported(bot: BotHarness) -> None:
    bot.texin.fail_next("http500")
    reply = await bot.say(SENDER, "/send 0712345678 hello")
    assert "Not sent" in reply.text and "+254 712 345 678" in reply.text
    assert "recorded as failed" in reply.text
    [row] = await bot.services.db.messages.list_for_chat(SENDER)
    assert row.status is MessageStatus.FAILED and row.error
    alert = await bot.alert(lambda m: "failed" in m.text and "Texin" in m.text)
    assert str(SENDER) in alert.text
    assert bot.texin.api_key not in alert.text


async def test_provider_timeout_after_sending_is_unknown_and_not_resent(bot: BotHarness) -> None:
    bot.texin.fail_next("timeout")
    reply = await bot.say(SENDER, "/send 0712345678 hello", timeout=15)
    assert "Not confirmed" in reply.text and "will not be resent" in reply.text
    [row] = await bot.services.db.messages.list_for_chat(SENDER)
    assert row.status is MessageStatus.UNKNOWN
    assert len(bot.texin.requests_to("/api/send_sms")) == 1
    await bot.alert(lambda m: "Outcome unknown" in m.text)


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("html", "web page"),
        ("auth", "API key"),
        ("invalid_sender", "sender"),
        ("insufficient", "balance"),
        ("success_false", "Texin"),
    ],
)
async def test_each_provider_fault_reaches_the_user_readably(bot: BotHarness, fault: str, words: str) -> None:
    bot.texin.fail_next(fault)
    reply = await bot.say(SENDER, "/send 0712345678 hello", timeout=15)
    assert "Not sent" in reply.text or "Not confirmed" in reply.text
    assert words.lower() in reply.text.lower()
    assert bot.texin.api_key not in reply.text
    assert "<html" not in reply.text.lower()


async def test_a_reply_telegram_refuses_reaches_the_error_handler_and_the_admins(bot: BotHarness) -> None:
    bot.telegram.fail_next("sendMessage", status=400, description="Bad Request: chat is being flooded")
    mark = bot.telegram.mark()
    bot.telegram.send_text(SENDER, "/balance")
    apology = await bot.telegram.wait_for_message(SENDER, lambda m: "went wrong" in m.text, after=mark)
    assert "admins have been told" in apology.text
    alert = await bot.alert(lambda m: "Error" in m.text and "/balance" in m.text)
    assert bot.telegram.token not in alert.text
