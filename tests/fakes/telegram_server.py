"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests, benchmarks and crash tests.

The real python-telegram-bot ``Application`` talks to it over HTTP (``base_url`` / ``base_file_url``), so the
library's own request code, long polling and file downloads are exercised, in-process or from a subprocess.
The test plays the user (``send_text``, ``send_document``, ``press_button``) and reads what the bot did
(``messages``, ``requests``, ``wait_for_message``). Telegram's refusals are copied (see ``telegram_methods``
and ``telegram_html``) so that a reply which would bounce in production bounces here too.

An outage (``with telegram.outage(): ...``) closes the listening socket, so connections are refused, cuts open
connections and held long polls, and listens again on the same port afterwards: the bot's URLs stay valid.

Usage::

    with FakeTelegram() as telegram:
        app = Application.builder().token(telegram.token).base_url(telegram.base_url)
              .base_file_url(telegram.base_file_url).build()
        ...
        mark = telegram.mark()
        telegram.send_text(42, "/start")
        reply = await telegram.wait_for_message(42, after=mark)
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
import traceback
import urllib.parse
from collections import deque
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.fakes.telegram_holds import Hold
from tests.fakes.telegram_methods import BotApi
from tests.fakes.telegram_observer import TelegramObserver
from tests.fakes.telegram_records import (
    Button,
    CallbackAnswer,
    RecordedRequest,
    Refusal,
    SentDocument,
    SentMessage,
)
from tests.fakes.telegram_state import BotUser, TelegramState
from tests.fakes.telegram_webhook import WebhookDeliverer, WebhookRecord
from tests.fakes.telegram_wire import ApiError, decode_call, read_body

__all__ = [
    "DEFAULT_TOKEN",
    "BotUser",
    "Button",
    "CallbackAnswer",
    "FakeTelegram",
    "Hold",
    "RecordedRequest",
    "Refusal",
    "SentDocument",
    "SentMessage",
]

DEFAULT_TOKEN = "123456:TEST-TOKEN"
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: injected failure",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, fake: FakeTelegram, port: int = 0) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        # allow_reuse_address (HTTPServer's default) sets SO_REUSEADDR: after an outage the same port binds again
        # although connections we cut are still in TIME_WAIT.
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), a DNS round trip we neither need nor want.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def close_connections(self) -> None:
        """Cut every open keep-alive connection so handler threads stop waiting for the next request."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: every call is recorded in ``FakeTelegram.requests()`` instead."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        try:
            self._route()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up, e.g. a cancelled long poll
        except Exception:
            self.server.fake.internal_errors.append(traceback.format_exc())
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error: bug in the fake"}
            self._reply(500, json.dumps(body).encode(), "application/json")

    def _route(self) -> None:
        fake = self.server.fake
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        body = read_body(self.rfile, self.headers.get("Content-Length"), self.headers.get("Transfer-Encoding"))
        if fake.answer_every_call_with is not None:
            status = fake.answer_every_call_with
            return self._error(ApiError(status, _DEFAULT_DESCRIPTIONS.get(status, "Injected failure")))
        if path.startswith("/file/bot"):
            token, _, file_path = path.removeprefix("/file/bot").partition("/")
            if token != fake.token:
                return self._error(ApiError(401, "Unauthorized"))
            content = fake.file_at(file_path)
            if content is None:
                return self._error(ApiError(404, "Not Found"))
            return self._reply(200, content, "application/octet-stream")
        if not path.startswith("/bot"):
            return self._error(ApiError(404, "Not Found"))
        token, _, method = path.removeprefix("/bot").partition("/")
        if token != fake.token:
            return self._error(ApiError(401, "Unauthorized"))
        try:
            params, files = decode_call(self.headers.get("Content-Type"), body, url.query)
            result = fake.api.call(method, params, files)
        except ApiError as error:
            return self._error(error)
        self._reply(200, json.dumps({"ok": True, "result": result}).encode(), "application/json")

    def _error(self, error: ApiError) -> None:
        self._reply(error.status, json.dumps(error.to_json()).encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeTelegram(TelegramObserver):
    """The fake server and the test's side of it. Every method is thread-safe."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "smsrelay_test_bot",
        bot_name: str = "SMS Relay (test)",
        answer_every_call_with: int | None = None,
    ) -> None:
        """``answer_every_call_with``: an HTTP status (401, 404…) returned for every call, as Telegram does for a
        revoked (401) or malformed (404) token; such calls are not recorded."""
        self.token = token
        self.answer_every_call_with = answer_every_call_with
        state = TelegramState(token, BotUser(int(token.split(":", 1)[0]), bot_username, bot_name))
        super().__init__(state, BotApi(state))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._down_port: int | None = None  # the port to listen on again after an outage
        self._deliverer: WebhookDeliverer | None = None  # POSTs updates while a webhook is set

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self, port: int = 0) -> FakeTelegram:
        if self._server is not None:
            raise RuntimeError("FakeTelegram is already running")
        with self.state.lock:
            self.state.closed = False  # a restart serves long polls again
        self._server = _Server(self, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # bounds how long stop() waits for the accept loop
            name="fake-telegram",
            daemon=True,
        )
        self._thread.start()
        if self._deliverer is None:
            self._deliverer = WebhookDeliverer(self.state)
            self._deliverer.start()
        return self

    def stop(self) -> None:
        """Stop serving; held long polls are answered at once and open connections are cut."""
        self._close(outage=False)
        self._down_port = None
        if self._deliverer is not None:
            self._deliverer.stop()
            self._deliverer = None

    def _close(self, *, outage: bool) -> None:
        """Stop listening and cut connections. A stop answers held long polls (empty) and releases holds first;
        an outage cuts first, so a held long poll gets no answer at all, and keeps the holds."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if outage:
            server.shutdown()
            server.close_connections()
        with self.state.lock:
            self.state.closed = True  # wakes the held long polls: they end (into a cut connection, in an outage)
            holds = [] if outage else list(self.state.holds)
            self.state.changed()
        for hold in holds:
            hold.release()
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)
        self._server = self._thread = None

    def go_down(self) -> None:
        """Telegram unreachable: connections are refused from now on, open ones (long polls too) are cut.

        What arrives meanwhile (the user's messages, button presses) waits, as Telegram keeps updates for a bot
        that is away; ``come_back`` serves it. Held calls (``hold``) stay held.
        """
        if self._server is None:
            raise RuntimeError("FakeTelegram is not running")
        port = self.port
        self._close(outage=True)
        self._down_port = port

    def come_back(self, *, bind_timeout: float = 5.0) -> None:
        """Listen again on the port ``go_down`` closed (the bot's base URL is unchanged)."""
        port = self._down_port
        if port is None:
            raise RuntimeError("FakeTelegram is not down")
        deadline = time.monotonic() + bind_timeout
        while True:
            try:
                self.start(port)
                break
            except OSError:  # the kernel has not let go of the port yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._down_port = None

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """``go_down`` for the duration of the ``with`` block, then ``come_back``."""
        self.go_down()
        try:
            yield
        finally:
            self.come_back()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            if self._down_port is not None:
                return self._down_port  # during an outage: where it will listen again
            raise RuntimeError("FakeTelegram is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    @property
    def webhook(self) -> WebhookRecord | None:
        """The webhook the bot set (url, secret, allowed updates, delivery answers), or None."""
        with self.state.lock:
            hook: WebhookRecord | None = self.state.webhook
            return hook

    @property
    def bot_user(self) -> BotUser:
        return self.state.bot_user

    # --- playing the user --------------------------------------------------------------------------------

    def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        title: str | None = None,
        reply_to_message_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        sender_chat: dict[str, Any] | None = None,
        from_user: dict[str, Any] | None = None,
        date: datetime | None = None,
    ) -> int:
        """The user writes ``text`` (a leading ``/command`` is marked as one unless ``entities`` is given);
        returns the message_id. ``sender_chat``/``from_user``: see ``TelegramState.user_message``.

        ``date`` backdates the message (a command typed while the bot was offline).
        """
        return self.state.user_message(
            chat_id,
            self.state.text_content(text, entities),
            user_id=user_id,
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            title=title,
            reply_to_message_id=reply_to_message_id,
            sender_chat=sender_chat,
            from_user=from_user,
            date=_unix(date),
        )

    def send_document(
        self,
        chat_id: int,
        content: bytes,
        file_name: str,
        mime_type: str = "text/csv",
        caption: str | None = None,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        username: str | None = None,
        title: str | None = None,
        reply_to_message_id: int | None = None,
        caption_entities: list[dict[str, Any]] | None = None,
        sender_chat: dict[str, Any] | None = None,
        from_user: dict[str, Any] | None = None,
        date: datetime | None = None,
    ) -> int:
        """The user sends a file (the bot can getFile and download it); returns the message_id.
        ``caption_entities`` replaces the bot_command entity a leading ``/command`` would get."""
        stored = self.state.store_file(file_name, mime_type, content)
        return self.state.user_message(
            chat_id,
            self.state.document_content(stored, caption, caption_entities),
            user_id=user_id,
            chat_type=chat_type,
            first_name=first_name,
            username=username,
            title=title,
            reply_to_message_id=reply_to_message_id,
            sender_chat=sender_chat,
            from_user=from_user,
            date=_unix(date),
        )

    def migrate_group(
        self, old_chat_id: int, new_chat_id: int, *, user_id: int, title: str = "Group", announce: bool = True
    ) -> None:
        """``user_id`` upgrades the group to a supergroup: from now on every call for the old id fails as on
        Telegram (400 with ``migrate_to_chat_id``). With ``announce``, the bot gets both service messages: the
        old group's last (``migrate_to_chat_id``) and the supergroup's first (``migrate_from_chat_id``)."""
        state = self.state
        with state.lock:
            state.migrated[old_chat_id] = new_chat_id
            if not announce:
                state.chats[new_chat_id] = {"id": new_chat_id, "type": "supergroup", "title": title}
                return
            for chat_id, chat_type, content in (
                (old_chat_id, "group", {"migrate_to_chat_id": new_chat_id}),
                (new_chat_id, "supergroup", {"migrate_from_chat_id": old_chat_id}),
            ):
                state.user_message(
                    chat_id,
                    content,
                    user_id=user_id,
                    chat_type=chat_type,
                    first_name="Test",
                    username=None,
                    title=title,
                    reply_to_message_id=None,
                )

    def press_button(self, chat_id: int, message_id: int, callback_data: str, *, user_id: int | None = None) -> str:
        """The user presses a button the message shows now (else AssertionError); returns the query id."""
        return self.state.press_button(chat_id, message_id, callback_data, user_id)

    def redeliver(self, update_id: int, *, as_new: bool = False) -> int:
        """Deliver a past update again, identical (Telegram's at-least-once delivery); see ``TelegramState``."""
        return self.state.redeliver(update_id, as_new=as_new)

    def update_id_of(self, chat_id: int, *, message_id: int | None = None, query_id: str | None = None) -> int:
        """The update that announced the user's message ``message_id`` in ``chat_id``, or the press ``query_id``."""
        return self.state.update_id_of(chat_id=chat_id, message_id=message_id, query_id=query_id)

    def block_chat(self, chat_id: int) -> None:
        """The user blocks the bot: every call for this chat gets 403 from now on."""
        with self.state.lock:
            self.state.blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        with self.state.lock:
            self.state.blocked.discard(chat_id)

    def hold(self, method: str, chat_id: int | None = None) -> Hold:
        """Hold every call of ``method`` (for ``chat_id`` only, when given) until ``Hold.release()``: a slow or
        hanging Telegram. Held calls are recorded on arrival and handled when released."""
        hold = Hold(self.api.canonical(method), chat_id)
        with self.state.lock:
            self.state.holds.append(hold)
        return hold

    def fail_next(
        self,
        method: str,
        status: int = 400,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with this error (a 429 needs ``retry_after``)."""
        if description is None:
            template = _DEFAULT_DESCRIPTIONS.get(status, "Injected failure")
            description = template.format(retry_after=retry_after)
        with self.state.lock:
            queue = self.state.failures.setdefault(self.api.canonical(method), deque())
            queue.extend(ApiError(status, description, retry_after) for _ in range(count))

    def clear_failures(self) -> None:
        """Forget every failure ``fail_next`` queued and no call has taken yet."""
        with self.state.lock:
            self.state.failures.clear()
