"""/start, /help and the answer to commands nobody knows."""

from __future__ import annotations

from telegram import Update

from bot.context import SmsContext
from bot.formatting import esc
from bot.handlers.common import command_name, reply
from bot.permissions import commands_for
from storage import Role

INTRO = (
    "📨 <b>smsrelay</b> sends SMS to Kenyan mobile numbers and keeps track of them.\n"
    "This chat is <b>{role}</b> (chat id <code>{chat_id}</code>).\n\n"
    "Commands you can use:\n{commands}"
)

EXAMPLES = {
    Role.ADMIN: "\n\nExamples:\n<code>/send 0712345678 Server back up</code>\n"
    "<code>/bulk 0712345678, 0722000000\nMaintenance tonight at 22:00</code>\n"
    "<code>/allow -1001234567890 viewer</code>",
    Role.SENDER: "\n\nExamples:\n<code>/send 0712345678 Server back up</code>\n"
    "<code>/bulk 0712345678, 0722000000\nMaintenance tonight at 22:00</code>\n"
    "Or send a CSV/TXT file of numbers with the caption <code>/bulk your message</code>.",
    Role.VIEWER: "",
}


async def start(update: Update, context: SmsContext) -> None:
    """What the bot does and the commands this chat's role may use."""
    chat = update.effective_chat
    role = context.role
    if chat is None or role is None:
        return
    lines = [f"{esc(c.usage)} — {esc(c.description)}" for c in commands_for(role)]
    text = INTRO.format(role=role.value, chat_id=chat.id, commands="\n".join(lines)) + EXAMPLES[role]
    if role in (Role.ADMIN, Role.SENDER) and len(context.services.providers) > 1:
        names = ", ".join(p.name.value for p in context.services.providers)
        default = context.services.providers.default.value
        text += (
            f"\n\nProviders: {names} (default {default}). Choose one with <code>via:name</code> after /send or /bulk."
        )
    await reply(update, text)


async def unknown_command(update: Update, context: SmsContext) -> None:
    """A command the bot does not have: say so and point to /help."""
    message = update.effective_message
    name = command_name(message) if message is not None else None
    await reply(update, f"⚠️ Unknown command /{esc(name or '')}. /help lists what you can use here.")
