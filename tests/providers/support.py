"""Settings the provider tests share: small timeouts and quick retries keep failure paths fast."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import httpx

from bot.providers.http import RetryPolicy

READ_TIMEOUT = 0.3
FAST_TIMEOUT = httpx.Timeout(connect=1.0, read=READ_TIMEOUT, write=1.0, pool=1.0)
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, jitter=0.0)
# A ``slow`` fault stays under the read timeout (a late but good answer); ``timeout`` holds well past it.
SLOW_SECONDS = 0.1
HOLD_SECONDS = 1.5


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port whose listen queue is full: a new connection is never accepted (a connect timeout)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = int(listener.getsockname()[1])
        waiting = []
        try:
            for _ in range(3):  # more than the queue holds: later handshakes go unanswered
                client = socket.socket()
                client.setblocking(False)
                with suppress(BlockingIOError):
                    client.connect(("127.0.0.1", port))
                waiting.append(client)
            yield port
        finally:
            for client in waiting:
                client.close()
