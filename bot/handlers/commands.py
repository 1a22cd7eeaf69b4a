"""Which command a message is, and to whom it is addressed: the one answer the guard and the handlers share.

A message is a command only when Telegram marked it so: a ``bot_command`` entity at offset 0 of the text, or of
a document's caption. That entity may sit anywhere in the entities list (a bold word can come first), and the
text alone never counts: if the guard and a handler decided this differently, a message could reach a handler
without passing the role check. ``/send@other_bot`` is a command for another bot, and none of ours.

Each update asks this several times (the guard twice, the command table, the handler for its arguments), so the
answer for the last few messages is kept: reading entities means decoding UTF-16, tens of microseconds a time.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from telegram import Message, MessageEntity
from telegram.ext import filters


@dataclass(frozen=True, slots=True)
class CommandCall:
    name: str  # lower case, without the slash or the @address
    addressee: str | None  # the username after @, as written; None when the command names no bot
    args: str  # everything after the command, newlines kept, outer whitespace stripped

    def is_for(self, bot_username: str | None) -> bool:
        """Unaddressed commands are for every bot in the chat; addressed ones only for the one named."""
        if self.addressee is None:
            return True
        return bot_username is not None and self.addressee.lower() == bot_username.lower()


# Messages are frozen, so an answer stays right; holding the message keeps its id from being reused meanwhile.
_RECENT_READS: OrderedDict[int, tuple[Message, CommandCall | None]] = OrderedDict()
_RECENT_READS_KEPT = 64  # more than the updates that run at once in any measured burst


def read_command(message: Message) -> CommandCall | None:
    """The command at the start of the message's text (or its caption), whoever it is addressed to."""
    seen = _RECENT_READS.get(id(message))
    if seen is not None and seen[0] is message:
        return seen[1]
    call = _read_command(message)
    _RECENT_READS[id(message)] = (message, call)
    if len(_RECENT_READS) > _RECENT_READS_KEPT:
        _RECENT_READS.popitem(last=False)
    return call


def _read_command(message: Message) -> CommandCall | None:
    caption = message.text is None
    text = message.caption if caption else message.text
    entities = message.caption_entities if caption else message.entities
    if not text:
        return None
    entity = next((e for e in entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0), None)
    if entity is None:
        return None
    # Entity lengths count UTF-16 code units; PTB's parse_* methods turn them into Python string slices.
    word = message.parse_caption_entity(entity) if caption else message.parse_entity(entity)
    if not word.startswith("/") or len(word) < 2:
        return None
    name, _, addressee = word[1:].partition("@")
    return CommandCall(name.lower(), addressee or None, text[len(word) :].strip())


def our_command(message: Message, bot_username: str | None) -> CommandCall | None:
    """The command when it is meant for this bot; None for plain messages and for other bots' commands."""
    call = read_command(message)
    return call if call is not None and call.is_for(bot_username) else None


class Command(filters.MessageFilter):
    """Messages (texts or captions) carrying a command for this bot; which one is the command table's business.

    Replaces ``CommandHandler``, which reads only texts and decides "is this a command" its own way.
    """

    def __init__(self) -> None:
        super().__init__(name="Command")

    def filter(self, message: Message) -> bool:
        return our_command(message, message.get_bot().username) is not None
