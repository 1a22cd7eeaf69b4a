"""Telegram's command menus: strangers see /start and /help, each allowed chat the commands of its role."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.permissions import commands_for
from bot.runtime import Services
from storage import Role

log = logging.getLogger(__name__)


def menu_for(role: Role) -> list[BotCommand]:
    return [BotCommand(command.name, command.description) for command in commands_for(role)]


async def register_command_menus(bot: ExtBot[None], services: Services) -> None:
    """Strangers see /start and /help; every known chat sees the commands of its role."""
    await bot.set_my_commands(
        [BotCommand("start", "What this bot does"), BotCommand("help", "Commands you can use here")],
        scope=BotCommandScopeDefault(),
    )
    for record in await services.access.chats():
        await set_chat_menu(bot, record.chat_id, record.role)


async def set_chat_menu(bot: ExtBot[None], chat_id: int, role: Role | None) -> None:
    try:
        if role is None:
            await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
        else:
            await bot.set_my_commands(menu_for(role), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        # A chat the bot has not met yet cannot have a menu; it gets one the next time its role changes.
        log.info("no command menu for chat %s: %s", chat_id, exc)
