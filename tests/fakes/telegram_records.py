"""What the fake Telegram server recorded, as immutable values that tests can hold and compare.

Every record carries ``seq``, the server-wide sequence number at which it happened, so a test can take
``mark()`` before acting and look only at what came after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram_html import Entity
from tests.fakes.telegram_wire import UploadedFile


@dataclass(frozen=True)
class Button:
    """One inline keyboard button as the user sees it."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class SentDocument:
    """A document the bot sent: the bytes as uploaded and the caption as written (HTML if parse_mode was)."""

    file_id: str
    file_name: str
    mime_type: str
    content: bytes
    caption: str | None


@dataclass(frozen=True)
class MessageVersion:
    """An earlier state of an edited bot message."""

    seq: int
    html: str
    text: str
    entities: tuple[Entity, ...]
    reply_markup: Mapping[str, Any] | None


@dataclass(frozen=True)
class SentMessage:
    """One bot message in its state at ``seq``: new, edited (``history`` holds what it was) or deleted.

    ``html`` is the text (or a document's caption) exactly as the bot sent it; ``text`` is what the user
    reads, entities parsed and surrounding whitespace trimmed as Telegram does.
    """

    seq: int
    chat_id: int
    message_id: int
    html: str
    text: str
    entities: tuple[Entity, ...]
    parse_mode: str | None
    reply_markup: Mapping[str, Any] | None
    document: SentDocument | None
    date: int
    reply_to_message_id: int | None = None
    history: tuple[MessageVersion, ...] = ()
    deleted: bool = False
    photo: SentDocument | None = None  # a sendPhoto upload (``document`` stays None), caption in ``html``

    @property
    def edited(self) -> bool:
        return bool(self.history)

    @property
    def buttons(self) -> tuple[Button, ...]:
        """Every inline keyboard button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return tuple(
            Button(button.get("text", ""), button.get("callback_data"), button.get("url"))
            for row in rows
            for button in row
        )

    def describe(self) -> str:
        """One readable line for failure messages."""
        state = " (deleted)" if self.deleted else " (edited)" if self.edited else ""
        line = f"#{self.message_id} [seq {self.seq}]{state}: {self.text!r}"
        if self.document is not None:
            line += f" document={self.document.file_name!r} ({len(self.document.content)} bytes)"
        if self.photo is not None:
            line += f" photo={self.photo.file_name!r} ({len(self.photo.content)} bytes)"
        if self.buttons:
            line += " buttons=" + ", ".join(f"[{b.text} -> {b.callback_data or b.url}]" for b in self.buttons)
        return line


@dataclass(frozen=True)
class RecordedRequest:
    """One Bot API call as received, parameters normalised (``chat_id`` is an int whatever the encoding)."""

    seq: int
    method: str
    params: Mapping[str, Any]
    files: Mapping[str, UploadedFile]

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None


@dataclass(frozen=True)
class Refusal:
    """A call the server answered with an error, injected or not; shown when a wait times out."""

    seq: int
    method: str
    chat_id: int | None
    status: int
    description: str


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery for a button press."""

    seq: int
    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(frozen=True)
class StoredFile:
    """A file Telegram holds: sent by a user (``send_document``) or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str
    content: bytes
