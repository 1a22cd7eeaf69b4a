"""The locks beside the database: the bot's exclusive active lock, everyone's shared open lock, restore's sole use."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.db_lock import (
    BotRunningError,
    DatabaseBusyError,
    FileLock,
    active_lock,
    active_lock_path,
    open_lock,
    sole_use,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_active_lock_and_the_open_lock_are_two_files_that_never_conflict(db_path: Path) -> None:
    with active_lock(db_path) as active, open_lock(db_path) as opened, open_lock(db_path):
        # The bot, and two commands beside it: both locks are taken, the open lock shared.
        assert not active_lock(db_path).try_acquire()
        assert not FileLock(opened.path, exclusive=True).try_acquire()
        assert active.path == db_path.with_name("smsrelay.db.lock")
        assert opened.path == db_path.with_name("smsrelay.db.open.lock")
        assert active.exclusive and not opened.exclusive


def test_a_second_active_lock_is_refused_at_once_without_blocking(db_path: Path) -> None:
    with active_lock(db_path):
        second = active_lock(db_path)  # another process would get the same answer: flock is per open file
        started = time.monotonic()
        assert second.try_acquire() is False
        with pytest.raises(DatabaseBusyError):
            second.acquire()
        assert time.monotonic() - started < 0.5


def test_release_and_leaving_the_with_give_the_lock_back(db_path: Path) -> None:
    first = active_lock(db_path)
    assert first.try_acquire()
    first.release()
    first.release()  # twice is harmless
    with active_lock(db_path):
        assert not active_lock(db_path).try_acquire()
    second = active_lock(db_path)
    assert second.try_acquire()
    second.release()


def test_an_older_smsrelay_holding_its_shared_lock_on_the_lock_file_keeps_a_new_bot_waiting(db_path: Path) -> None:
    with FileLock(active_lock_path(db_path), exclusive=False):  # what every opener held before the active lock
        assert not active_lock(db_path).try_acquire()


def test_sole_use_is_refused_while_a_bot_is_active_and_while_the_file_is_open(db_path: Path) -> None:
    with active_lock(db_path), pytest.raises(BotRunningError, match="a bot is running"), sole_use(db_path):
        pass
    with open_lock(db_path):
        with pytest.raises(DatabaseBusyError, match="has it open") as refused, sole_use(db_path):
            pass
        assert not isinstance(refused.value, BotRunningError)
        with active_lock(db_path):  # the refused restore gave the active lock back
            pass


def test_while_a_restore_has_sole_use_nobody_opens_or_becomes_active(db_path: Path) -> None:
    with sole_use(db_path):
        assert not active_lock(db_path).try_acquire()  # a standby keeps waiting
        with pytest.raises(DatabaseBusyError, match="restore"):
            open_lock(db_path).acquire(wait_seconds=0.1)
    with active_lock(db_path), FileLock(db_path.with_name("smsrelay.db.open.lock"), exclusive=True):
        pass  # both given back


def test_a_lock_held_by_a_process_killed_with_sigkill_is_free_again(db_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from storage.db_lock import active_lock\n"
            "lock = active_lock(Path(sys.argv[1])); assert lock.try_acquire(); print('held', flush=True)\n"
            "time.sleep(60)",
            str(db_path),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        ours = active_lock(db_path)
        assert not ours.try_acquire()

        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)

        assert ours.try_acquire()  # no stale state: the kernel dropped it with the process
        ours.release()
    finally:
        if holder.poll() is None:
            holder.kill()
        if holder.stdout is not None:
            holder.stdout.close()
