"""Identities of the updates that may spend credit, and the words for a command typed while the bot was offline.

A message is known by its chat and message id (Telegram repeats a message under a new update id, never under a
new message id); a button press by its callback query id. Repeats are ignored quietly: one INFO line, no reply,
since the first delivery already answered (or is answering) the person.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import CallbackQuery, Message

from bot.services.requests import DuplicateRequest, RequestLog

log = logging.getLogger(__name__)


def message_key(message: Message) -> str:
    return f"msg:{message.chat_id}:{message.message_id}"


def query_key(query: CallbackQuery) -> str:
    return f"cbq:{query.id}"


def ignore_repeat(key: str) -> None:
    log.info("ignored a repeated delivery of update %s: it was already carried out", key)


def age_text(age: timedelta) -> str:
    """``12 min``, ``3 h 5 min``, ``2 days``: how long ago a command was typed, rounded down."""
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days = hours // 24
    return f"{days} day" if days == 1 else f"{days} days"


def stale_line(age: timedelta, question: str) -> str:
    return f"⏰ This command was sent {age_text(age)} ago, while the bot was offline: {question}"


async def remember_preview(requests: RequestLog, key: str, chat_id: int) -> None:
    """Record a command whose answer was a preview, once that preview is out: its repeat shows no second one
    (a second preview of a command already carried out would invite a second Send). A crash before this line lets
    the repeat show the preview after all, which spends nothing."""
    try:
        await requests.claim_preview(key, chat_id)
    except DuplicateRequest:
        ignore_repeat(key)  # two deliveries at once both showed a preview; only a Send press spends
