"""Sending a text to every admin chat (or one chat) through a Telegram bot: the ``AdminNotifier`` the alerts use."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

log = logging.getLogger(__name__)


class TelegramAdminNotifier:
    def __init__(self, bot: Bot, admin_ids: Callable[[], Awaitable[list[int]]]) -> None:
        self._bot = bot
        self._admin_ids = admin_ids

    async def to_admins(self, html: str) -> int:
        """Send to each admin chat; a chat that blocked the bot or vanished does not stop the others."""
        reached = 0
        for chat_id in await self._admin_ids():
            try:
                await self._bot.send_message(chat_id, html, parse_mode=ParseMode.HTML)
            except TelegramError as exc:
                log.warning("could not reach admin chat %s: %s", chat_id, exc)
                continue
            reached += 1
        return reached

    async def to_chat(self, chat_id: int, html: str) -> bool:
        """Send to one chat; a refusal (blocked, gone) is logged and reported as ``False``."""
        try:
            await self._bot.send_message(chat_id, html, parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.warning("could not reach chat %s: %s", chat_id, exc)
            return False
        return True
