"""Schema creation and upgrades: from an empty file, again on an up-to-date one, refusals, and failures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from storage import MessageStatus, MigrationError, SchemaTooNewError, migrate, open_database
from storage.migrations import load_migrations, split_statements
from storage.restore_marker import write_marker

from .factories import ADMIN_CHAT, a_job, numbers, old_schema_job

EXPECTED_TABLES = {"chats", "messages", "bulk_jobs", "audit"}


def _tables(path: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _user_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


async def _raw(path: Path) -> aiosqlite.Connection:
    return await aiosqlite.connect(path, isolation_level=None)


async def test_open_creates_the_folder_and_applies_every_migration(db_path: Path) -> None:
    assert not db_path.parent.exists()

    db = await open_database(db_path)
    version = await db.schema_version()
    await db.close()

    assert version == len(load_migrations()) >= 1
    assert _tables(db_path) >= EXPECTED_TABLES
    assert _user_version(db_path) == version


async def test_reopening_an_up_to_date_database_changes_nothing_and_keeps_data(db_path: Path) -> None:
    db = await open_database(db_path)
    await db.chats.seed_admins([ADMIN_CHAT])
    version = await db.schema_version()
    await db.close()

    db = await open_database(db_path)
    try:
        assert await db.schema_version() == version
        assert await db.chats.admin_ids() == [ADMIN_CHAT]
    finally:
        await db.close()


async def test_migrate_twice_on_one_connection_returns_the_same_version(tmp_path: Path) -> None:
    conn = await _raw(tmp_path / "twice.db")
    try:
        first = await migrate(conn)
        second = await migrate(conn)
    finally:
        await conn.close()
    assert first == second == len(load_migrations())


async def test_database_newer_than_the_code_is_refused_and_left_untouched(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    known = len(load_migrations())
    newer = known + 1  # one past the newest migration, whatever number that is now
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {newer:d}")

    with pytest.raises(SchemaTooNewError) as caught:
        await open_database(db_path)

    message = str(caught.value)
    assert f"database schema version {newer} is newer than this program knows ({known})" in message
    assert "DATABASE_PATH" in message
    assert (caught.value.found, caught.value.known) == (newer, known)
    assert _user_version(db_path) == newer
    assert _tables(db_path) == set()


async def test_failing_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "migrations",
        {
            "0001_people.sql": "CREATE TABLE people (name TEXT NOT NULL);",
            "0002_broken.sql": (
                "CREATE TABLE pets (name TEXT);\n"
                "INSERT INTO people (name) VALUES ('half; applied');\n"
                "CREAT TABLE typo (x);\n"
            ),
        },
    )
    path = tmp_path / "broken.db"
    conn = await _raw(path)
    try:
        with pytest.raises(MigrationError, match=r"0002_broken\.sql"):
            await migrate(conn, folder)
        assert not conn.in_transaction
    finally:
        await conn.close()

    assert _user_version(path) == 1
    assert _tables(path) == {"people"}
    with contextlib.closing(sqlite3.connect(path)) as check:
        assert check.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 0

    # Once fixed, the same file upgrades normally from where it stopped.
    _write(folder, {"0002_broken.sql": "CREATE TABLE pets (name TEXT);"})
    conn = await _raw(path)
    try:
        assert await migrate(conn, folder) == 2
    finally:
        await conn.close()
    assert _tables(path) == {"people", "pets"}


async def test_later_migrations_build_on_earlier_ones_in_number_order(tmp_path: Path) -> None:
    # Written in reverse so that directory order cannot make the test pass by accident.
    files = {f"{n:04d}_step_{n}.sql": f"ALTER TABLE t ADD COLUMN c{n} INTEGER;" for n in range(12, 1, -1)}
    files["0001_start.sql"] = "CREATE TABLE t (id INTEGER PRIMARY KEY);"
    folder = _write(tmp_path / "migrations", files)
    path = tmp_path / "ordered.db"
    conn = await _raw(path)
    try:
        assert await migrate(conn, folder) == 12
    finally:
        await conn.close()
    with contextlib.closing(sqlite3.connect(path)) as check:
        columns = [row[1] for row in check.execute("PRAGMA table_info(t)")]
    assert columns == ["id", *(f"c{n}" for n in range(2, 13))]


async def test_gap_in_migration_numbers_is_refused(tmp_path: Path) -> None:
    folder = _write(tmp_path / "gap", {"0001_a.sql": "SELECT 1;", "0003_c.sql": "SELECT 1;"})
    with pytest.raises(MigrationError, match="0002 is missing"):
        load_migrations(folder)


@pytest.mark.parametrize("name", ["1_init.sql", "0002-Init.sql", "0002_init.SQL.sql"])
async def test_misnamed_migration_file_is_refused(tmp_path: Path, name: str) -> None:
    folder = _write(tmp_path / "bad", {"0001_a.sql": "SELECT 1;", name: "SELECT 1;"})
    with pytest.raises(MigrationError, match="not named"):
        load_migrations(folder)


async def test_files_that_are_not_sql_are_ignored(tmp_path: Path) -> None:
    folder = _write(tmp_path / "mixed", {"0001_a.sql": "SELECT 1;", "README.md": "notes", "__init__.py": ""})
    assert [m.name for m in load_migrations(folder)] == ["0001_a.sql"]


def test_statement_split_keeps_trigger_bodies_strings_and_comments_together() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x TEXT DEFAULT 'one; two');
    CREATE TRIGGER a_guard BEFORE DELETE ON a
    BEGIN
        SELECT RAISE(ABORT, 'no; never');
    END;
    INSERT INTO a (x) VALUES ('it''s; fine');
    -- trailing comment only
    """
    statements = split_statements(script)
    assert len(statements) == 3
    assert statements[0].endswith("CREATE TABLE a (x TEXT DEFAULT 'one; two');")
    assert statements[1].startswith("CREATE TRIGGER")
    assert statements[1].endswith("END;")
    assert statements[2] == "INSERT INTO a (x) VALUES ('it''s; fine');"


def test_statement_split_keeps_an_unterminated_tail_for_sqlite_to_reject() -> None:
    assert split_statements("SELECT 1; SELECT 2") == ["SELECT 1;", "SELECT 2"]


async def test_two_processes_creating_the_same_new_file_at_once_both_succeed(db_path: Path) -> None:
    first, second = await asyncio.gather(open_database(db_path), open_database(db_path))
    try:
        assert await first.schema_version() == await second.schema_version() == len(load_migrations())
    finally:
        await first.close()
        await second.close()


async def test_database_of_the_previous_version_upgrades_in_place_keeping_its_data(tmp_path: Path) -> None:
    # A file made by migrations 0001–0003 only (the release before templates), then opened by this program.
    previous = tmp_path / "previous"
    previous.mkdir()
    for migration in load_migrations():
        if migration.version <= 3:
            (previous / migration.name).write_text(migration.sql, encoding="utf-8")
    path = tmp_path / "old.db"
    conn = await _raw(path)
    try:
        assert await migrate(conn, previous) == 3
        await conn.execute(
            "INSERT INTO chats (chat_id, role, added_at, updated_at) VALUES (?, 'admin', ?, ?)",
            (ADMIN_CHAT, "2026-01-01T00:00:00.000000+00:00", "2026-01-01T00:00:00.000000+00:00"),
        )
    finally:
        await conn.close()

    db = await open_database(path)
    try:
        assert await db.schema_version() == len(load_migrations())
        assert await db.chats.admin_ids() == [ADMIN_CHAT]
        await db.templates.save("outage", "Power is off", by_chat_id=ADMIN_CHAT, by_user_id=None)
        record = await db.templates.get("OUTAGE")
        assert record is not None and record.body == "Power is off"
    finally:
        await db.close()


@pytest.mark.parametrize("restored", [False, True])
async def test_0014_settles_batches_in_flight_as_maybe_sent_and_stores_the_unstored_rest(
    tmp_path: Path, restored: bool
) -> None:
    """Upgrading from the claim-ahead money path (0013): rows its in-flight ranges cover become ``sending`` (the
    bot's start-up turns them ``unknown``); a job's unstored rest becomes ``pending`` rows, or ``sending`` ones in a
    restored backup (the live bot may have sent them after the backup was taken)."""
    previous = tmp_path / "previous"
    previous.mkdir()
    for migration in load_migrations():
        if migration.version <= 13:
            (previous / migration.name).write_text(migration.sql, encoding="utf-8")
    path = tmp_path / "old.db"
    old = await open_database(path, migrations_dir=previous)
    await old.close()
    plain = old_schema_job(path, a_job(), numbers(4))
    personal = old_schema_job(path, a_job(body="Hi {name}"), numbers(1, start=10))
    untouched = old_schema_job(path, a_job(), numbers(2, start=20))
    ids = {row[1]: row[0] for row in _rows(path, "SELECT id, recipient FROM messages")}
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        at = "2026-11-20T10:00:00.000000+00:00"
        # The plain job: its first two rows in flight (one claimed right before leaving, one claimed ahead); two
        # more recipients not stored yet. The personalised job: two texts not stored yet, from index 1 on.
        conn.execute(
            "INSERT INTO bulk_batches_in_flight (job_id, first_id, last_id, started_at, ahead) VALUES (?, ?, ?, ?, 0),"
            " (?, ?, ?, ?, 1)",
            (
                plain,
                ids[numbers(1)[0]],
                ids[numbers(1)[0]],
                at,
                plain,
                ids[numbers(2)[1]],
                ids[numbers(2)[1]],
                at,
            ),
        )
        conn.execute(
            "INSERT INTO bulk_job_unstored (job_id, next_index, items, units) VALUES (?, 0, ?, 2), (?, 1, ?, 1)",
            (plain, json.dumps(numbers(2, start=4)), personal,
             json.dumps([["254700000099", "Hi Amina", "GSM-7", 1], ["254700000011", "Hi Baraka", "GSM-7", 2]])),
        )  # fmt: skip
        if restored:
            write_marker(conn, "backup.db", datetime(2026, 11, 21, tzinfo=UTC))

    db = await open_database(path)
    try:
        assert await db.schema_version() == len(load_migrations())
        assert not {"bulk_batches_in_flight", "bulk_job_unstored"} & _tables(path)
        by_job = {
            job: [(m.recipient, m.status, m.body, m.segments) for m in await db.messages.list_for_job(job)]
            for job in (plain, personal, untouched)
        }
        sending, pending = MessageStatus.SENDING, MessageStatus.PENDING
        rest = sending if restored else pending
        assert by_job[plain] == [
            *[(n, sending, "Offer ends Friday", 1) for n in numbers(2)],
            *[(n, pending, "Offer ends Friday", 1) for n in numbers(2, start=2)],
            *[(n, rest, "Offer ends Friday", 1) for n in numbers(2, start=4)],
        ]
        assert by_job[personal] == [(numbers(1, start=10)[0], pending, "Hi {name}", 1),
                                       ("254700000011", rest, "Hi Baraka", 2)]  # fmt: skip
        assert {status for _, status, _, _ in by_job[untouched]} == {pending}
        settled = await db.jobs.mark_stuck_sending_unknown("maybe sent")
        assert len(settled) == (5 if restored else 2) and {m.status for m in settled} == {MessageStatus.UNKNOWN}
    finally:
        await db.close()


def _rows(path: Path, sql: str) -> list[tuple[int, str]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [(int(row[0]), str(row[1])) for row in conn.execute(sql)]
