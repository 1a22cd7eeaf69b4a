"""/quota: this chat's use today and its daily limit; admins set a chat's limit, switch it off, or reset it."""

from __future__ import annotations

from telegram import Update

from bot.context import SmsContext
from bot.formatting import plural
from bot.handlers.common import command_args, refusal, reply, sender_ids
from bot.ids import parse_chat_id, parse_id
from bot.services.errors import NotAllowedError, NotFoundError, UserInputError
from bot.services.quotas import QuotaStatus, Setting

USAGE = "/quota [<chat id> <units per day>|off|default]"
_MAX_UNITS = 10_000_000


async def quota_command(update: Update, context: SmsContext) -> None:
    """Show today's use and limit; ``/quota <chat> N|off|default`` (admins) changes a chat's limit."""
    message = update.effective_message
    if message is None:
        return
    chat_id, user_id = sender_ids(update)
    quotas = context.services.quotas
    words = command_args(message).split()
    try:
        if not words:
            await reply(update, status_text(await quotas.status(chat_id), own=True))
            return
        target = parse_chat_id(words[0])
        if target is None or len(words) > 2:
            raise UserInputError("Give a chat id, then a number of units per day, off or default.")
        if len(words) == 1:
            if not context.is_admin and target != chat_id:
                raise NotAllowedError("Only an admin chat can see another chat's quota.")
            if await context.services.access.role_of(target) is None:
                raise NotFoundError(f"Chat {target} is not allowed to use the bot, so it has no quota. /allow adds it.")
            await reply(update, status_text(await quotas.status(target), own=target == chat_id))
            return
        status = await quotas.set_limit(
            target, _setting(words[1]), by_chat_id=chat_id, by_user_id=user_id, caller_role=context.role
        )
    except UserInputError as exc:
        await reply(update, refusal(exc, USAGE))
        return
    await reply(update, "✅ Quota changed.\n" + status_text(status, own=target == chat_id))


def _setting(word: str) -> Setting:
    lowered = word.lower()
    if lowered == "off":
        return None
    if lowered == "default":
        return "default"
    units = parse_id(word)
    if units is None or units > _MAX_UNITS:
        raise UserInputError(f"{word!r} is not a number of units per day (or off, or default).")
    return units


def status_text(status: QuotaStatus, *, own: bool) -> str:
    whose = "This chat" if own else f"Chat <code>{status.chat_id}</code>"
    day = status.day.isoformat()
    if status.limit is None:
        return f"📊 {whose}: {plural(status.used, 'unit')} used today ({day}).\nDaily limit: none — {status.source}."
    return (
        f"📊 {whose}: {status.used:,} of {plural(status.limit, 'unit')} used today ({day}), "
        f"{status.remaining:,} left.\nDaily limit: {plural(status.limit, 'unit')} — {status.source}."
    )
