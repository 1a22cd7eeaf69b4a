"""``/claim <code>``: the first admin of a bot started without ADMIN_CHAT_IDS (``bot.services.first_admin``).

Only a chat without a role gets here (from the guard); a wrong code is then refused like any stranger.
"""

from __future__ import annotations

from telegram import Update

from bot.context import SmsContext
from bot.services.first_admin import ClaimOutcome

NO_ADMIN = (
    "🔒 This bot has no admin yet. At start-up it wrote a one-time code in its log: send "
    "<code>/claim &lt;code&gt;</code> from the chat that should be its admin. "
    "(Your chat id is <code>{chat_id}</code>.)"
)
WRONG_CODE = (
    "🔒 That is not the code in the bot's log. Look for the line “No admin yet: send /claim …” in the bot's log "
    "(it is new at each start) and send it from this chat."
)
GRANTED = (
    "✅ This chat is now the bot's admin (chat id <code>{chat_id}</code>). /help lists what you can do; "
    "<code>/allow &lt;chat id&gt;</code> lets other chats in."
)


async def claimed(update: Update, context: SmsContext, chat_id: int, code: str) -> bool:
    """True when ``code`` made this chat the admin (and it was told); False leaves the answer to the guard."""
    user = update.effective_user
    outcome = await context.services.access.first_admin.claim(
        chat_id=chat_id, user_id=None if user is None else user.id, code=code
    )
    message = update.effective_message
    if outcome is not ClaimOutcome.GRANTED:
        return False
    if message is not None:
        await message.reply_text(GRANTED.format(chat_id=chat_id))
    return True


def refusal_text(context: SmsContext, chat_id: int, command: str | None) -> str | None:
    """While there is no admin, what a stranger reads instead of "ask an admin"; None once there is one."""
    if not context.services.access.first_admin.is_open:
        return None
    return WRONG_CODE if command == "claim" else NO_ADMIN.format(chat_id=chat_id)
