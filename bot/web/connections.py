"""Guards of the HTTP side against idle or too many connections (issue 25).

uvicorn starts no timer until a first response is sent, so a client that sends half a request (or nothing) holds
its socket for ever, and enough of them use up the process's file handles. Here a connection must complete its
request's headers within ``HEADER_SECONDS`` of connecting (or of the first byte of a later request on a kept-alive
connection), or it is closed. And the accepting is ours (``accept_loop``), not asyncio's: asyncio accepts as many
sockets as are waiting, up to the backlog, before any protocol could close one; here nothing is accepted while
``HTTP_MAX_CONNECTIONS`` are open (new ones wait in the kernel's backlog), so the file handles the bot needs for
Telegram, the providers and the database stay free.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Sized
from typing import ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

HEADER_SECONDS = 5.0  # long enough for any real client, short enough that idle sockets cannot pile up
_FULL_WAIT = 0.05  # how often a full server looks for a free place
_ERROR_WAIT = 1.0  # after accept() failed (out of file handles, …): the same pause asyncio makes


class GuardedH11Protocol(H11Protocol):
    """Closes a connection whose request headers are not complete within ``header_seconds``."""

    header_seconds: ClassVar[float] = HEADER_SECONDS
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._start_header_timer()  # a request begun but its headers not complete: the clock runs
        else:
            self._stop_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._stop_header_timer()  # waiting for the next request is uvicorn's keep-alive timeout

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        if self._header_timer is None:  # never restarted by more bytes: a trickle does not buy time
            self._header_timer = self.loop.call_later(self.header_seconds, self._headers_late)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.abort()


def guarded_protocol(header_seconds: float = HEADER_SECONDS) -> type[GuardedH11Protocol]:
    """The protocol class for one server, with its header deadline."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"header_seconds": header_seconds})


async def accept_loop(
    listener: socket.socket, make_protocol: Callable[[], asyncio.Protocol], open_now: Sized, cap: int
) -> None:
    """Accept on ``listener`` while fewer than ``cap`` connections are open (``open_now``), until cancelled."""
    loop = asyncio.get_running_loop()
    full = False
    while True:
        if len(open_now) >= cap:
            if not full:
                log.warning("HTTP_MAX_CONNECTIONS (%d) open: new connections wait until one closes", cap)
            full = True
            await asyncio.sleep(_FULL_WAIT)
            continue
        full = False
        try:
            connection, _ = await loop.sock_accept(listener)
        except OSError as exc:
            log.error("HTTP: could not accept a connection: %s", exc.strerror or exc)  # written once a minute
            await asyncio.sleep(_ERROR_WAIT)
            continue
        try:
            await loop.connect_accepted_socket(make_protocol, connection)
        except OSError:
            connection.close()  # the client left before the connection was set up
