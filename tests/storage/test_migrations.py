"""Schema creation and upgrades: from an empty file, again on an up-to-date one, refusals, and failures."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from storage import MigrationError, SchemaTooNewError, Unstored, migrate, open_database
from storage.migrations import load_migrations, split_statements

from .factories import ADMIN_CHAT, a_job, numbers

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


async def test_a_database_at_0009_upgrades_to_keep_unstored_recipients_and_still_closes_its_cut_jobs(
    tmp_path: Path,
) -> None:
    previous = tmp_path / "previous"
    previous.mkdir()
    for migration in load_migrations():
        if migration.version <= 9:
            (previous / migration.name).write_text(migration.sql, encoding="utf-8")
    path = tmp_path / "old.db"
    old = await open_database(path, migrations_dir=previous)
    try:
        assert await old.schema_version() == 9
        cut = await old.jobs.create(a_job(), numbers(3))
    finally:
        await old.close()
    with sqlite3.connect(path) as conn:  # what the older version left when a crash cut its storing: 3 of 5 rows
        conn.execute("UPDATE bulk_jobs SET total_recipients = 5, state = 'running' WHERE id = ?", (cut.id,))

    db = await open_database(path)
    try:
        assert await db.schema_version() == len(load_migrations())
        assert [(job.id, stored) for job, stored in await db.jobs.close_half_stored("cut")] == [(cut.id, 3)]
        job = await db.jobs.create(a_job(), numbers(5), store_first=2)
        assert await db.jobs.unstored(job.id) == Unstored(numbers(5)[2:], None, 0)
        assert await db.jobs.close_half_stored("cut") == []
    finally:
        await db.close()
