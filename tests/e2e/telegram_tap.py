"""A pass-through in front of a ``FakeTelegram`` recording which Bot API methods the one process pointed at it
called: two ``python -m bot`` processes share the fake (and its chats), and the tap tells them apart."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.telegram_wire import read_body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    tap: TelegramTap


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls are in ``TelegramTap.calls()``."""

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        try:
            self._pass_on()
        except OSError:  # the bot gave up (a long poll cancelled at stop) or the fake went away: like a cut line
            self.close_connection = True

    def _pass_on(self) -> None:
        tap = self.server.tap
        body = read_body(self.rfile, self.headers.get("Content-Length"), self.headers.get("Transfer-Encoding"))
        tap.record(self.path)
        headers = {"Content-Type": self.headers["Content-Type"]} if self.headers.get("Content-Type") else {}
        upstream = http.client.HTTPConnection("127.0.0.1", tap.telegram.port, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data, status = answer.read(), answer.status
            content_type = answer.getheader("Content-Type", "application/json")
        finally:
            upstream.close()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class TelegramTap:
    """``with TelegramTap(telegram) as tap:`` then give one process ``tap.environment()``; ``tap.calls()``."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram
        self._calls: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.tap = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def record(self, path: str) -> None:
        method = path.split("?", 1)[0].rsplit("/", 1)[-1] if path.startswith("/bot") else "file"
        with self._lock:
            self._calls.append(method)

    def calls(self, method: str | None = None) -> list[str]:
        with self._lock:
            return [call for call in self._calls if method is None or call == method]

    def environment(self) -> dict[str, str]:
        port = self._server.server_address[1]
        return {
            "TELEGRAM_API_URL": f"http://127.0.0.1:{port}/bot",
            "TELEGRAM_FILE_URL": f"http://127.0.0.1:{port}/file/bot",
        }

    def __enter__(self) -> TelegramTap:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
