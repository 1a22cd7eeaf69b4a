"""Numbered SQL migrations, applied in order; tracked with ``PRAGMA user_version`` (SQLite) or ``schema_version``.

Files are ``storage/migrations/NNNN_name.sql`` (SQLite) and ``storage/migrations/postgresql/NNNN_name.sql``, both
numbered from 0001 without gaps and with the same numbers (a test checks it). Each file runs in its own
``BEGIN IMMEDIATE`` transaction together with its ``PRAGMA user_version = N``, so a file that fails leaves the
database exactly as the previous file left it. ``executescript`` is not used because it commits whatever
transaction is open before it starts; statements are split here instead (``sqlite3.complete_statement`` knows
about string literals and trigger bodies).

Rules for migration files: only transactional SQL (no VACUUM, no ``PRAGMA journal_mode``); foreign keys are
enforced and checked before the commit, so a table rebuild should use ``PRAGMA defer_foreign_keys = ON``.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import aiosqlite
import asyncpg

from storage.errors import MigrationError, SchemaTooNewError

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str  # the file name, for error messages
    sql: str


def default_migrations_dir() -> Traversable:
    return files("storage") / "migrations"


def postgres_migrations_dir() -> Traversable:
    return default_migrations_dir() / "postgresql"


# pg_advisory_xact_lock key of a migration (any constant; "smsrelay" in ASCII): two processes starting at once
# migrate one after the other.
_MIGRATION_LOCK = 0x736D7372656C6179


def load_migrations(directory: Traversable | Path | None = None) -> list[Migration]:
    """Read every ``.sql`` file, sorted by number; refuses misnamed files, duplicates and gaps."""
    folder = default_migrations_dir() if directory is None else directory
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_lower_case_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migrations are numbered {version}: {found[version].name}, {entry.name}")
        found[version] = Migration(version, entry.name, entry.read_text(encoding="utf-8"))
    migrations = [found[version] for version in sorted(found)]
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(f"migration {expected:04d} is missing (next file is {migration.name})")
    return migrations


def split_statements(sql: str) -> list[str]:
    """Split a script into statements; a trailing fragment without ``;`` is kept so SQLite reports it."""
    statements: list[str] = []
    pending = ""
    pieces = sql.split(";")
    for piece in pieces[:-1]:
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    pending += pieces[-1]
    meaningful = [line for line in pending.splitlines() if line.strip() and not line.strip().startswith("--")]
    if meaningful:
        statements.append(pending.strip())
    return statements


async def schema_version(conn: aiosqlite.Connection) -> int:
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def migrate(conn: aiosqlite.Connection, migrations_dir: Traversable | Path | None = None) -> int:
    """Bring the schema up to the newest migration and return the version; the connection must be idle.

    The connection must have been opened with ``isolation_level=None`` (transactions are ours to manage).
    """
    migrations = load_migrations(migrations_dir)
    known = len(migrations)
    current = await schema_version(conn)
    if current > known:
        raise SchemaTooNewError(current, known)
    for migration in migrations[current:]:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the write lock.
            current = await schema_version(conn)
            if current > known:
                raise SchemaTooNewError(current, known)
            if current < migration.version:
                await _apply(conn, migration)
                current = migration.version
        except BaseException:
            with contextlib.suppress(sqlite3.OperationalError):
                await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
    return current


async def _apply(conn: aiosqlite.Connection, migration: Migration) -> None:
    try:
        for statement in split_statements(migration.sql):
            await conn.execute(statement)
        violations = list(await conn.execute_fetchall("PRAGMA foreign_key_check"))
        if violations:
            raise MigrationError(
                f"migration {migration.name} leaves {len(violations)} rows breaking foreign keys "
                f"(first in table {violations[0][0]})"
            )
        # PRAGMA takes no parameters; the version is an int parsed from our own file name.
        await conn.execute(f"PRAGMA user_version = {migration.version:d}")
    except sqlite3.Error as exc:
        raise MigrationError(f"migration {migration.name} failed: {exc}") from exc


async def postgres_schema_version(conn: asyncpg.Connection) -> int:
    """The version in ``schema_version``; 0 for a database smsrelay has not migrated yet."""
    exists = await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL")
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))


async def migrate_postgres(conn: asyncpg.Connection, migrations_dir: Traversable | Path | None = None) -> int:
    """Bring a PostgreSQL schema up to the newest migration, each file in one transaction; returns the version."""
    migrations = load_migrations(postgres_migrations_dir() if migrations_dir is None else migrations_dir)
    known = len(migrations)
    current = await postgres_schema_version(conn)
    if current > known:
        raise SchemaTooNewError(current, known)
    for migration in migrations[current:]:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = await postgres_schema_version(conn)  # another process may have migrated meanwhile
            if current > known:
                raise SchemaTooNewError(current, known)
            if current >= migration.version:
                continue
            try:
                # No parameters: the simple query protocol runs the whole file (dollar-quoted bodies included).
                if split_statements(migration.sql):  # asyncpg fails on a query that is only comments
                    await conn.execute(migration.sql)
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"migration {migration.name} (PostgreSQL) failed: {exc}") from exc
            await conn.execute("DELETE FROM schema_version")
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", migration.version)
            current = migration.version
    return current
