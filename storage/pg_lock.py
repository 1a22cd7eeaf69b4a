"""The active lock on PostgreSQL: a session advisory lock, held on a connection of its own in a thread of its own.

A standby asks for it every poll; the server frees it the moment the holder's session ends (process killed, or
its connection found dead by the keepalives set below). The holder pings its session; when a ping fails the lock
counts as lost (``is_lost``) and the process must stop sending at once (the lease epoch fences what it still tries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

import asyncpg

from storage.postgres_url import one_line_reason, safe_url

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the active replica: any constant ("smsrelay" + 1 in ASCII, as a signed bigint).
ACTIVE_LOCK_KEY = 0x736D7372656C6179 + 1
_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class PostgresActiveLock:
    """``try_acquire()`` never blocks: the first call starts the thread that asks the server; True once held."""

    def __init__(self, url: str, *, takeover_seconds: float) -> None:
        self._url = url
        self._poll = min(1.0, takeover_seconds / 10)
        self._ping_every = takeover_seconds / 5
        self._ping_timeout = takeover_seconds / 3
        # The server drops a holder it cannot reach within about takeover_seconds, which frees the lock.
        idle = max(1, int(takeover_seconds / 3))
        self._session = {
            "application_name": "smsrelay-active-lock",
            "tcp_keepalives_idle": str(idle),
            "tcp_keepalives_interval": str(idle),
            "tcp_keepalives_count": "2",
            "tcp_user_timeout": str(int(takeover_seconds * 1000)),
        }
        self._wanted = threading.Event()
        self._held = threading.Event()
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._drop = threading.Event()  # rearm(): give a held lock up, then compete for it again
        self._dropped = threading.Event()
        self._wake = threading.Event()  # ends a wait early: set by release() and rearm()
        self._asked = threading.Event()  # the server answered once (or could not be reached)
        self._thread: threading.Thread | None = None
        self.problem: str | None = None  # the last reason the server could not be asked, for the standby's log

    def try_acquire(self) -> bool:
        if not self._lost.is_set():
            self._wanted.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="smsrelay-active-lock", daemon=True)
            self._thread.start()
            self._asked.wait(timeout=5)  # the first answer, so a free lock is taken without a standby line
        return self._held.is_set()

    def is_lost(self) -> bool:
        """True once a lock this process held is gone (its connection failed): another process may be active."""
        return self._lost.is_set()

    def rearm(self) -> None:
        """When this process has stopped all its work (lock lost, lease taken, database gone): give the lock up if
        it is still held, and wait for it again like any standby."""
        if self._held.is_set():
            self._dropped.clear()
            self._drop.set()
            self._wake.set()
            self._dropped.wait(timeout=10)
        self._lost.clear()

    def release(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        finally:
            if self._held.is_set() and not self._stop.is_set():  # the thread itself failed: the session is gone
                self._held.clear()
                self._lost.set()

    async def _main(self) -> None:
        while not self._stop.is_set():
            conn = None
            try:
                conn = await asyncpg.connect(
                    self._url, timeout=max(self._ping_timeout, 2), server_settings=self._session
                )
                self.problem = None
                await self._wait_for_the_lock(conn)
                await self._hold(conn)
            except Exception as exc:
                self.problem = one_line_reason(exc, self._url)
                self._asked.set()
                if self._held.is_set():
                    log.error("lost the active lock on %s: %s", safe_url(self._url), self.problem)
                    self._wanted.clear()
                    self._held.clear()
                    self._lost.set()
            finally:
                if conn is not None:
                    with contextlib.suppress(*_ERRORS):
                        await conn.close(timeout=2)
                    if not conn.is_closed():
                        conn.terminate()
                if self._drop.is_set():  # the session is closed: the server has freed the lock
                    self._held.clear()
                    self._drop.clear()
                    self._wake.clear()
                    self._dropped.set()
            await self._sleep(self._poll)

    async def _wait_for_the_lock(self, conn: asyncpg.Connection) -> None:
        while not self._stop.is_set():
            if self._wanted.is_set() and await conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", ACTIVE_LOCK_KEY, timeout=self._ping_timeout
            ):
                self._held.set()
                self._asked.set()
                return
            self._asked.set()
            await self._sleep(self._poll)

    async def _hold(self, conn: asyncpg.Connection) -> None:
        while not self._stop.is_set() and not self._drop.is_set():
            await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=self._ping_timeout)
            await self._sleep(self._ping_every)

    async def _sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or less when ``release()`` or ``rearm()`` is called meanwhile."""
        await asyncio.to_thread(self._wake.wait, seconds)
