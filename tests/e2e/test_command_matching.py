"""Which command a message is, decided once for the guard and the handlers: captions, entity order, commands
addressed to other bots, and posts Telegram relays from a linked channel."""

from __future__ import annotations

from typing import Any

from storage import Role
from tests.e2e.harness import ADMIN, SENDER, STRANGER, VIEWER, BotHarness

CAPTION = "/bulk hello"
BOLD_FIRST = [
    {"type": "bold", "offset": 0, "length": len(CAPTION)},
    {"type": "bot_command", "offset": 0, "length": len("/bulk")},
]
GROUP = -500200
MEMBER = 71


def other_bot_names(bot: BotHarness) -> list[str]:
    return [bot.telegram.bot_user.username + "_not", "other_bot"]


async def allow_group(bot: BotHarness, chat_id: int, role: Role) -> None:
    await bot.services.access.allow(
        by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=chat_id, role=role, caller_role=Role.ADMIN
    )


def say_in_group(bot: BotHarness, chat_id: int, text: str, **kwargs: Any) -> None:
    bot.telegram.send_text(chat_id, text, user_id=kwargs.pop("user_id", MEMBER), chat_type="supergroup", **kwargs)


async def test_viewer_caption_without_a_command_entity_is_no_command_and_the_file_is_not_fetched(
    bot: BotHarness,
) -> None:
    bot.telegram.send_document(VIEWER, b"0712345678\n", "numbers.csv", caption=CAPTION, caption_entities=[])
    await bot.settle()
    assert bot.telegram.requests("getFile") == []
    # Not a command, so no preview and nothing to refuse: only the answer to a bare file.
    [answer] = bot.telegram.messages(VIEWER)
    assert "this chat cannot send SMS" in answer.text
    assert bot.texin.requests_to("/api/send_bulk_sms") == []


async def test_viewer_caption_with_a_bold_entity_listed_first_is_refused_by_the_guard(bot: BotHarness) -> None:
    mark = bot.telegram.mark()
    bot.telegram.send_document(VIEWER, b"0712345678\n", "numbers.csv", caption=CAPTION, caption_entities=BOLD_FIRST)
    refusal = await bot.telegram.wait_for_message(VIEWER, after=mark)
    await bot.settle()
    assert "/bulk is not for viewer chats" in refusal.text
    assert [m.text for m in bot.telegram.messages(VIEWER)] == [refusal.text]  # no preview
    assert bot.telegram.requests("getFile") == []


async def test_sender_caption_with_a_bold_entity_listed_first_still_previews(bot: BotHarness) -> None:
    mark = bot.telegram.mark()
    bot.telegram.send_document(SENDER, b"0712345678\n", "numbers.csv", caption=CAPTION, caption_entities=BOLD_FIRST)
    preview = await bot.telegram.wait_for_message(SENDER, after=mark)
    assert "Bulk SMS preview" in preview.text and "Recipients: 1" in preview.text


async def test_commands_for_other_bots_get_no_answer_and_do_nothing(bot: BotHarness) -> None:
    await allow_group(bot, GROUP, Role.SENDER)
    others = other_bot_names(bot)
    for other in others:
        say_in_group(bot, GROUP, f"/send@{other} 0712345678 hello")
        say_in_group(bot, GROUP, f"/nosuchcommand@{other}")
        bot.telegram.send_text(VIEWER, f"/bulk@{other} 0712345678\nhello")
        bot.telegram.send_text(STRANGER, f"/start@{other}", user_id=STRANGER, chat_type="supergroup")
    await bot.settle()
    for chat_id in (GROUP, VIEWER, STRANGER, ADMIN):
        assert bot.telegram.messages(chat_id) == [], chat_id  # no reply, no refusal, no intruder alert
    assert bot.telegram.callback_answers() == []
    assert bot.texin.requests_to("/api/send_sms") == [] and bot.sms254.requests == []
    assert [a for a in await bot.services.db.audit.list(limit=20) if a.action == "refused"] == []


async def test_commands_addressed_to_this_bot_work_in_a_group(bot: BotHarness) -> None:
    await allow_group(bot, GROUP, Role.SENDER)
    ours = bot.telegram.bot_user.username
    mark = bot.telegram.mark()
    say_in_group(bot, GROUP, f"/send@{ours.upper()} 0712345678 hello")
    sent = await bot.telegram.wait_for_message(GROUP, after=mark)
    assert "Sent" in sent.text and "+254 712 345 678" in sent.text
    assert bot.texin.received == {"254712345678": 1}
    mark = bot.telegram.mark()
    say_in_group(bot, GROUP, f"/nosuchcommand@{ours}")
    unknown = await bot.telegram.wait_for_message(GROUP, after=mark)
    assert "Unknown command /nosuchcommand" in unknown.text


async def test_posts_relayed_by_telegrams_service_account_are_never_commands(bot: BotHarness) -> None:
    channel = {"id": -1009990001, "type": "channel", "title": "Announcements"}
    telegram_account = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
    await allow_group(bot, GROUP, Role.ADMIN)
    say_in_group(bot, GROUP, "/send 0712345678 hello", sender_chat=channel, from_user=telegram_account)
    say_in_group(bot, GROUP, "/deny 2002", sender_chat=channel, from_user=telegram_account)
    bot.telegram.send_text(STRANGER, "/start", chat_type="supergroup", sender_chat=channel, from_user=telegram_account)
    await bot.settle()
    for chat_id in (GROUP, STRANGER, ADMIN):
        assert bot.telegram.messages(chat_id) == [], chat_id
    assert bot.texin.requests == [] and bot.sms254.requests == []
    assert await bot.services.access.role_of(SENDER) is Role.SENDER
