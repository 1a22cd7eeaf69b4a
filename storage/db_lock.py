"""Who has the database open: an advisory ``flock`` on ``<database>.lock``, so a restore never swaps the file away
under a running bot.

Every process that opens the database (the bot, ``notify``, ``backup``) holds a *shared* lock for as long as it
has the file open; shared locks never conflict, so any number of them coexist. ``restore`` asks for an
*exclusive* lock without waiting and is refused while anyone holds a shared one. The kernel drops a ``flock``
when its process dies, even by SIGKILL, so a crashed bot leaves no stale state behind: the ``.lock`` file may
stay, the lock does not. While a restore holds the exclusive lock, an opener waits for it (up to a timeout).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from storage.errors import StorageError


class DatabaseBusyError(StorageError):
    """Another process holds the database lock (the bot is running, or a restore is under way)."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class DatabaseLock:
    """One ``flock`` on ``<database>.lock``; ``release()`` (or leaving the ``with``) gives it back."""

    def __init__(self, database: Path, *, exclusive: bool) -> None:
        self.path = lock_path(database)
        self._exclusive = exclusive
        self._fd: int | None = None

    def acquire(self, *, wait_seconds: float = 0.0) -> None:
        """Take the lock, retrying for ``wait_seconds``; raises ``DatabaseBusyError`` when it stays taken."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        mode = (fcntl.LOCK_EX if self._exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, mode)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    what = "the bot (or another smsrelay command) has it open" if self._exclusive else "a restore"
                    raise DatabaseBusyError(f"{self.path.with_suffix('')} is busy: {what}") from None
                time.sleep(0.05)
                continue
            self._fd = fd
            return

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
