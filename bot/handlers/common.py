"""Small pieces every handler uses: reading a command's arguments, replying, buttons, error lines."""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.error import BadRequest

from bot.formatting import esc, truncate


def command_name(message: Message) -> str | None:
    """``/Send@smsrelay_bot …`` → ``send``: the command at the start of a text or a document's caption."""
    text = message.text if message.text is not None else message.caption
    entities = message.entities if message.text is not None else message.caption_entities
    if not text or not entities:
        return None
    first = entities[0]
    if first.type != MessageEntity.BOT_COMMAND or first.offset != 0:
        return None
    return text[1 : first.length].split("@", 1)[0].lower()


def command_args(message: Message) -> str:
    """Everything after the command word, newlines kept (``context.args`` would lose them)."""
    text = message.text if message.text is not None else (message.caption or "")
    parts = text.split(maxsplit=1)
    if not parts or not parts[0].startswith("/"):
        return text.strip()
    return parts[1].strip() if len(parts) > 1 else ""


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
    """(chat id, user id) of an update that has a chat."""
    chat = update.effective_chat
    if chat is None:
        raise ValueError("update without a chat")
    user = update.effective_user
    return chat.id, None if user is None else user.id
