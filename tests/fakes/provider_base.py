"""What both fake SMS providers share: a real HTTP/1.1 server on 127.0.0.1, a ledger, fault injection.

The clients are tested over real sockets so that timeouts, dropped connections and keep-alive behave as they
do in production. Every request is logged (path, parsed JSON body, headers, time); every recipient a fake
accepts is counted in ``received``, which is what "sent exactly once" is checked against, also from another
process through the JSON ledger file (``ledger_path``).

``fail_next(kind, count)`` makes the next requests misbehave. Kinds every fake knows: ``slow`` (a normal
answer after ``slow_seconds``), ``timeout`` (the work is done and counted, then the connection is held for
``hold_seconds`` and closed without an answer: the outcome-unknown case), ``drop`` (done and counted,
closed at once without an answer), ``drip`` (done and counted, then the normal answer written one byte per
``drip_seconds``: never a read timeout, yet no end in sight), ``html`` (an nginx 502 page), ``http504`` (an
nginx 504 page), ``http503`` (an nginx 503 page: not processed), ``cloudflare520``/``cloudflare524``
(Cloudflare's error pages), ``php500`` (a PHP fatal error printed with 500), ``html200`` (a web page with
200), ``garbage`` (200 with bytes that are not JSON). ``fail_next(kind, after_work=True)`` does the normal
work first (the recipients are counted) and then answers with the fault: a proxy's error page after the
provider behind it had sent. Each fake adds its own:
``http500``, ``auth``, ``echo_key`` (an error text that repeats the key), ``forbidden``, ``not_found``,
``bad_request``, ``method_not_allowed``, ``insufficient``, ``success_false``; Texin ``invalid_sender``;
254sms ``x000``–``x003``.
``reply_next(status, body)`` answers the next request with exactly that, for odd shapes a test needs.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

# GSM 03.38: the basic set, and the extension characters that take two septets.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = "^{}\\[~]|€\f"

# Faults every fake knows; each fake adds its own (auth, insufficient, x001…).
COMMON_FAULTS = frozenset(
    {
        "slow",
        "timeout",
        "drop",
        "drip",
        "html",
        "html200",
        "garbage",
        "http503",
        "http504",
        "cloudflare520",
        "cloudflare524",
        "php500",
    }
)
# Faults answered by the normal route (the work is done), whatever ``after_work`` says.
_ROUTED_FAULTS = frozenset({"slow", "timeout", "drop", "drip"})

NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
    "</center>\r\n<hr><center>nginx/1.18.0 (Ubuntu)</center>\r\n</body>\r\n</html>\r\n"
)
NGINX_504 = NGINX_502.replace("502 Bad Gateway", "504 Gateway Time-out")
NGINX_503 = NGINX_502.replace("502 Bad Gateway", "503 Service Temporarily Unavailable")
CLOUDFLARE_524 = (
    '<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->\n'
    '<head><title>api.example.co.ke | 524: A timeout occurred</title></head><body><div id="cf-wrapper">'
    "<h1>A timeout occurred</h1><span>Error code 524</span><p>The origin web server timed out responding to "
    "this request.</p><span>Cloudflare Ray ID: 8f2c1a7b9d3e4f50</span></div></body></html>"
)
CLOUDFLARE_520 = CLOUDFLARE_524.replace("524: A timeout occurred", "520: Web server is returning an unknown error")
PHP_FATAL = (
    "<br />\n<b>Fatal error</b>:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in "
    "/var/www/html/api/send.php:57\nStack trace:\n#0 {main}\n  thrown in <b>/var/www/html/api/send.php</b> "
    "on line <b>57</b><br />\n"
)
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Login</title></head><body><form method='post'>"
    "<input name='email'><input name='password' type='password'></form></body></html>"
)


def segments(text: str) -> int:
    """SMS parts for ``text``: GSM-7 160/153 (extension characters count two), otherwise UCS-2 70/67."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        length = len(text) + sum(c in GSM_EXTENDED for c in text)
        return 1 if length <= 160 else math.ceil(length / 153)
    length = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
    return 1 if length <= 70 else math.ceil(length / 67)


def json_number(value: Decimal) -> int | float:
    """A Decimal as the JSON number a PHP API would print: 92, or 0.9."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    method: str
    path: str
    body: Any  # the parsed JSON, or None when the body was not JSON
    headers: dict[str, str]
    at: float  # time.monotonic() when the request was read
    client_port: int  # the client's side of the connection: equal ports mean a reused keep-alive connection


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any  # a dict or list is sent as JSON; str and bytes as they are
    content_type: str = "application/json"

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str
    reply: Reply | None = None  # set by ``reply_next``: answer exactly this
    after_work: bool = False  # do the normal work (and count it) before answering with the fault


class _Server(ThreadingHTTPServer):
    """Carries the fake to the handler; request threads are daemons and are not waited for on close."""

    daemon_threads = True
    block_on_close = False
    fake: FakeProviderServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients expect
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    do_GET = do_PUT = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the ledger is the log."""


class FakeProviderServer:
    """Base of the fakes. Subclasses implement ``route`` (the normal answer) and ``fault_reply``."""

    faults: frozenset[str] = COMMON_FAULTS

    def __init__(
        self,
        *,
        latency: float = 0.0,
        slow_seconds: float = 0.5,
        hold_seconds: float = 5.0,
        drip_seconds: float = 0.05,
        ledger_path: Path | None = None,
    ) -> None:
        self.latency = latency  # added to every request, for benchmarks
        # Benchmarks of a realistic provider: every Nth request takes ``straggle_seconds`` instead of ``latency``,
        # and every Mth answers 503 without doing the work (0: never). Counted, not random, so runs compare.
        self.straggle_every = 0
        self.straggle_seconds = 2.0
        self.error_every = 0
        self.slow_seconds = slow_seconds  # extra delay of a ``slow`` fault
        self.hold_seconds = hold_seconds  # how long a ``timeout`` fault keeps the client waiting
        self.drip_seconds = drip_seconds  # pause before each byte of a ``drip`` answer
        self.ledger_path = ledger_path
        self.lock = threading.RLock()
        self._received: collections.Counter[str] = collections.Counter()
        self._requests: list[LoggedRequest] = []
        self._paths: collections.Counter[str] = collections.Counter()
        self._faults: collections.deque[_Fault] = collections.deque()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- for subclasses ----------------------------------------------------------------------------------

    def route(self, path: str, body: Any) -> Reply:
        """The normal answer to a POST, called with ``lock`` held; ``accept`` counts a recipient."""
        raise NotImplementedError

    def fault_reply(self, kind: str, path: str, body: Any) -> Reply:
        """The answer for a provider-specific fault kind."""
        raise NotImplementedError

    def accept(self, number: str) -> None:
        self._received[number] += 1

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self, port: int = 0) -> Self:
        """Listen on 127.0.0.1 (``port`` 0: a free port, read it back from ``port``) in a daemon thread."""
        server = _Server(("127.0.0.1", port), _Handler)
        server.fake = self
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # releases requests held by ``timeout`` faults
        self._server.shutdown()
        with self.lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    # -- what tests look at and steer --------------------------------------------------------------------

    @property
    def received(self) -> collections.Counter[str]:
        """How often each recipient was accepted (a copy)."""
        with self.lock:
            return collections.Counter(self._received)

    @property
    def requests(self) -> list[LoggedRequest]:
        with self.lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.path == path]

    def fail_next(self, kind: str, count: int = 1, *, after_work: bool = False) -> None:
        """Make the next ``count`` requests misbehave in the way ``kind`` names (see ``faults``).

        ``after_work``: do the normal work first (a send is counted in ``received``), then answer with the
        fault, as a proxy does when the provider behind it sent but its answer never came back.
        """
        if kind not in self.faults:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(self.faults))}")
        with self.lock:
            self._faults.extend(_Fault(kind, after_work=after_work) for _ in range(count))

    def reply_next(self, status: int, body: Any, content_type: str = "application/json") -> None:
        """Answer the next request with exactly this, whatever it asks (for odd provider answers)."""
        with self.lock:
            self._faults.append(_Fault("reply", Reply(status, body, content_type)))

    # -- request handling --------------------------------------------------------------------------------

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self.lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _handle(self, handler: _Handler) -> None:
        arrived = time.monotonic()
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = handler.path.split("?", 1)[0]
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self.lock:
            logged = LoggedRequest(
                handler.command, path, body, headers, time.monotonic(), int(handler.client_address[1])
            )
            self._requests.append(logged)
            self._paths[path] += 1
            fault = self._faults.popleft() if self._faults else None
            number = len(self._requests)
        latency = self.latency
        if self.straggle_every and number % self.straggle_every == 0:
            latency = self.straggle_seconds
        if fault is None and self.error_every and number % self.error_every == 0:
            fault = _Fault("reply", Reply(503, {"success": False, "message": "Service temporarily unavailable"}))
        kind = fault.kind if fault else None
        if kind == "slow":
            self._stopping.wait(self.slow_seconds)
        if fault is not None and fault.reply is not None:
            reply = fault.reply
        elif kind is None or kind in _ROUTED_FAULTS:
            reply = self._route(handler.command, path, body)
        else:
            if fault is not None and fault.after_work:
                self._route(handler.command, path, body)  # done and counted; its answer is lost
            reply = self._common_fault(kind) or self.fault_reply(kind, path, body)
        self._write_ledger()
        if latency:
            # ``latency`` is the whole time the provider takes, its own work included, so a benchmark's
            # "ideal" (requests × latency ÷ concurrency) is what this fake really costs.
            self._stopping.wait(max(0.0, latency - (time.monotonic() - arrived)))
        if kind in ("timeout", "drop"):
            # The work is done and counted, but no answer comes: the client cannot know it was sent.
            if kind == "timeout":
                self._stopping.wait(self.hold_seconds)
            handler.close_connection = True
            return
        data = reply.encoded()
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if kind == "drip":
            self._drip(handler, data)
            return
        handler.wfile.write(data)

    def _drip(self, handler: _Handler, data: bytes) -> None:
        """``data`` one byte per ``drip_seconds``, until it is all out, the client leaves or the fake stops."""
        handler.close_connection = True  # an answer cut short leaves the connection unusable
        for index in range(len(data)):
            if self._stopping.wait(self.drip_seconds):
                return
            try:
                handler.wfile.write(data[index : index + 1])
            except OSError:  # the client gave up and closed the connection
                return

    def _route(self, method: str, path: str, body: Any) -> Reply:
        if method != "POST":
            return self.fault_reply("method_not_allowed", path, body)
        with self.lock:
            return self.route(path, body)

    @staticmethod
    def _common_fault(kind: str) -> Reply | None:
        return {
            "html": Reply(502, NGINX_502, "text/html"),
            "http503": Reply(503, NGINX_503, "text/html"),
            "http504": Reply(504, NGINX_504, "text/html"),
            "cloudflare520": Reply(520, CLOUDFLARE_520, "text/html; charset=UTF-8"),
            "cloudflare524": Reply(524, CLOUDFLARE_524, "text/html; charset=UTF-8"),
            "php500": Reply(500, PHP_FATAL, "text/html; charset=UTF-8"),
            "html200": Reply(200, LOGIN_PAGE, "text/html; charset=UTF-8"),
            "garbage": Reply(200, b"\x00\x9f\x92garbage{{ not json", "application/json"),
        }.get(kind)

    def _write_ledger(self) -> None:
        if self.ledger_path is None:
            return
        with self.lock:
            state = {
                "received": dict(self._received),
                "requests": len(self._requests),
                "paths": dict(self._paths),
                "extra": self.ledger_extra(),
            }
            # Temp file and rename: a reader in another process sees the old ledger or the new, never half.
            directory = self.ledger_path.parent
            fd, temp = tempfile.mkstemp(dir=directory, prefix=".ledger-", suffix=".json")
            with os.fdopen(fd, "w") as out:
                json.dump(state, out)
            os.replace(temp, self.ledger_path)

    def ledger_extra(self) -> dict[str, Any]:
        """Provider figures for the ledger file (credits left…)."""
        return {}


def read_ledger(path: Path) -> dict[str, Any]:
    """The ledger a standalone fake wrote (``{"received": {number: count}, "requests": n, …}``)."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def standalone_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port; it is printed as PORT <n>")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--credits", type=Decimal, default=Decimal(1000), help="SMS units on the account")
    parser.add_argument("--ledger", type=Path, default=None, help="JSON file rewritten after every request")
    parser.add_argument("--api-key", default=None, help="the API key the fake accepts")
    parser.add_argument("--straggle-every", type=int, default=0, help="every Nth request is a straggler (0: none)")
    parser.add_argument("--straggle-seconds", type=float, default=2.0, help="how long a straggler takes")
    parser.add_argument("--error-every", type=int, default=0, help="every Nth request answers 503 (0: none)")
    return parser


def apply_standalone_arguments(fake: FakeProviderServer, args: argparse.Namespace) -> None:
    """The benchmark options of ``standalone_arguments`` that every fake shares."""
    fake.straggle_every = args.straggle_every
    fake.straggle_seconds = args.straggle_seconds
    fake.error_every = args.error_every


def serve_until_killed(fake: FakeProviderServer, port: int, *, out: Callable[[str], None] | None = None) -> None:
    """Run ``fake`` on ``port`` (0: any) in this process until SIGTERM or SIGINT; print ``PORT <n>`` first."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    fake.start(port)
    fake._write_ledger()
    (out or _print)(f"PORT {fake.port}")
    while not stop.wait(0.5):
        pass
    fake.stop()


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
