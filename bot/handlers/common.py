"""Small pieces every handler uses: reading a command's arguments, replying, buttons, error lines."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.formatting import esc, truncate
from bot.handlers.commands import read_command
from bot.handlers.repeats import ignore_repeat, query_key
from bot.services.previews import PreviewStore
from bot.services.requests import RequestLog

T = TypeVar("T")


def command_name(message: Message) -> str | None:
    """``/Send@smsrelay_bot …`` → ``send``: the command at the start of a text or a document's caption."""
    call = read_command(message)
    return None if call is None else call.name


def command_args(message: Message) -> str:
    """Everything after the command, newlines kept (``context.args`` would lose them)."""
    call = read_command(message)
    if call is not None:
        return call.args
    return (message.text if message.text is not None else (message.caption or "")).strip()


async def drop_buttons(query: CallbackQuery) -> None:
    """Take a stale keyboard away; already gone (a second tap) or the message deleted is fine."""
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(None)


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    """One row of buttons from (label, callback data) pairs."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data) for label, data in buttons]])


def problem(text: str) -> str:
    """A one-line refusal: what is wrong, escaped."""
    return f"⚠️ {esc(text)}"


def refusal(exc: Exception, example: str) -> str:
    """The error's text, with the usage line only when the error was about how the command was written."""
    return usage(str(exc), example) if getattr(exc, "about_syntax", True) else problem(str(exc))


def usage(what: str, example: str) -> str:
    # Refusals can quote what the user sent; a cap keeps any of them far from Telegram's 4,096 limit.
    return f"⚠️ {esc(truncate(what, 1500))}\nUsage: <code>{esc(example)}</code>"


async def reply(update: Update, html: str, markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """Answer in the chat the update came from (HTML parse mode is the application default)."""
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_text(html, reply_markup=markup)


def sender_ids(update: Update) -> tuple[int, int | None]:
    """(chat id, user id) of an update that has a chat.

    The user id is None for a message an anonymous admin sent on behalf of the group itself (``sender_chat`` is
    the chat): its ``from`` is a placeholder account shared by every anonymous admin, not a person, and what such a
    message starts belongs to the chat as a whole (see ``refuse_foreign_press``). A member posting as their own
    channel keeps the placeholder's id: nobody presses buttons as that account, so nobody else may confirm it.
    """
    chat = update.effective_chat
    if chat is None:
        raise ValueError("update without a chat")
    message = update.message
    anonymous_admin = message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id
    if update.callback_query is None and anonymous_admin:
        return chat.id, None
    user = update.effective_user
    return chat.id, None if user is None else user.id


async def refuse_foreign_press(query: CallbackQuery, previews: PreviewStore[Any], token: str) -> bool:
    """Preview buttons act only for the person who asked (anyone in the chat when a chat asked): True, and the
    presser told why, when this press may not act. An unknown or expired token passes: ``take`` explains it."""
    if previews.may_press(token, query.from_user.id):
        return False
    await query.answer("Only the person who asked can confirm or cancel this.", show_alert=True)
    return True


async def take_confirmed(
    query: CallbackQuery,
    previews: PreviewStore[T],
    requests: RequestLog | None,
    *,
    expired: str,
    cancelled: Callable[[T], str],
) -> tuple[T, str] | None:
    """A press of ``ok:…:token`` / ``no:…:token`` under a preview: (what it held, the press's request key) to act on,
    or None when answered here (a repeated ok, when ``requests`` is given; another person's press; expired; Cancel)."""
    if query.data is None:
        return None
    action, _, token = query.data.split(":", 2)
    key = query_key(query)
    if requests is not None and action == "ok" and await requests.seen(key):
        ignore_repeat(key)
        return None
    if await refuse_foreign_press(query, previews, token):
        return None
    value = previews.take(token)
    if value is None:
        await query.answer(expired)
        await drop_buttons(query)
        return None
    if action == "no":
        await query.answer("Cancelled")
        await query.edit_message_text(cancelled(value))
        return None
    return value, key
