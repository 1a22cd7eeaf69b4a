"""Online backups of the SQLite file, and putting one back. Plain blocking functions: callers run them in a thread.

A backup reads through its own ``sqlite3`` connection, never the bot's shared one, so the bot keeps answering
while it runs. That connection holds one read transaction for the whole copy: in WAL mode that is a fixed
snapshot, so the bot's writes meanwhile neither block the copy nor make SQLite's backup API start over, and the
copy is consistent as of its first page. Pages are copied a few at a time with short pauses between steps. The
copy is written under a temporary name, switched to a single-file journal, checked, flushed, and only then
renamed to its final name: a file named ``smsrelay-….db`` is always a complete backup.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.db_lock import open_lock, sole_use
from storage.migrations import load_migrations
from storage.restore_marker import RestoreMarker, RestoreMarkerError, write_marker

# Backup names carry their UTC time, so they sort by age as text: smsrelay-2026-11-28T084012Z.db
BACKUP_PREFIX = "smsrelay-"
BACKUP_NAME = re.compile(r"^smsrelay-(\d{4}-\d{2}-\d{2}T\d{6})Z\.db$")
_NAME_TIME = "%Y-%m-%dT%H%M%S"
STEP_PAGES = 256  # 1 MiB per step with 4 KiB pages
STEP_PAUSE = 0.005  # seconds between steps: lets the bot's own reads and writes in


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size: int
    integrity: str  # "ok", or SQLite's first complaint
    schema_version: int


@dataclass(frozen=True, slots=True)
class RestoreResult:
    restored_from: Path
    kept_as: Path | None  # where the database that was replaced went (None: there was none)
    schema_version: int
    marker: RestoreMarker  # what the next start settles: work the backup shows unfinished may have gone out


class RestoreRefusedError(Exception):
    """The backup cannot be restored (unreadable, damaged, or from a newer smsrelay); nothing was changed."""


def backup_name(moment: datetime) -> str:
    return f"{BACKUP_PREFIX}{moment.astimezone(UTC).strftime(_NAME_TIME)}Z.db"


def backup_time(path: Path) -> datetime | None:
    """The UTC time in a backup's name, or None when the name is not one of ours."""
    match = BACKUP_NAME.match(path.name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), _NAME_TIME).replace(tzinfo=UTC)


def list_backups(folder: Path) -> list[Path]:
    """Our backups in ``folder``, oldest first; other files (and half-written temporaries) are ignored."""
    if not folder.is_dir():
        return []
    found = [entry for entry in folder.iterdir() if entry.is_file() and backup_time(entry) is not None]
    return sorted(found, key=lambda entry: entry.name)


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete our oldest backups beyond the newest ``keep``; returns what was deleted."""
    backups = list_backups(folder)
    doomed = backups[: max(len(backups) - keep, 0)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def backup_database(
    database: Path,
    target: Path,
    *,
    step_pages: int = STEP_PAGES,
    pause: float = STEP_PAUSE,
    progress: Callable[[int, int, int], object] | None = None,
) -> BackupResult:
    """Copy ``database`` (which may be in use) to ``target``, which must not exist yet.

    ``progress(status, remaining, total)`` is SQLite's hook after each step (tests write between steps).
    """
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose another name")
    if not database.is_file():
        raise FileNotFoundError(f"{database} does not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # A shared lock like any other user of the file: a restore cannot replace it halfway through the copy.
    with open_lock(database), _connect(database) as source:
        try:
            with _connect(partial) as copy:
                source.execute("BEGIN")
                source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
                source.backup(copy, pages=step_pages, sleep=pause, progress=progress)
                source.execute("COMMIT")
                # One self-contained file: no -wal beside it to lose when the backup is copied elsewhere.
                copy.execute("PRAGMA journal_mode = DELETE").fetchone()
                integrity = _integrity(copy)
                version = int(copy.execute("PRAGMA user_version").fetchone()[0])
            _fsync(partial)
            os.replace(partial, target)
            _fsync_folder(target.parent)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(target, target.stat().st_size, integrity, version)


def check_backup(path: Path) -> tuple[str, int]:
    """``(integrity, schema version)`` of a backup file, opened read-only."""
    if not path.is_file():
        raise RestoreRefusedError(f"{path} does not exist")
    try:
        with _connect(path, read_only=True) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "messages" not in tables or "chats" not in tables:
                raise RestoreRefusedError(f"{path} is not an smsrelay database")
            return _integrity(conn), int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise RestoreRefusedError(f"{path} cannot be read as SQLite: {exc}") from exc


def restore_database(backup: Path, database: Path, *, moment: datetime) -> RestoreResult:
    """Put ``backup`` in place of ``database``; refused while a bot runs on it (``BotRunningError``) or anyone
    else has it open (``DatabaseBusyError``).

    The current database is first checkpointed and kept as ``<name>.before-restore-<time>`` (with its -wal if a
    checkpoint could not empty it), so a restore can itself be undone. The restored copy carries a restore marker
    (``storage/restore_marker.py``): the next start settles its unfinished work instead of sending it again.
    """
    with sole_use(database):
        integrity, version = check_backup(backup)
        if integrity != "ok":
            raise RestoreRefusedError(f"{backup} fails SQLite's integrity check: {integrity}")
        known = len(load_migrations())
        if version > known:
            raise RestoreRefusedError(
                f"{backup} has schema version {version}, newer than this program knows ({known}); "
                "upgrade smsrelay first"
            )
        partial = database.with_name(f".{database.name}.restoring")
        partial.unlink(missing_ok=True)
        try:
            with _connect(backup, read_only=True) as source, _connect(partial) as copy:
                source.backup(copy)
                try:
                    marker = write_marker(copy, backup.name, moment)
                except RestoreMarkerError as exc:
                    raise RestoreRefusedError(f"{backup}: {exc}") from exc
            _fsync(partial)
            kept = _set_aside(database, moment) if database.exists() else None
            os.replace(partial, database)
            _fsync_folder(database.parent)
        finally:
            partial.unlink(missing_ok=True)
    return RestoreResult(backup, kept, version, marker)


def _set_aside(database: Path, moment: datetime) -> Path:
    """Move the current database and its WAL away; a stale -shm is deleted (SQLite rebuilds it)."""
    with contextlib.suppress(sqlite3.DatabaseError), _connect(database) as conn:
        # Folds the WAL into the main file, so the kept copy is one file; a damaged file is kept as it is.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    kept = database.with_name(f"{database.name}.before-restore-{moment.astimezone(UTC).strftime(_NAME_TIME)}Z")
    os.replace(database, kept)
    wal = database.with_name(database.name + "-wal")
    if wal.exists():
        if wal.stat().st_size:
            os.replace(wal, kept.with_name(kept.name + "-wal"))  # SQLite finds it there when the copy is opened
        else:
            wal.unlink()
    database.with_name(database.name + "-shm").unlink(missing_ok=True)
    return kept


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        yield conn
    finally:
        conn.close()


def _integrity(conn: sqlite3.Connection) -> str:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    return "ok" if [tuple(row) for row in rows] == [("ok",)] else "; ".join(str(row[0]) for row in rows[:5])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened for fsync
        _fsync(folder)
