"""A file sent without a /bulk caption: say what the bot can do with it instead of staying silent."""

from __future__ import annotations

from telegram import Update

from bot.context import SmsContext
from bot.formatting import esc, truncate
from bot.permissions import may_use
from bot.services.errors import UserInputError
from bot.services.recipient_files import check_upload


async def file_without_command(update: Update, context: SmsContext) -> None:
    """In a private chat any file, in a group only a CSV or TXT one: how to send to its numbers, or why not."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or message.document is None:
        return
    document = message.document
    try:
        check_upload(document.file_name, document.mime_type, None)
    except UserInputError as exc:
        if chat.type == chat.PRIVATE:
            await message.reply_text(f"⚠️ {esc(exc)} The bot reads lists of numbers from CSV or TXT files.")
        return
    name = esc(truncate(document.file_name or "this file", 60))
    if context.role is None or not may_use(context.role, "bulk"):
        await message.reply_text(f"📎 Got “{name}”, but this chat cannot send SMS, so there is nothing to do with it.")
        return
    await message.reply_text(
        f"📎 Got “{name}”. To send an SMS to its numbers, reply to it with <code>/bulk your message</code>, or "
        "send it again with <code>/bulk your message</code> as its caption. "
        "In a CSV with a header row, <code>{column}</code> in the message is filled from each row."
    )
