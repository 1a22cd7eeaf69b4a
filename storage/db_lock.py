"""Advisory ``flock``s beside the database: ``<database>.lock`` (the one active bot, exclusive) and
``<database>.open.lock`` (everyone with the file open, shared). The kernel drops them when their process dies,
even by SIGKILL; ``restore`` takes both exclusively. README "Deploy" and "Backups and retention" say why."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from storage.errors import StorageError

RETRY_SECONDS = 0.05


class DatabaseBusyError(StorageError):
    """A lock on the database is taken: a restore is under way, or it is open elsewhere (see ``BotRunningError``)."""


class BotRunningError(DatabaseBusyError):
    """The active lock is taken: a bot runs on this database (or a restore, or an older smsrelay, has it)."""


def active_lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def open_lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".open.lock")


class ActiveLock(Protocol):
    """The one-active-process lock: this ``flock`` on SQLite, an advisory lock on PostgreSQL (``pg_lock.py``)."""

    def try_acquire(self) -> bool: ...
    def is_lost(self) -> bool: ...
    def rearm(self) -> None: ...
    def release(self) -> None: ...


class FileLock:
    """One ``flock`` on one file (created, with its folder, if missing); ``release()`` or leaving the ``with``
    gives it back. Two ``FileLock``s conflict even inside one process."""

    def __init__(self, path: Path, *, exclusive: bool, holder: str = "another process") -> None:
        self.path = path
        self.exclusive = exclusive
        self.holder = holder  # who has it when it is refused, for the error
        self._fd: int | None = None

    def is_lost(self) -> bool:
        """Never: the kernel holds a ``flock`` until this process releases it or dies."""
        return False

    def rearm(self) -> None:
        """Nothing to do: a ``flock`` is never lost (see ``ActiveLock``)."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free right now; never blocks. True when held (also when held already)."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return True

    def acquire(self, *, wait_seconds: float = 0.0) -> None:
        """Take the lock, retrying for ``wait_seconds``; raises ``DatabaseBusyError`` when it stays taken."""
        deadline = time.monotonic() + wait_seconds
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(f"{self.path} is locked by {self.holder}")
            time.sleep(RETRY_SECONDS)

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


def active_lock(database: Path) -> FileLock:
    """The lock of the one bot process that works on ``database``; held exclusively for its whole life."""
    return FileLock(active_lock_path(database), exclusive=True)


def open_lock(database: Path) -> FileLock:
    """Held shared by every process while it has ``database`` open (the bot, ``notify``, ``backup``)."""
    return FileLock(open_lock_path(database), exclusive=False, holder="a restore under way")


@contextlib.contextmanager
def sole_use(database: Path) -> Iterator[None]:
    """Both locks exclusively, without waiting (for ``restore``): ``BotRunningError`` while a bot is active,
    ``DatabaseBusyError`` while another process has the file open."""
    active = FileLock(active_lock_path(database), exclusive=True)
    opened = FileLock(open_lock_path(database), exclusive=True)
    try:
        if not active.try_acquire():
            raise BotRunningError(f"{database} is in use: a bot is running on it")
        if not opened.try_acquire():
            raise DatabaseBusyError(f"{database} is in use: another smsrelay process has it open")
        yield
    finally:
        opened.release()
        active.release()
