"""One handler for every command: the command is read once and looked up in a table.

With one ``MessageHandler`` per command, python-telegram-bot asks each handler's filter in turn, and every filter
reads the message again: ``/scheduled`` went through nineteen of them. The table answers with one lookup, and a
command it does not have goes to the ``unknown`` handler, as the catch-all handler did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from telegram import Update

from bot.context import SmsContext
from bot.handlers.commands import our_command

CommandCallback = Callable[[Update, SmsContext], Awaitable[None]]


class CommandTable:
    def __init__(self, handlers: Mapping[str, CommandCallback], unknown: CommandCallback) -> None:
        self._handlers = {name.lower(): handler for name, handler in handlers.items()}
        self._unknown = unknown

    def __contains__(self, name: str) -> bool:
        return name in self._handlers

    async def __call__(self, update: Update, context: SmsContext) -> None:
        message = update.effective_message
        call = None if message is None else our_command(message, context.bot.username)
        handler = self._unknown if call is None else self._handlers.get(call.name, self._unknown)
        await handler(update, context)
