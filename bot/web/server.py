"""The HTTP side: one Starlette app served by uvicorn inside the bot's own event loop.

Started in ``post_init`` and stopped in ``post_shutdown`` (python-telegram-bot's customwebhookbot runs the two the
same way, side by side in one loop). uvicorn gets a socket we bound ourselves (a busy port is a clear start-up
error, and port 0 works in tests), installs no signal handlers (``bot/shutdown.py`` owns SIGTERM), configures no
logging and writes no access log: a webhook path or query could carry a secret. Its protocol
(``bot/web/connections.py``) closes connections whose headers are late and those past ``HTTP_MAX_CONNECTIONS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette

from bot.config import Settings
from bot.web.connections import accept_loop, guarded_protocol
from bot.web.metrics import Metrics
from bot.web.routes import build_routes
from bot.web.telegram_contact import TelegramContact

if TYPE_CHECKING:
    from bot.runtime import Services

log = logging.getLogger(__name__)


class HttpStartError(RuntimeError):
    """The server could not listen (``str()`` names HTTP_HOST/HTTP_PORT)."""


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the bot's stop signals stay the bot's


class HttpServer:
    """One Starlette app served on ``HTTP_HOST``:``HTTP_PORT`` in the running event loop, from ``start`` to
    ``stop``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the HTTP server is not running")
        return int(self._socket.getsockname()[1])

    async def start(self, app: Starlette) -> None:
        host, port = self.settings.http_host, self.settings.http_port
        try:
            sock = socket.create_server((host, port or 0), family=_family(host), reuse_port=False)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise HttpStartError(f"HTTP_HOST/HTTP_PORT: cannot listen on {host}:{port}: {reason}") from None
        sock.setblocking(False)
        self._socket = sock
        config = uvicorn.Config(
            app,
            http=guarded_protocol(),
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._serve(sock), name="http-server")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise HttpStartError(f"HTTP_HOST/HTTP_PORT: the server on {host}:{port} did not start")
            await asyncio.sleep(0.01)
        self._accepting = asyncio.create_task(self._accept(sock), name="http-accept")
        log.info("HTTP server listening on %s:%d", host, self.port)

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        try:
            await self._server.serve(sockets=[])  # uvicorn listens on nothing: ``_accept`` hands it connections
        except SystemExit:  # uvicorn exits the process on a start-up failure; here it only ends this task
            log.error("the HTTP server stopped at start-up")

    async def _accept(self, sock: socket.socket) -> None:
        server = self._server
        assert server is not None
        config, loop = server.config, asyncio.get_running_loop()

        def make_protocol() -> asyncio.Protocol:  # what uvicorn's own create_server would make
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=server.server_state, app_state=server.lifespan.state, _loop=loop
            )

        await accept_loop(sock, make_protocol, server.server_state.connections, self.settings.http_max_connections)

    async def stop(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
            self._accepting = None
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None


class WebSide:
    """Metrics and Telegram contact exist from build time (the Bot's requests record into them); the server only
    when ``HTTP_PORT`` is set."""

    def __init__(self, settings: Settings, application: Any) -> None:
        self.settings = settings
        self.application = application
        self.metrics = Metrics()
        self.contact = TelegramContact()
        self.webhook_path = (urlsplit(settings.webhook_url).path or "/") if settings.webhook_url else None
        self._http = HttpServer(settings)

    @property
    def enabled(self) -> bool:
        return self.settings.http_port is not None

    @property
    def port(self) -> int:
        return self._http.port

    async def start(self) -> None:
        if not self.enabled or self._http.running:
            return
        await self._http.start(Starlette(routes=build_routes(self)))

    async def stop(self) -> None:
        await self._http.stop()

    async def refresh_gauges(self, services: Services) -> None:
        """Gauges read at scrape time from the database (one query): what is pending is a fact there."""
        self.metrics.bulk_pending.set(await services.db.jobs.pending_in_unfinished())


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
