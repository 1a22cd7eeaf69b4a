"""Sending a text to every admin chat (or one chat) through a Telegram bot: the ``AdminNotifier`` the alerts use."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.services.alerts import Buttons

log = logging.getLogger(__name__)


class TelegramAdminNotifier:
    def __init__(self, bot: Bot, admin_ids: Callable[[], Awaitable[list[int]]]) -> None:
        self._bot = bot
        self._admin_ids = admin_ids

    async def to_admins(self, html: str) -> int:
        """Send to each admin chat; a chat that blocked the bot or vanished does not stop the others."""
        return len(await self.post_to_admins(html, ()))

    async def to_chat(self, chat_id: int, html: str) -> bool:
        """Send to one chat; a refusal (blocked, gone) is logged and reported as ``False``."""
        try:
            await self._bot.send_message(chat_id, html, parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.warning("could not reach chat %s: %s", chat_id, exc)
            return False
        return True

    async def post_to_admins(self, html: str, buttons: Buttons) -> list[tuple[int, int]]:
        """Send to each admin chat with the buttons; (chat id, message id) of each post that arrived."""
        posts = []
        for chat_id in await self._admin_ids():
            try:
                message = await self._bot.send_message(
                    chat_id, html, parse_mode=ParseMode.HTML, reply_markup=_markup(buttons)
                )
            except TelegramError as exc:
                log.warning("could not reach admin chat %s: %s", chat_id, exc)
                continue
            posts.append((chat_id, message.message_id))
        return posts

    async def edit_post(self, chat_id: int, message_id: int, html: str, buttons: Buttons) -> bool:
        """Edit one post; "not modified" is success, a post deleted or a chat gone is logged and ``False``."""
        try:
            await self._bot.edit_message_text(
                html, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML, reply_markup=_markup(buttons)
            )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            log.warning("could not edit the alert post %s in chat %s: %s", message_id, chat_id, exc)
            return False
        except TelegramError as exc:
            log.warning("could not edit the alert post %s in chat %s: %s", message_id, chat_id, exc)
            return False
        return True


def _markup(buttons: Buttons) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in buttons]
    )
