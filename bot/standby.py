"""Waiting as a standby: ``python -m bot`` on a database another process is active on touches nothing (no
database, no Telegram) and serves only the standby's HTTP side until it holds the active lock (README "Deploy",
"High availability"). The lock is a ``flock`` beside a SQLite file, or an advisory lock on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.shutdown import STOP_SIGNALS
from bot.web.server import HttpServer
from bot.web.standby import standby_app
from storage.db_lock import ActiveLock, active_lock
from storage.pg_lock import PostgresActiveLock

log = logging.getLogger(__name__)

STANDBY_LINE = "another smsrelay process is active on this database; waiting as standby"
POLL_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class Activation:
    lock: ActiveLock
    took_over: bool  # waited as a standby first: another process was active before this one


def active_lock_for(settings: Settings) -> ActiveLock:
    if settings.database_url is not None:
        return PostgresActiveLock(
            settings.database_url.get_secret_value(), takeover_seconds=settings.ha_takeover_seconds
        )
    return active_lock(settings.database_path)


def become_active(settings: Settings, lock: ActiveLock, *, again: bool = False) -> Activation | None:
    """The active lock, taken at once or after waiting as a standby; None when a stop signal ended the wait.
    ``again``: this process was active and stopped its work. Raises ``HttpStartError`` if HTTP cannot listen."""
    if lock.try_acquire():
        return Activation(lock, took_over=False)
    log.warning("waiting for the active lock again, as a standby" if again else STANDBY_LINE)
    if not asyncio.run(_wait_as_standby(lock, settings)):
        log.info("stopped while waiting as standby")
        return None
    log.warning("the active smsrelay process has ended; this one is now active and starts as after a restart")
    return Activation(lock, took_over=True)


async def _wait_as_standby(lock: ActiveLock, settings: Settings) -> bool:
    """Poll the lock until it is ours (True) or a stop signal comes (False)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    server = HttpServer(settings)
    told: str | None = None
    try:
        if settings.http_port is not None:
            await server.start(standby_app())
        while not stop.is_set():
            if lock.try_acquire():
                return True
            problem = getattr(lock, "problem", None)
            if problem != told and problem is not None:
                log.warning("standby: the database cannot be reached (DATABASE_URL): %s", problem)
            told = problem
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        return False
    finally:
        await server.stop()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
