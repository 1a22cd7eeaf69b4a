"""The authorization guard: runs before every other handler (group -1) and stops what a chat may not do.

Strangers get a polite refusal that shows their chat id (so an admin can /allow it), at most once per ten minutes
(``/start`` may show the id again once a minute), and the admins are told (``AccessService.refused``); the rest
of what a stranger sends is ignored. Known chats get their role put on the context, and a command or button their
role does not cover is refused here, so no handler needs its own check. "Which command is this" is decided by
``bot.handlers.commands``, the same function the handlers' filters use.

Not ours, so dropped before anything else, without a word: commands addressed to another bot, and messages of
Telegram's service account (posts a linked channel forwards into its discussion group are never commands).
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop

from bot.context import SmsContext
from bot.formatting import esc
from bot.handlers.claim import claimed, refusal_text
from bot.handlers.commands import our_command, read_command
from bot.permissions import COMMANDS_BY_NAME, may_use
from storage import Role

REFUSAL = (
    "🔒 This bot sends SMS for a private team, and this chat is not on its list.\n"
    "Your chat id is <code>{chat_id}</code>. Ask an admin to run <code>/allow {chat_id}</code> "
    "if you should have access."
)


TELEGRAM_SERVICE_USER_ID = 777000  # "Telegram": channel posts auto-forwarded to a linked group, service notices


def callback_command(data: str | None) -> str | None:
    """Buttons carry ``<action>:<command>:<token>``; the middle part is what the role must allow."""
    if not data:
        return None
    parts = data.split(":")
    return parts[1] if len(parts) >= 3 else None


async def guard(update: Update, context: SmsContext) -> None:
    """Strangers see their chat id and nothing else; members may only use their role's commands."""
    chat = update.effective_chat
    if chat is None:
        return
    message = update.effective_message
    query = update.callback_query
    if query is None and message is not None and not _may_be_for_us(message, context.bot.username):
        raise ApplicationHandlerStop
    services = context.services
    role = await services.access.role_of(chat.id)
    call = None
    if query is not None:
        command = callback_command(query.data)
    else:
        call = our_command(message, context.bot.username) if message is not None else None
        command = None if call is None else call.name
    if role is None:
        if command == "claim" and call is not None and await claimed(update, context, chat.id, call.args):
            raise ApplicationHandlerStop
        await _refuse(update, context, chat.id, command)
        raise ApplicationHandlerStop
    context.role = role
    if command is not None and command in COMMANDS_BY_NAME and not may_use(role, command):
        text = f"/{command} is not for {_role_phrase(role)}. /help lists what you can use."
        if query is not None:
            await query.answer(text, show_alert=True)
        elif message is not None:
            await message.reply_text(f"🔒 {esc(text)}")
        raise ApplicationHandlerStop


async def _refuse(update: Update, context: SmsContext, chat_id: int, command: str | None) -> None:
    chat = update.effective_chat
    user = update.effective_user
    message = update.effective_message
    query = update.callback_query
    private = chat is not None and chat.type == chat.PRIVATE
    if query is None and (message is None or (command is None and not private)):
        return  # group chatter that is not meant for the bot: stay quiet
    if query is not None:
        attempted = f"button {query.data}"
    else:
        attempted = (message.text or message.caption or "(no text)") if message is not None else "(unknown)"
    if command == "claim":
        attempted = "/claim with a wrong code"  # the guess itself is kept out of the audit and the alerts
    # Audited and reported before the answer, so the record exists by the time the stranger reads it.
    answer = await context.services.access.refused(
        chat_id=chat_id,
        user_id=None if user is None else user.id,
        name=_describe(update),
        attempted=attempted,
        asks_for_id=command in ("start", "help", "claim"),
    )
    if not answer:
        return  # answered a moment ago: a flood costs the role lookup above and nothing more
    if query is not None:
        await query.answer("This chat may not use this bot.", show_alert=True)
    elif message is not None:
        await message.reply_text(refusal_text(context, chat_id, command) or REFUSAL.format(chat_id=chat_id))


def _may_be_for_us(message: Message, bot_username: str) -> bool:
    """False for what the bot must ignore completely: another bot's command, a post Telegram itself relayed."""
    if message.from_user is not None and message.from_user.id == TELEGRAM_SERVICE_USER_ID:
        return False
    call = read_command(message)
    return call is None or call.is_for(bot_username)


def _describe(update: Update) -> str:
    chat = update.effective_chat
    user = update.effective_user
    parts = []
    if chat is not None and chat.title:
        parts.append(f"“{chat.title}” ({chat.type})")
    if user is not None:
        who = user.full_name + (f" @{user.username}" if user.username else "")
        parts.append(f"{who}, user id {user.id}")
    return "; ".join(parts) or "unknown"


def _role_phrase(role: Role) -> str:
    return {Role.ADMIN: "admins", Role.SENDER: "sender chats", Role.VIEWER: "viewer chats"}[role]
