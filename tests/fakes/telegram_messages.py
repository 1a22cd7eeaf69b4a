"""Bot messages: sending, editing and deleting them, with Telegram's checks on text, captions and keyboards.

Each method records the message's new state as an immutable ``SentMessage`` version (edits keep the earlier
versions in ``history``), which is what tests read and wait on. Called under the state lock by ``BotApi``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from tests.fakes.telegram_html import ParsedText
from tests.fakes.telegram_records import MessageVersion, SentDocument, SentMessage
from tests.fakes.telegram_rules import (
    NOT_MODIFIED,
    Params,
    chat_id_param,
    check_markup,
    format_text,
    inline_markup,
    message_id_param,
)
from tests.fakes.telegram_state import TelegramState, png_size
from tests.fakes.telegram_wire import ApiError, UploadedFile

Files = dict[str, UploadedFile]
# Telegram's limit for a photo sent by upload.
MAX_PHOTO_BYTES = 10 * 1024 * 1024


class MessageMethods:
    """sendMessage, sendDocument, sendPhoto, sendChatAction, editMessageText, editMessageReplyMarkup, deleteMessage."""

    def __init__(self, state: TelegramState) -> None:
        self.state = state

    def _record(self, sent: SentMessage) -> Any:
        state = self.state
        state.bot_messages[(sent.chat_id, sent.message_id)] = sent
        state.message_log.append(sent)
        state.changed()
        return state.sent_json(sent)

    def _reply_target(self, chat_id: int, params: Params) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id, allow = reply.get("message_id"), reply.get("allow_sending_without_reply")
        else:
            message_id, allow = params.get("reply_to_message_id"), params.get("allow_sending_without_reply")
        if not isinstance(message_id, int):
            return None
        if self.state.message_json(chat_id, message_id, nested=False) is None:
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return message_id

    def send_message(self, params: Params, files: Files) -> Any:
        chat_id = chat_id_param(params)
        text = params.get("text")
        parsed = format_text(str(text or ""), params.get("parse_mode"), params.get("entities"), caption=False)
        markup = check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat_id, params)
        state = self.state
        sent = SentMessage(
            seq=state.next_seq(),
            chat_id=chat_id,
            message_id=state.next_message_id(chat_id),
            html=str(text),
            text=parsed.text,
            entities=parsed.entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            document=None,
            date=int(time.time()),
            reply_to_message_id=reply_to,
        )
        return self._record(sent)

    def send_document(self, params: Params, files: Files) -> Any:
        state = self.state
        chat_id = chat_id_param(params)
        document = params.get("document")
        upload = files.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            upload = files.get(document.removeprefix("attach://"))
        if upload is not None:
            stored = state.store_file(upload.file_name, upload.content_type, upload.content)
        elif isinstance(document, str) and document in state.files:
            stored = state.files[document]
        elif document is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = params.get("caption")
        parsed = ParsedText("")
        if caption is not None:
            parsed = format_text(str(caption), params.get("parse_mode"), params.get("caption_entities"), caption=True)
        markup = check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat_id, params)
        sent = SentMessage(
            seq=state.next_seq(),
            chat_id=chat_id,
            message_id=state.next_message_id(chat_id),
            html=str(caption or ""),
            text=parsed.text,
            entities=parsed.entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            document=SentDocument(stored.file_id, stored.file_name, stored.mime_type, stored.content, caption),
            date=int(time.time()),
            reply_to_message_id=reply_to,
        )
        return self._record(sent)

    def send_photo(self, params: Params, files: Files) -> Any:
        """An uploaded PNG only (the bot sends nothing else), checked the way Telegram checks photos."""
        state = self.state
        chat_id = chat_id_param(params)
        photo = params.get("photo")
        upload = files.get("photo")
        if isinstance(photo, str) and photo.startswith("attach://"):
            upload = files.get(photo.removeprefix("attach://"))
        if upload is None:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if len(upload.content) > MAX_PHOTO_BYTES:
            raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
        size = png_size(upload.content)
        if size is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10_000 or min(width, height) == 0 or max(width, height) > 20 * min(width, height):
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        stored = state.store_file(upload.file_name or "photo.png", "image/png", upload.content)
        caption = params.get("caption")
        parsed = ParsedText("")
        if caption is not None:
            parsed = format_text(str(caption), params.get("parse_mode"), params.get("caption_entities"), caption=True)
        sent = SentMessage(
            seq=state.next_seq(),
            chat_id=chat_id,
            message_id=state.next_message_id(chat_id),
            html=str(caption or ""),
            text=parsed.text,
            entities=parsed.entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=check_markup(params.get("reply_markup")),
            document=None,
            date=int(time.time()),
            reply_to_message_id=self._reply_target(chat_id, params),
            photo=SentDocument(stored.file_id, stored.file_name, stored.mime_type, stored.content, caption),
        )
        return self._record(sent)

    def send_chat_action(self, params: Params, files: Files) -> Any:
        chat_id_param(params)
        if not params.get("action"):
            raise ApiError(400, "Bad Request: action is empty")
        return True

    def _editable(self, params: Params) -> SentMessage:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: inline messages are not supported by the fake server")
        chat_id, message_id = chat_id_param(params), message_id_param(params)
        sent = self.state.bot_messages.get((chat_id, message_id))
        if sent is None or sent.deleted:
            if (chat_id, message_id) in self.state.user_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return sent

    def _edit(self, sent: SentMessage, html: str, parsed: ParsedText, parse_mode: Any, markup: Any) -> Any:
        unchanged = parsed.text == sent.text and parsed.entities == sent.entities
        if unchanged and inline_markup(markup) == inline_markup(sent.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        version = MessageVersion(sent.seq, sent.html, sent.text, sent.entities, sent.reply_markup)
        edited = replace(
            sent,
            seq=self.state.next_seq(),
            html=html,
            text=parsed.text,
            entities=parsed.entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            history=(*sent.history, version),
        )
        return self._record(edited)

    def edit_message_text(self, params: Params, files: Files) -> Any:
        sent = self._editable(params)
        if sent.document is not None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = str(params.get("text") or "")
        parsed = format_text(text, params.get("parse_mode"), params.get("entities"), caption=False)
        # Leaving reply_markup out of an edit removes the keyboard, as on Telegram.
        markup = check_markup(params.get("reply_markup"))
        return self._edit(sent, text, parsed, params.get("parse_mode"), markup)

    def edit_message_reply_markup(self, params: Params, files: Files) -> Any:
        sent = self._editable(params)
        markup = check_markup(params.get("reply_markup"))
        parsed = ParsedText(sent.text, sent.entities)
        return self._edit(sent, sent.html, parsed, sent.parse_mode, markup)

    def delete_message(self, params: Params, files: Files) -> Any:
        state = self.state
        key = (chat_id_param(params), message_id_param(params))
        sent = state.bot_messages.get(key)
        if sent is not None and not sent.deleted:
            state.bot_messages[key] = replace(sent, seq=state.next_seq(), deleted=True)
            state.changed()
            return True
        if state.user_messages.pop(key, None) is not None:
            return True
        raise ApiError(400, "Bad Request: message to delete not found")
