"""Everything the fake Telegram knows (chats, users, messages, files, pending updates) behind one lock.

The HTTP threads that serve the bot and the test that plays the user both change this state, so every read and
write happens under ``lock``; ``changed()`` wakes held getUpdates calls and the tests' async waiters. The
user's side (writing, sending a document, pressing a button) lives here too because it is just more state:
a message stored and an update queued.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram_holds import Hold
from tests.fakes.telegram_html import utf16_len
from tests.fakes.telegram_records import (
    CallbackAnswer,
    RecordedRequest,
    Refusal,
    SentMessage,
    StoredFile,
)
from tests.fakes.telegram_wire import ApiError


@dataclass(frozen=True)
class BotUser:
    """The bot as getMe describes it."""

    id: int
    username: str
    first_name: str


def _command_entities(text: str) -> list[dict[str, Any]]:
    """A bot_command entity at offset 0 when the text starts with '/', as Telegram marks commands."""
    if not text.startswith("/"):
        return []
    command = text.split(None, 1)[0]
    if len(command) < 2:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]


class TelegramState:
    """Shared state; every attribute is guarded by ``lock`` (reentrant, so helpers can nest)."""

    def __init__(self, token: str, bot_user: BotUser) -> None:
        self.token = token
        self.bot_user = bot_user
        self.lock = threading.Condition(threading.RLock())
        self.closed = False
        self.seq = 0
        self.updates: list[dict[str, Any]] = []  # not yet confirmed by a getUpdates offset
        self.history: dict[int, dict[str, Any]] = {}  # every update ever queued, by update_id (redeliver)
        self.next_update_id = 1
        self.poll_generation = 0
        self.chats: dict[int, dict[str, Any]] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.last_message_id: dict[int, int] = {}
        self.user_messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.bot_messages: dict[tuple[int, int], SentMessage] = {}
        self.message_log: list[SentMessage] = []  # every new or edited version, in order
        self.requests: list[RecordedRequest] = []
        self.refusals: list[Refusal] = []
        self.answers: list[CallbackAnswer] = []
        self.open_queries: set[str] = set()
        self.files: dict[str, StoredFile] = {}
        self.file_paths: dict[str, str] = {}  # file_path -> file_id, once getFile handed it out
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}  # old group id -> its supergroup's id
        self.failures: dict[str, deque[ApiError]] = {}
        self.holds: list[Hold] = []
        self.listeners: dict[int, Callable[[], None]] = {}
        self.webhook: Any = None  # a telegram_webhook.WebhookRecord while a webhook is set
        self._counter = 0

    # --- bookkeeping -------------------------------------------------------------------------------------

    def next_seq(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq

    def unique(self) -> int:
        with self.lock:
            self._counter += 1
            return self._counter

    def changed(self) -> None:
        """Wake held long polls and async waiters; they re-check what they wait for."""
        with self.lock:
            self.lock.notify_all()
            for wake in list(self.listeners.values()):
                wake()

    def next_message_id(self, chat_id: int) -> int:
        with self.lock:
            self.last_message_id[chat_id] = self.last_message_id.get(chat_id, 0) + 1
            return self.last_message_id[chat_id]

    # --- JSON as Telegram sends it -----------------------------------------------------------------------

    def chat_json(self, chat_id: int) -> dict[str, Any]:
        with self.lock:
            known = self.chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        return {"id": chat_id, "type": "group", "title": f"Chat {chat_id}"}

    def bot_json(self) -> dict[str, Any]:
        user = self.bot_user
        return {"id": user.id, "is_bot": True, "first_name": user.first_name, "username": user.username}

    def message_json(self, chat_id: int, message_id: int, *, nested: bool = True) -> dict[str, Any] | None:
        """A stored message (the user's or the bot's current version) as it appears inside an update."""
        with self.lock:
            user_message = self.user_messages.get((chat_id, message_id))
            if user_message is not None:
                return dict(user_message)
            sent = self.bot_messages.get((chat_id, message_id))
            if sent is None or sent.deleted:
                return None
            return self.sent_json(sent, nested=nested)

    def sent_json(self, sent: SentMessage, *, nested: bool = True) -> dict[str, Any]:
        with self.lock:
            return self._sent_json(sent, nested=nested)

    def _sent_json(self, sent: SentMessage, *, nested: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": sent.date,
            "chat": self.chat_json(sent.chat_id),
            "from": self.bot_json(),
        }
        entities = [entity.to_json() for entity in sent.entities]
        if sent.document is not None or sent.photo is not None:
            if sent.document is not None:
                data["document"] = self.document_json(self.files[sent.document.file_id])
            if sent.photo is not None:
                data["photo"] = [photo_size_json(self.files[sent.photo.file_id])]
            if sent.text:
                data["caption"] = sent.text
                if entities:
                    data["caption_entities"] = entities
        else:
            data["text"] = sent.text
            if entities:
                data["entities"] = entities
        if sent.reply_markup is not None and "inline_keyboard" in sent.reply_markup:
            data["reply_markup"] = sent.reply_markup
        if sent.edited:
            data["edit_date"] = int(time.time())
        if nested and sent.reply_to_message_id is not None:
            replied = self.message_json(sent.chat_id, sent.reply_to_message_id, nested=False)
            if replied is not None:
                data["reply_to_message"] = replied
        return data

    @staticmethod
    def document_json(stored: StoredFile) -> dict[str, Any]:
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_size": len(stored.content),
        }

    def store_file(self, file_name: str, mime_type: str, content: bytes) -> StoredFile:
        number = self.unique()
        stored = StoredFile(f"BQACAgIAAxkB{number:08d}", f"AgAD{number:06d}", file_name, mime_type, content)
        with self.lock:
            self.files[stored.file_id] = stored
        return stored

    # --- the user's side ---------------------------------------------------------------------------------

    def _sender(
        self,
        chat_id: int,
        user_id: int | None,
        chat_type: str,
        first_name: str,
        username: str | None,
        title: str | None,
        from_user: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if from_user is not None:
            # Someone Telegram itself names: GroupAnonymousBot (1087968824) for an anonymous admin, the service
            # account 777000 for a linked channel's posts.
            user_id = int(from_user["id"])
        if user_id is None:
            if chat_type != "private":
                raise ValueError(f"user_id is required for a {chat_type} chat")
            user_id = chat_id
        user = from_user or {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "username": username or f"user{user_id}",
        }
        if chat_type == "private":
            chat = {"id": chat_id, "type": "private", "first_name": first_name, "username": user.get("username")}
        else:
            chat = {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}
        with self.lock:
            self.users[user_id] = user
            self.chats[chat_id] = chat
        return user

    def user_message(
        self,
        chat_id: int,
        content: dict[str, Any],
        *,
        user_id: int | None,
        chat_type: str,
        first_name: str,
        username: str | None,
        title: str | None,
        reply_to_message_id: int | None,
        sender_chat: dict[str, Any] | None = None,
        from_user: dict[str, Any] | None = None,
        date: int | None = None,
    ) -> int:
        """Store a message from the user and queue the update announcing it; returns its message_id.

        ``sender_chat`` marks a message sent on behalf of a chat (an anonymous admin: the group itself; a linked
        channel); ``from_user`` replaces the sender (the placeholder accounts Telegram uses then). ``date`` (Unix
        seconds) backdates it, like a command typed while the bot was offline.
        """
        with self.lock:
            user = self._sender(chat_id, user_id, chat_type, first_name, username, title, from_user)
            message_id = self.next_message_id(chat_id)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()) if date is None else date,
                "chat": self.chat_json(chat_id),
                "from": user,
                **content,
            }
            if sender_chat is not None:
                message["sender_chat"] = sender_chat
            if reply_to_message_id is not None:
                replied = self.message_json(chat_id, reply_to_message_id, nested=False)
                if replied is None:
                    raise AssertionError(f"chat {chat_id} has no message {reply_to_message_id} to reply to")
                message["reply_to_message"] = replied
            self.user_messages[(chat_id, message_id)] = message
            self.queue_update({"message": message})
            return message_id

    def text_content(self, text: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """``entities`` replaces the bot_command entity Telegram would mark (``[]``: none at all)."""
        if entities is None:
            entities = _command_entities(text)
        return {"text": text, **({"entities": entities} if entities else {})}

    def document_content(
        self, stored: StoredFile, caption: str | None, entities: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        content: dict[str, Any] = {"document": self.document_json(stored)}
        if caption is not None:
            content["caption"] = caption
            if entities is None:
                entities = _command_entities(caption)
            if entities:
                content["caption_entities"] = entities
        return content

    def press_button(self, chat_id: int, message_id: int, callback_data: str, user_id: int | None) -> str:
        """Queue a callback query for a button that the message shows right now."""
        with self.lock:
            sent = self.bot_messages.get((chat_id, message_id))
            if sent is None or sent.deleted:
                raise AssertionError(f"chat {chat_id} shows no bot message {message_id} to press a button on")
            if callback_data not in {button.callback_data for button in sent.buttons}:
                raise AssertionError(
                    f"message {message_id} in chat {chat_id} shows no button with callback_data "
                    f"{callback_data!r}; it shows: {sent.describe()}"
                )
            if user_id is None:
                user_id = chat_id if chat_id > 0 else None
            if user_id is None:
                raise ValueError("user_id is required to press a button in a group chat")
            user = self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "Test"}
            query_id = str(4_000_000_000_000 + self.unique())
            self.open_queries.add(query_id)
            query = {
                "id": query_id,
                "from": user,
                "chat_instance": str(-abs(chat_id) * 1000 - 7),
                "data": callback_data,
                "message": self.sent_json(sent),
            }
            self.queue_update({"callback_query": query})
            return query_id

    def queue_update(self, payload: dict[str, Any]) -> int:
        with self.lock:
            update = {"update_id": self.next_update_id, **payload}
            self.updates.append(update)
            self.history[self.next_update_id] = update
            self.next_update_id += 1
            self.next_seq()
            self.changed()
            return int(update["update_id"])

    def redeliver(self, update_id: int, *, as_new: bool = False) -> int:
        """Queue a past update again, payload identical; returns the update_id it now has.

        By default under its own id: Telegram "forgot" the confirmation, so a bot that starts again at offset 0
        receives it once more (a running bot, already past that offset, would not). ``as_new`` queues it under
        a fresh id instead, which a running bot does receive: the same message delivered twice.
        """
        with self.lock:
            if update_id not in self.history:
                raise AssertionError(f"no update {update_id} was ever queued")
            payload = {key: value for key, value in self.history[update_id].items() if key != "update_id"}
            if as_new:
                return self.queue_update(payload)
            if all(update["update_id"] != update_id for update in self.updates):
                self.updates.append(self.history[update_id])
                self.updates.sort(key=lambda update: int(update["update_id"]))
            self.next_seq()
            self.changed()
            return update_id

    def update_id_of(self, *, chat_id: int, message_id: int | None = None, query_id: str | None = None) -> int:
        """The update that first announced a user's message (chat and message id) or a button press (query id)."""
        with self.lock:
            for update_id, update in self.history.items():
                message = update.get("message")
                if message is not None and (message["chat"]["id"], message["message_id"]) == (chat_id, message_id):
                    return update_id
                query = update.get("callback_query")
                if query is not None and query["id"] == query_id:
                    return update_id
        raise AssertionError(f"no update for chat {chat_id}, message {message_id}, query {query_id}")


def png_size(content: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk, or None when ``content`` is not a PNG."""
    if len(content) < 24 or not content.startswith(b"\x89PNG\r\n\x1a\n") or content[12:16] != b"IHDR":
        return None
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


def photo_size_json(stored: StoredFile) -> dict[str, Any]:
    """The one ``PhotoSize`` the fake keeps of a photo (Telegram adds smaller ones; none of ours reads them)."""
    width, height = png_size(stored.content) or (0, 0)
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": width,
        "height": height,
        "file_size": len(stored.content),
    }
