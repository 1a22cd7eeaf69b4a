"""Waiting as a standby: ``python -m bot`` on a database another process is active on touches nothing (no
database, no Telegram) and serves only the standby's HTTP side until it holds the active lock (README "Deploy")."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.config import Settings
from bot.shutdown import STOP_SIGNALS
from bot.web.server import HttpServer
from bot.web.standby import standby_app
from storage.db_lock import FileLock, active_lock

log = logging.getLogger(__name__)

STANDBY_LINE = "another smsrelay process is active on this database; waiting as standby"
POLL_SECONDS = 0.2


def become_active(settings: Settings) -> FileLock | None:
    """The active lock, taken at once or after waiting as a standby; None when a stop signal ended the wait.
    Raises ``HttpStartError`` when the standby's HTTP server cannot listen."""
    lock = active_lock(settings.database_path)
    if lock.try_acquire():
        return lock
    log.warning(STANDBY_LINE)
    if not asyncio.run(_wait_as_standby(lock, settings)):
        log.info("stopped while waiting as standby")
        return None
    log.warning("the other smsrelay process has ended; this one is now active and starts as after a restart")
    return lock


async def _wait_as_standby(lock: FileLock, settings: Settings) -> bool:
    """Poll the lock until it is ours (True) or a stop signal comes (False)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    server = HttpServer(settings)
    try:
        if settings.http_port is not None:
            await server.start(standby_app())
        while not stop.is_set():
            if lock.try_acquire():
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        return False
    finally:
        await server.stop()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
