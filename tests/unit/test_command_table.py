"""The command table and the kept answers of ``read_command``: every command has its handler, and a kept answer
is never another message's (ids of freed messages are reused)."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from telegram import Chat, Message, MessageEntity

from bot.app import COMMAND_TABLE
from bot.handlers.commands import _read_command, read_command
from bot.permissions import COMMANDS

CHAT = Chat(1, Chat.PRIVATE)
WHEN = datetime(2026, 11, 28, tzinfo=UTC)


def command_message(text: str, message_id: int = 1) -> Message:
    """A text; when it starts with a slash, its first word carries a bot_command entity, as Telegram marks it."""
    word = text.split(maxsplit=1)[0] if text.startswith("/") else ""
    entities = [MessageEntity(MessageEntity.BOT_COMMAND, 0, len(word.encode("utf-16-le")) // 2)] if word else []
    return Message(message_id, WHEN, CHAT, text=text, entities=entities)


def test_every_command_of_the_permissions_has_a_handler() -> None:
    missing = [command.name for command in COMMANDS if command.name not in COMMAND_TABLE]
    assert missing == []


def test_a_message_read_twice_gives_the_same_answer() -> None:
    message = command_message("/Send 0712345678 hello")
    first = read_command(message)
    assert first is not None and first.name == "send" and first.args == "0712345678 hello"
    assert read_command(message) is first


def test_answers_kept_for_freed_messages_never_reach_new_ones() -> None:
    # Each message is dropped after it is read: the next one may get the same id, and must still be read anew.
    for index in range(300):
        name = ("balance", "status", "send")[index % 3]
        call = read_command(command_message(f"/{name} {index}", index))
        assert call is not None and (call.name, call.args) == (name, str(index))
        if index % 50 == 0:
            gc.collect()


# Telegram sends text, never lone surrogates (they have no UTF-16 length to put in an entity).
TEXTS = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(st.lists(st.one_of(TEXTS, TEXTS.map(lambda text: "/" + text)), min_size=1, max_size=80))
def test_kept_answers_agree_with_reading_anew(texts: list[str]) -> None:
    messages = [command_message(text, index) for index, text in enumerate(texts)]
    # Read in order, then again in reverse (some answers evicted by then, some kept): always the fresh reading.
    for message in [*messages, *reversed(messages)]:
        assert read_command(message) == _read_command(message)
