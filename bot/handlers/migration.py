"""A group upgraded to a supergroup gets a new chat id: its role, bulk jobs and history follow it.

Telegram says so twice: the old group's last message carries ``migrate_to_chat_id`` and the supergroup's first
one ``migrate_from_chat_id``; ``chat_migrated`` handles either (the second finds nothing left to move). A bot
that missed both (it was down, the updates expired) learns it when a send to the old id fails with
``ChatMigrated``: ``FollowingBot`` then moves the chat the same way and, for a new message, sends it to the new
id. Edits are not repeated there: message ids differ between the two chats.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import ChatMigrated
from telegram.ext import ApplicationHandlerStop, ExtBot

from bot.context import SmsContext
from bot.handlers.menus import set_chat_menu
from bot.runtime import Services

log = logging.getLogger(__name__)

ChatMoved = Callable[[int, int], Awaitable[None]]

# Methods that create a new message: sent again to the new id. Everything else only triggers the move.
_RESENDABLE = frozenset({"sendMessage", "sendDocument"})


async def follow_migration(bot: ExtBot[None], services: Services, old_chat_id: int, new_chat_id: int) -> None:
    """Move what the old id owns (audited, admins told) and give the supergroup its command menu."""
    move = await services.access.migrate(old_chat_id, new_chat_id)
    if move is not None and move.role_moved:
        await set_chat_menu(bot, new_chat_id, move.role)


async def chat_migrated(update: Update, context: SmsContext) -> None:
    """A migration service message: nobody sees anything; the admins are told when something moved."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id is not None:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    await follow_migration(context.bot, context.services, old, new)
    raise ApplicationHandlerStop  # a service message: nothing else to do with it


class FollowingBot(ExtBot[None]):
    """The application's bot: a call refused with ``ChatMigrated`` reports the move to the callback given to
    ``follow_moves`` (in ``post_init``, once the services exist) and a new message goes to the new id."""

    # ExtBot declares __slots__ and freezes public attributes; this one is protected and needs its own slot.
    __slots__ = ("_on_chat_moved",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_chat_moved: ChatMoved | None = None

    def follow_moves(self, on_chat_moved: ChatMoved) -> None:
        self._on_chat_moved = on_chat_moved

    async def _do_post(
        self,
        endpoint: str,
        data: JSONDict,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> bool | JSONDict | list[JSONDict]:
        timeouts = {
            "read_timeout": read_timeout,
            "write_timeout": write_timeout,
            "connect_timeout": connect_timeout,
            "pool_timeout": pool_timeout,
        }
        try:
            return await super()._do_post(endpoint, data, **timeouts)
        except ChatMigrated as moved:
            old = data.get("chat_id")
            if not isinstance(old, int) or self._on_chat_moved is None:
                raise
            try:
                await self._on_chat_moved(old, moved.new_chat_id)
            except Exception:
                log.exception("could not move chat %s to %s", old, moved.new_chat_id)
            if endpoint not in _RESENDABLE:
                raise
            log.info("chat %s is now %s; sending there", old, moved.new_chat_id)
            return await super()._do_post(endpoint, {**data, "chat_id": moved.new_chat_id}, **timeouts)
