"""Bad input gets a clear answer and costs little: odd digits, huge numbers and forged buttons are refused in
words, never with a traceback alert to the admins."""

from __future__ import annotations

import asyncio

import pytest

from storage import Role
from tests.e2e.harness import ADMIN, SENDER, BotHarness
from tests.fakes.telegram_records import CallbackAnswer
from tests.fakes.telegram_server import FakeTelegram, SentMessage

HUGE = "99999999999999999999999"  # 23 digits: beyond SQLite's 64-bit integers


def error_alerts(bot: BotHarness) -> list[SentMessage]:
    return [m for m in bot.telegram.messages(ADMIN) if "Error" in m.text or "went wrong" in m.text]


def forge_press(telegram: FakeTelegram, chat_id: int, message: SentMessage, data: str) -> str:
    """A button press carrying ``data`` the bot never put on a button (a modified client can send anything)."""
    state = telegram.state
    with state.lock:
        sent = state.bot_messages[(chat_id, message.message_id)]
        query_id = str(4_100_000_000_000 + state.unique())
        state.open_queries.add(query_id)
        user = state.users.get(chat_id) or {"id": chat_id, "is_bot": False, "first_name": "Test"}
        query = {"id": query_id, "from": user, "chat_instance": "7", "data": data, "message": state.sent_json(sent)}
        state.queue_update({"callback_query": query})
    return query_id


async def answer_to(bot: BotHarness, query_id: str) -> CallbackAnswer:
    await bot.telegram.wait_for_request("answerCallbackQuery", lambda r: r.params["callback_query_id"] == query_id)
    # The fake records the request before it stores the answer: wait for the answer itself.
    for _ in range(500):
        found = [a for a in bot.telegram.callback_answers() if a.callback_query_id == query_id]
        if found:
            return found[0]
        await asyncio.sleep(0.01)
    raise AssertionError(f"callback query {query_id} was never answered")


@pytest.mark.parametrize("ident", ["²", HUGE])
async def test_a_status_id_that_is_no_message_is_refused_without_an_error_alert(bot: BotHarness, ident: str) -> None:
    reply = await bot.say(ADMIN, f"/status {ident}")  # it could be a provider's id: "no such message", not syntax
    assert f"No message “{ident}”" in reply.text and "Usage:" not in reply.text
    assert error_alerts(bot) == []


@pytest.mark.parametrize(
    ("command", "words"),
    [
        pytest.param("/history ③", "Give a number from 1 to 50.", id="history-circled"),
        pytest.param(f"/history {HUGE}", "Give a number from 1 to 50.", id="history-huge"),
        pytest.param("/retry ³", "Which job? Give its number.", id="retry-superscript"),
        pytest.param(f"/retry {HUGE}", "Which job? Give its number.", id="retry-huge"),
        pytest.param("/export ²", "Give a job number", id="export-superscript"),
        pytest.param(f"/export {HUGE}", "Give a job number", id="export-huge"),
        pytest.param("/allow ٣", "Give the chat id", id="allow-arabic-indic-digit"),
        pytest.param("/allow 1_000", "Give the chat id", id="allow-underscore"),
        pytest.param(f"/allow -{HUGE}", "Give the chat id", id="allow-huge-negative"),
        pytest.param("/deny ²", "Give one chat id.", id="deny-superscript"),
        pytest.param(f"/deny {HUGE}", "Give one chat id.", id="deny-huge"),
    ],
)
async def test_odd_digits_and_huge_numbers_get_a_usage_line_and_no_error_alert(
    bot: BotHarness, command: str, words: str
) -> None:
    reply = await bot.say(ADMIN, command)
    assert words in reply.text and "Usage:" in reply.text
    assert error_alerts(bot) == []
    assert [c.chat_id for c in await bot.services.access.chats()] == [ADMIN, SENDER, 3003]


async def test_a_negative_group_id_is_still_a_chat_id(bot: BotHarness) -> None:
    reply = await bot.say(ADMIN, "/allow -1001234567890 viewer")
    assert "-1001234567890" in reply.text
    assert await bot.services.access.role_of(-1001234567890) is Role.VIEWER


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param("stop:bulk:x", "This button has expired.", id="stop-letters"),
        pytest.param(f"stop:bulk:{HUGE}", "This button has expired.", id="stop-huge"),
        pytest.param("stop:bulk:²", "This button has expired.", id="stop-superscript"),
        pytest.param("stop:bulk:", "This button has expired.", id="stop-empty"),
        pytest.param("ok:send:" + "\u202e<b>junk", "expired", id="send-junk"),
        pytest.param("ok:bulk:../../x", "expired", id="bulk-junk"),
        pytest.param("ok:retry:", "expired", id="retry-empty"),
    ],
)
async def test_forged_buttons_are_answered_expired_without_an_error_alert(
    bot: BotHarness, data: str, words: str
) -> None:
    shown = await bot.say(ADMIN, "/status")
    query_id = forge_press(bot.telegram, ADMIN, shown, data)
    answer = await answer_to(bot, query_id)
    assert answer.text is not None and words in answer.text
    assert error_alerts(bot) == []


async def test_an_upload_above_max_upload_bytes_is_refused_before_download(bot: BotHarness) -> None:
    assert bot.settings.max_upload_bytes == 5_242_880  # the documented default
    content = b"phone\n" + b"0712345678\n" * 520_000  # 5.5 MB
    reply = await bot.upload(SENDER, content, "contacts.csv", "/bulk Water off tomorrow")
    assert "The file is too big (5.5 MB); the limit is 5 MB." in reply.text
    assert bot.telegram.requests("getFile") == []
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []
