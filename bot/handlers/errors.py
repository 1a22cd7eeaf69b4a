"""The last line of defence: any exception a handler raises is answered briefly and reported to the admins."""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import Conflict, NetworkError, TelegramError

from bot.context import SmsContext
from bot.handlers.common import command_name

log = logging.getLogger(__name__)

USER_APOLOGY = (
    "⚠️ Sorry, something went wrong on our side while doing that. The admins have been told. "
    "Check /status before trying again."
)


async def on_error(update: object, context: SmsContext) -> None:
    """Tell the user in one line, tell the admins what failed where, and never crash the bot."""
    error = context.error
    if error is None:
        return
    if update is None and isinstance(error, NetworkError) and not isinstance(error, Conflict):
        # Telegram itself could not be reached while polling: PTB retries; the admins could not be told anyway.
        log.warning("polling Telegram failed: %s", error)
        return
    log.error("error while handling an update", exc_info=error)
    chat_id = user_id = None
    where = "a background task" if update is None else "an update"
    if isinstance(update, Update):
        chat_id = update.effective_chat.id if update.effective_chat else None
        user_id = update.effective_user.id if update.effective_user else None
        where = _describe(update)
        await _apologise(update)
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    try:
        await context.services.alerts.handler_error(where, details, chat_id=chat_id, user_id=user_id)
    except Exception:
        log.exception("could not report an error to the admins")


def _describe(update: Update) -> str:
    if update.callback_query is not None:
        return f"button {update.callback_query.data or ''}"
    message = update.effective_message
    name = command_name(message) if message is not None else None
    return f"/{name}" if name else "a message"


async def _apologise(update: Update) -> None:
    if update.callback_query is not None:
        try:
            await update.callback_query.answer("Something went wrong; the admins have been told.", show_alert=True)
            return
        except TelegramError:
            pass  # already answered ("Sending…") before the failure: say it in the chat instead
    try:
        if update.effective_chat is not None:
            await update.effective_chat.send_message(USER_APOLOGY)
    except TelegramError:
        log.warning("could not tell the user about an error", exc_info=True)
