"""Settings the provider tests share: small timeouts and quick retries keep failure paths fast."""

from __future__ import annotations

import socket

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
