"""The five confirm / Cancel previews (/send, /bulk, /bulk in:, /retry, /group delete) share one press path: Cancel
answers "Cancelled" and says what was not done, and a preview already used answers that it expired and loses its
buttons. Each says it in its own words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from bot.phone import display_phone
from bot.services.previews import PreviewStore
from tests.e2e.harness import ADMIN, BotHarness, button_data
from tests.fakes.telegram_server import SentMessage

LONG_TEXT = "word " * 100  # above CONFIRM_ABOVE_UNITS: /send shows a preview
USED = "This preview has expired or was already used."


@dataclass(frozen=True)
class Preview:
    message: SentMessage
    store: PreviewStore[Any]
    confirm: str  # a part of the confirm button's label
    cancelled: str
    expired: str


async def send_preview(bot: BotHarness) -> Preview:
    message = await bot.say(ADMIN, "/send 0712345678 " + LONG_TEXT)
    cancelled = f"✖️ Cancelled. Nothing was sent to {display_phone('254712345678')}."
    return Preview(message, bot.services.send_previews, "Send", cancelled, USED + " Send the command again.")


async def bulk_preview(bot: BotHarness) -> Preview:
    message = await bot.say(ADMIN, "/bulk 0712345678, 0722000000\nHello")
    cancelled = "✖️ Cancelled. Nothing was sent to the 2 recipients."
    return Preview(message, bot.services.bulk_previews, "Send to 2", cancelled, USED + " Send /bulk again.")


async def scheduled_bulk_preview(bot: BotHarness) -> Preview:
    message = await bot.say(ADMIN, "/bulk in:30m 0712345678, 0722000000\nHello")
    store = bot.services.schedules.bulk_previews
    return Preview(message, store, "Schedule for 2", "✖️ Cancelled. Nothing was scheduled.", USED + " Send /bulk again.")


async def retry_preview(bot: BotHarness) -> Preview:
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000\nRetry me")
    await bot.press(ADMIN, preview, "Send", predicate=lambda m: "finished" in m.text)
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
    await bot.services.bulk.wait(job.id)
    message = await bot.say(ADMIN, f"/retry {job.id}")
    return Preview(message, bot.services.retry_previews, "Send again", f"✖️ Retry of job #{job.id} cancelled.", USED)


async def group_delete_preview(bot: BotHarness) -> Preview:
    await bot.say(ADMIN, "/group add team 0712345678")
    message = await bot.say(ADMIN, "/group delete team")
    cancelled = "✖️ Cancelled. @team was not deleted."
    return Preview(message, bot.services.group_previews, "Delete", cancelled, "This button has expired.")


PREVIEWS = [
    pytest.param(send_preview, id="send"),
    pytest.param(bulk_preview, id="bulk"),
    pytest.param(scheduled_bulk_preview, id="scheduled-bulk"),
    pytest.param(retry_preview, id="retry"),
    pytest.param(group_delete_preview, id="group-delete"),
]


async def press(bot: BotHarness, message: SentMessage, label: str) -> str:
    """Press the button; returns the text of the callback answer."""
    query_id = bot.telegram.press_button(ADMIN, message.message_id, button_data(message, label))
    answer = await bot.telegram.wait_for_request(
        "answerCallbackQuery", lambda r: r.params["callback_query_id"] == query_id
    )
    return str(answer.params.get("text") or "")


@pytest.mark.parametrize("make", PREVIEWS)
async def test_cancel_answers_cancelled_and_says_what_was_not_done(
    bot: BotHarness, make: Callable[[BotHarness], Awaitable[Preview]]
) -> None:
    preview = await make(bot)
    mark = bot.telegram.mark()
    assert await press(bot, preview.message, "Cancel") == "Cancelled"
    shown = preview.message.message_id
    edited = await bot.telegram.wait_for_message(ADMIN, lambda m: m.message_id == shown, after=mark)
    assert edited.text == preview.cancelled
    assert edited.reply_markup is None


@pytest.mark.parametrize("make", PREVIEWS)
async def test_a_used_preview_answers_expired_and_loses_its_buttons(
    bot: BotHarness, make: Callable[[BotHarness], Awaitable[Preview]]
) -> None:
    preview = await make(bot)
    token = button_data(preview.message, preview.confirm).rsplit(":", 1)[-1]
    assert preview.store.take(token) is not None  # used up, as by a press in another session
    mark = bot.telegram.mark()
    assert await press(bot, preview.message, preview.confirm) == preview.expired
    shown = preview.message.message_id
    await bot.telegram.wait_for_message(ADMIN, lambda m: m.message_id == shown and m.reply_markup is None, after=mark)
