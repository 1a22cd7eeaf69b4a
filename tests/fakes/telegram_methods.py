"""The Bot API as the fake serves it: every call dispatched and recorded; polling, callbacks, commands, files.

Message methods (send, edit, delete) live in ``telegram_messages``. Each method takes the normalised
parameters of one call and returns the ``result`` Telegram would, or raises ``ApiError`` worded as Telegram
words it. ``BotApi.call`` runs a method under the state lock so it sees one consistent state; only getUpdates
waits, and ``Condition.wait`` lets go of the lock while it holds the poll.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from tests.fakes.telegram_messages import MessageMethods
from tests.fakes.telegram_records import CallbackAnswer, RecordedRequest, Refusal
from tests.fakes.telegram_rules import COMMAND_RE, CONFLICT, MAX_DOWNLOAD, Params, int_param
from tests.fakes.telegram_state import TelegramState
from tests.fakes.telegram_webhook import refuse_polling_while_webhook, set_webhook, webhook_info
from tests.fakes.telegram_wire import ApiError, UploadedFile

Files = dict[str, UploadedFile]  # multipart file parts by field name
Method = Callable[[Params, Files], Any]


class BotApi:
    """Dispatches calls by method name (case-insensitive, like Telegram) and records each one."""

    def __init__(self, state: TelegramState) -> None:
        self.state = state
        messages = MessageMethods(state)
        methods: dict[str, Method] = {
            "getMe": self._get_me,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
            "sendMessage": messages.send_message,
            "sendDocument": messages.send_document,
            "sendPhoto": messages.send_photo,
            "sendChatAction": messages.send_chat_action,
            "editMessageText": messages.edit_message_text,
            "editMessageReplyMarkup": messages.edit_message_reply_markup,
            "deleteMessage": messages.delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getFile": self._get_file,
        }
        self._methods = {name.lower(): (name, method) for name, method in methods.items()}

    def canonical(self, method: str) -> str:
        """The method's name as the Bot API spells it (``sendmessage`` -> ``sendMessage``)."""
        return self._methods.get(method.lower(), (method, None))[0]

    def call(self, method: str, params: Params, files: Files) -> Any:
        state = self.state
        with state.lock:
            name, handler = self._methods.get(method.lower(), (method, None))
            state.requests.append(RecordedRequest(state.next_seq(), name, params, files))
            state.changed()
            chat_id = params.get("chat_id")
            hold = next((hold for hold in state.holds if hold.matches(name, chat_id)), None)
            if hold is not None:
                hold.catch()
        if hold is not None:
            hold.wait()  # a slow Telegram: the call is answered once the test releases it
        with state.lock:
            try:
                if handler is None:
                    # Telegram answers 404, which python-telegram-bot would report as an invalid token.
                    raise ApiError(400, f'Bad Request: method "{method}" is not implemented by the fake server')
                queued = state.failures.get(name)
                if queued:
                    raise queued.popleft()
                if isinstance(chat_id, int) and chat_id in state.blocked:
                    raise ApiError(403, "Forbidden: bot was blocked by the user")
                if isinstance(chat_id, int) and chat_id in state.migrated:
                    raise ApiError(
                        400,
                        "Bad Request: group chat was upgraded to a supergroup chat",
                        migrate_to_chat_id=state.migrated[chat_id],
                    )
                return handler(params, files)
            except ApiError as error:
                chat = chat_id if isinstance(chat_id, int) else None
                state.refusals.append(Refusal(state.next_seq(), name, chat, error.status, error.description))
                state.changed()
                raise

    # --- start-up and polling ----------------------------------------------------------------------------

    def _get_me(self, params: Params, files: Files) -> Any:
        return {**self.state.bot_json(), "can_join_groups": True, "can_read_all_group_messages": False}

    def _set_webhook(self, params: Params, files: Files) -> Any:
        return set_webhook(self.state, params)

    def _delete_webhook(self, params: Params, files: Files) -> Any:
        self.state.webhook = None
        if params.get("drop_pending_updates") is True:
            self.state.updates.clear()
        return True

    def _get_webhook_info(self, params: Params, files: Files) -> Any:
        return webhook_info(self.state)

    def _get_updates(self, params: Params, files: Files) -> Any:
        state = self.state
        refuse_polling_while_webhook(state)
        offset = int_param(params, "offset", 0)
        limit = min(max(int_param(params, "limit", 100), 1), 100)
        timeout = params.get("timeout") or 0
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ApiError(400, 'Bad Request: field "timeout" must be of type Integer')
        timeout = max(float(timeout), 0.0)
        # Like Telegram, a newer getUpdates ends an older one still held (its client may be long gone).
        state.poll_generation += 1
        generation = state.poll_generation
        state.changed()
        if offset > 0:
            state.updates = [update for update in state.updates if update["update_id"] >= offset]
        elif offset < 0:
            state.updates = state.updates[offset:]
        deadline = time.monotonic() + timeout
        while True:
            if generation != state.poll_generation:
                raise ApiError(409, CONFLICT)
            remaining = deadline - time.monotonic()
            if state.updates or state.closed or remaining <= 0:
                return state.updates[:limit]
            state.lock.wait(remaining)

    def _answer_callback_query(self, params: Params, files: Files) -> Any:
        state = self.state
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in state.open_queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        state.open_queries.discard(query_id)
        answer = CallbackAnswer(state.next_seq(), query_id, text, params.get("show_alert") is True, params.get("url"))
        state.answers.append(answer)
        state.changed()
        return True

    # --- commands and files ------------------------------------------------------------------------------

    @staticmethod
    def scope_key(params: Params) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: Params, files: Files) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            if not isinstance(name, str) or not COMMAND_RE.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not str(command.get("description") or "").strip():
                raise ApiError(400, "Bad Request: command description is empty")
        cleaned = [{"command": c["command"], "description": c["description"]} for c in commands]
        self.state.commands[self.scope_key(params)] = cleaned
        return True

    def _get_my_commands(self, params: Params, files: Files) -> Any:
        return self.state.commands.get(self.scope_key(params), [])

    def _delete_my_commands(self, params: Params, files: Files) -> Any:
        self.state.commands.pop(self.scope_key(params), None)
        return True

    def _get_file(self, params: Params, files: Files) -> Any:
        state = self.state
        stored = state.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        path = next((p for p, file_id in state.file_paths.items() if file_id == stored.file_id), None)
        if path is None:
            suffix = PurePosixPath(stored.file_name).suffix
            path = f"documents/file_{len(state.file_paths)}{suffix}"
            state.file_paths[path] = stored.file_id
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": path,
        }
