"""Online backups, rotation, and restore: what an operator relies on after a disk dies."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import Database, open_database
from storage.backup import (
    RestoreRefusedError,
    backup_database,
    backup_name,
    list_backups,
    prune_backups,
    restore_database,
)
from storage.db_lock import DatabaseBusyError, sole_use
from storage.migrations import load_migrations

from .factories import ADMIN_CHAT, a_message, numbers

MOMENT = datetime(2026, 11, 28, 8, 40, 12, tzinfo=UTC)


def _bytes(path: Path) -> bytes:
    return path.read_bytes()


def _count(path: Path, sql: str) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def test_backup_of_an_open_database_is_one_complete_file(db: Database, db_path: Path, tmp_path: Path) -> None:
    for number in numbers(50):
        await db.messages.add(a_message(recipient=number))
    target = tmp_path / "backups" / backup_name(MOMENT)

    result = backup_database(db_path, target, step_pages=1, pause=0)  # one page per step: many steps

    assert result.path == target and result.integrity == "ok"
    assert result.size == target.stat().st_size > 0
    assert result.schema_version == len(load_migrations())
    assert _count(target, "SELECT count(*) FROM messages") == 50
    with contextlib.closing(sqlite3.connect(target)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary left behind
    assert target.name == "smsrelay-2026-11-28T084012Z.db"


async def test_backup_is_a_snapshot_from_its_start_while_writes_go_on(
    db: Database, db_path: Path, tmp_path: Path
) -> None:
    for number in numbers(300):
        await db.messages.add(a_message(recipient=number, body="x" * 200))  # many pages: many steps
    writes_during = 0

    def another_process_writes(status: int, remaining: int, total: int) -> None:
        nonlocal writes_during
        if writes_during < 5:
            with contextlib.closing(sqlite3.connect(db_path, isolation_level=None)) as writer:
                writer.execute(
                    "INSERT INTO messages (chat_id, provider, recipient, body, encoding, segments, status,"
                    " created_at, updated_at) VALUES (1, 'texin', '254700000000', 'late', 'gsm7', 1, 'sent', '', '')"
                )
            writes_during += 1

    result = backup_database(db_path, tmp_path / "b.db", step_pages=1, pause=0, progress=another_process_writes)

    assert writes_during == 5
    assert result.integrity == "ok"
    # Without its own read snapshot SQLite restarts the copy after each outside write and takes the late rows.
    assert _count(result.path, "SELECT count(*) FROM messages") == 300
    assert _count(db_path, "SELECT count(*) FROM messages") == 305


async def test_backup_never_overwrites_a_file(db: Database, db_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "precious.db"
    target.write_bytes(b"not ours")

    with pytest.raises(FileExistsError):
        backup_database(db_path, target)

    assert target.read_bytes() == b"not ours"


def test_rotation_deletes_only_our_oldest_backups(tmp_path: Path) -> None:
    names = [backup_name(MOMENT - timedelta(days=day)) for day in range(5)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    foreign = ["notes.txt", "smsrelay.db", ".smsrelay-2020-01-01T000000Z.db.partial", "smsrelay-old.db"]
    for name in foreign:
        (tmp_path / name).write_bytes(b"x")

    deleted = prune_backups(tmp_path, keep=2)

    assert sorted(p.name for p in deleted) == sorted(names[2:])
    assert [p.name for p in list_backups(tmp_path)] == sorted(names[:2])
    assert all((tmp_path / name).exists() for name in foreign)


async def test_restore_round_trip_keeps_the_replaced_database(db_path: Path, tmp_path: Path) -> None:
    async with await open_database(db_path) as db:
        await db.chats.seed_admins([ADMIN_CHAT])
        first = await db.messages.add(a_message(body="before the backup"))
    backup = backup_database(db_path, tmp_path / "b.db").path
    async with await open_database(db_path) as db:
        await db.messages.add(a_message(body="after the backup"))

    result = restore_database(backup, db_path, moment=MOMENT)

    assert result.kept_as == db_path.with_name("smsrelay.db.before-restore-2026-11-28T084012Z")
    assert _count(result.kept_as, "SELECT count(*) FROM messages") == 2  # the WAL was folded in, nothing lost
    assert not db_path.with_name("smsrelay.db-wal").exists()
    assert not db_path.with_name("smsrelay.db-shm").exists()
    async with await open_database(db_path) as db:
        rows = await db.messages.list_for_chat(first.chat_id)
        assert [m.body for m in rows] == ["before the backup"]
        assert await db.chats.admin_ids() == [ADMIN_CHAT]


async def test_restore_is_refused_while_the_database_is_open(db_path: Path, tmp_path: Path) -> None:
    db = await open_database(db_path)
    try:
        await db.messages.add(a_message(body="live"))
        backup = backup_database(db_path, tmp_path / "b.db").path
        with pytest.raises(DatabaseBusyError):
            restore_database(backup, db_path, moment=MOMENT)
    finally:
        await db.close()

    assert restore_database(backup, db_path, moment=MOMENT).kept_as is not None  # closed: allowed


async def test_restore_refuses_a_backup_from_a_newer_program(db: Database, db_path: Path, tmp_path: Path) -> None:
    backup = backup_database(db_path, tmp_path / "b.db").path
    with contextlib.closing(sqlite3.connect(backup)) as conn:
        conn.execute(f"PRAGMA user_version = {len(load_migrations()) + 1}")
    await db.close()
    before = _bytes(db_path)

    with pytest.raises(RestoreRefusedError, match="newer than this program"):
        restore_database(backup, db_path, moment=MOMENT)

    assert _bytes(db_path) == before
    assert not list(db_path.parent.glob("*.before-restore-*"))


@pytest.mark.parametrize("content", [b"", b"SQLite format 3\x00" + b"\x07" * 2000, b"hello, world"])
async def test_restore_refuses_a_file_that_is_not_a_sound_smsrelay_database(
    db: Database, db_path: Path, tmp_path: Path, content: bytes
) -> None:
    await db.close()
    bad = tmp_path / "bad.db"
    bad.write_bytes(content)
    before = _bytes(db_path)

    with pytest.raises(RestoreRefusedError):
        restore_database(bad, db_path, moment=MOMENT)

    assert _bytes(db_path) == before


async def test_opening_waits_for_a_restore_and_then_fails_clearly(db_path: Path, tmp_path: Path) -> None:
    async with await open_database(db_path):
        pass

    with sole_use(db_path), pytest.raises(DatabaseBusyError, match="restore"):
        await open_database(db_path, busy_timeout_ms=200)
