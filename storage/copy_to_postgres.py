"""``python -m bot migrate-to``: each table the SQLite file shares with the PostgreSQL schema (both migrated first),
columns by name, in key order, a COPY per chunk, in one transaction; identities then go on past the copied ids.
Only into an empty target, with no bot on either side (both active locks held); ``ha_lease`` stays the target's."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from storage.database import connect_postgres, open_database
from storage.db_lock import BotRunningError, FileLock, active_lock_path
from storage.errors import StorageError
from storage.pg_lock import ACTIVE_LOCK_KEY
from storage.postgres_url import is_postgres_url, one_line_reason, safe_url

CHUNK_ROWS = 5000
# The target's own rows: its lease (the epoch goes on from there) and its migration number.
KEPT_TABLES = frozenset({"ha_lease", "schema_version"})
_INTEGER_TYPES = frozenset({"bigint", "integer", "smallint"})
_TEXT_TYPES = frozenset({"text", "character varying", "character"})
_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_DRIVER_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class MigrateRefusedError(StorageError):
    """The copy cannot start (target not empty, a bot running, schemas that do not match); nothing was changed."""


class MigrateFailedError(StorageError):
    """The copy failed halfway; its PostgreSQL transaction was rolled back, so the target is as it was."""


@dataclass(frozen=True, slots=True)
class TableCopied:
    name: str
    rows: int


@dataclass(frozen=True, slots=True)
class MigrateResult:
    tables: list[TableCopied]  # in the order they were copied (a table before those that refer to it)
    skipped: list[str]  # SQLite tables the PostgreSQL schema does not have
    schema_version: int

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)


@dataclass(frozen=True, slots=True)
class _SourceTable:
    name: str
    columns: list[str]  # in the SQLite file's order (columns added by ALTER TABLE come last)
    order_by: list[str]  # ``id``, else the primary key


@dataclass(frozen=True, slots=True)
class _TargetTable:
    types: dict[str, str]  # column → PostgreSQL data type
    identities: list[str]  # identity columns (``id``), whose sequences continue after the copy


async def copy_to_postgres(database: Path, url: str, *, chunk_rows: int = CHUNK_ROWS) -> MigrateResult:
    """Copy the SQLite file ``database`` into the empty PostgreSQL database at ``url``; every error's text is one
    line without the password. Refusals (nothing changed) raise ``MigrateRefusedError`` or ``BotRunningError``."""
    if not is_postgres_url(url):
        raise MigrateRefusedError(f"{safe_url(url)} is not a postgresql:// (or postgres://) URL")
    if not await asyncio.to_thread(database.is_file):
        raise MigrateRefusedError(f"there is no SQLite database at {database} (DATABASE_PATH)")
    active = FileLock(active_lock_path(database), exclusive=True)
    if not await asyncio.to_thread(active.try_acquire):  # held until the end: no bot can start on the file meanwhile
        raise BotRunningError(f"{database} is in use: a bot is running on it")
    try:
        async with await open_database(url, upgrade=True) as target_db:  # the newest PostgreSQL schema
            version = await target_db.schema_version()
        async with await open_database(database):  # the newest SQLite schema; its open lock keeps restores away
            where = (await asyncio.to_thread(database.resolve)).as_uri()
            source = await aiosqlite.connect(f"{where}?mode=ro", uri=True, isolation_level=None)
            try:
                target = await _connect(url)
                try:
                    tables, skipped = await _copy(source, target, url, chunk_rows)
                finally:
                    with contextlib.suppress(*_DRIVER_ERRORS):
                        await target.close(timeout=5)
            finally:
                await source.close()
    finally:
        active.release()
    return MigrateResult(tables, skipped, version)


async def _connect(url: str) -> asyncpg.Connection:
    return await connect_postgres(url, application_name="smsrelay-migrate-to", named=safe_url(url))


async def _copy(
    source: aiosqlite.Connection, target: asyncpg.Connection, url: str, chunk_rows: int
) -> tuple[list[TableCopied], list[str]]:
    found = await _source_tables(source)
    schema = await _target_tables(target)
    skipped = [table.name for table in found if table.name not in schema]
    tables = {table.name: table for table in found if table.name in schema and table.name not in KEPT_TABLES}
    for table in tables.values():
        unknown = [column for column in table.columns if column not in schema[table.name].types]
        if unknown:
            raise MigrateRefusedError(f"table {table.name}: the PostgreSQL schema has no column {', '.join(unknown)}")
    order = await _dependency_order(target, list(tables))
    try:
        if not await target.fetchval("SELECT pg_try_advisory_lock($1)", ACTIVE_LOCK_KEY):
            raise MigrateRefusedError(f"a bot is running on {safe_url(url)} (it holds the active lock); stop it first")
        try:
            async with target.transaction():
                await _refuse_rows(target, url, order)
                await source.execute("BEGIN")  # one snapshot of the file for every table
                try:
                    copied = [
                        await _copy_table(source, target, tables[name], schema[name].types, chunk_rows)
                        for name in order
                    ]
                finally:
                    await source.execute("ROLLBACK")
                for name in order:
                    await _continue_identities(target, name, schema[name].identities)
        finally:
            with contextlib.suppress(*_DRIVER_ERRORS):  # a broken session has let go of it anyway
                await target.execute("SELECT pg_advisory_unlock($1)", ACTIVE_LOCK_KEY)
    except _DRIVER_ERRORS as exc:
        raise MigrateFailedError(
            f"copy into {safe_url(url)} failed, nothing was kept: {one_line_reason(exc, url)}"
        ) from exc
    for name in order:
        with contextlib.suppress(*_DRIVER_ERRORS):  # planner statistics now, not when autovacuum gets to it
            await target.execute(f"ANALYZE {_q(name)}")
    return copied, skipped


async def _refuse_rows(target: asyncpg.Connection, url: str, tables: list[str]) -> None:
    holding = [name for name in tables if await target.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_q(name)})")]
    if holding:
        raise MigrateRefusedError(
            f"{safe_url(url)} already holds rows (in {', '.join(holding)}); migrate-to only fills an empty database"
        )


def _q(name: str) -> str:
    """A table or column name of our own schema, quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


async def _source_tables(source: aiosqlite.Connection) -> list[_SourceTable]:
    rows = await source.execute_fetchall(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        " ORDER BY name"
    )
    tables = []
    for name, sql in rows:
        info = list(await source.execute_fetchall("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", (name,)))
        columns = [str(column) for column, _ in info]
        key = [str(column) for column, pk in sorted(info, key=lambda row: row[1]) if pk]
        # Insertion order where SQLite keeps one (rowid): a group's members keep the order they were added in.
        order = ["id"] if "id" in columns else key if "WITHOUT ROWID" in str(sql).upper() else ["rowid"]
        tables.append(_SourceTable(str(name), columns, order))
    return tables


async def _target_tables(target: asyncpg.Connection) -> dict[str, _TargetTable]:
    """The tables of the target's schema, with the data type of each column."""
    rows = await target.fetch(
        "SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    )
    tables: dict[str, _TargetTable] = {}
    for row in rows:
        table = tables.setdefault(str(row["table_name"]), _TargetTable({}, []))
        table.types[str(row["column_name"])] = str(row["data_type"])
        if row["is_identity"] == "YES":
            table.identities.append(str(row["column_name"]))
    return tables


async def _dependency_order(target: asyncpg.Connection, tables: list[str]) -> list[str]:
    """The tables, each after those its foreign keys refer to (by name otherwise)."""
    rows = await target.fetch(
        "SELECT child.relname AS child, parent.relname AS parent FROM pg_constraint c"
        " JOIN pg_class child ON child.oid = c.conrelid JOIN pg_class parent ON parent.oid = c.confrelid"
        " WHERE c.contype = 'f' AND child.relnamespace = current_schema()::regnamespace"
    )
    sorter: TopologicalSorter[str] = TopologicalSorter({name: set() for name in sorted(tables)})
    for row in rows:
        if row["child"] in tables and row["parent"] in tables and row["child"] != row["parent"]:
            sorter.add(str(row["child"]), str(row["parent"]))
    try:
        return list(sorter.static_order())
    except CycleError as exc:
        raise MigrateRefusedError(f"the foreign keys between tables form a cycle: {exc.args[1]}") from exc


async def _copy_table(
    source: aiosqlite.Connection, target: asyncpg.Connection, table: _SourceTable, types: dict[str, str], chunk: int
) -> TableCopied:
    convert = [_converter(table.name, column, types[column]) for column in table.columns]
    order = f" ORDER BY {', '.join(map(_q, table.order_by))}" if table.order_by else ""
    copied = 0
    async with source.execute(f"SELECT {', '.join(map(_q, table.columns))} FROM {_q(table.name)}{order}") as cursor:
        while rows := await cursor.fetchmany(chunk):
            records = [tuple(change(value) for change, value in zip(convert, row, strict=True)) for row in rows]
            status = await target.copy_records_to_table(table.name, records=records, columns=table.columns)
            if status != f"COPY {len(records)}":
                raise MigrateFailedError(f"table {table.name}: PostgreSQL took {status!r} of {len(records)} rows")
            copied += len(records)
    return TableCopied(table.name, copied)


async def _continue_identities(target: asyncpg.Connection, table: str, identities: list[str]) -> None:
    """Move each identity sequence past the highest id copied, so the next insert gets a new id."""
    for column in identities:
        await target.execute(
            f"SELECT setval(pg_get_serial_sequence($1, $2), max_id) FROM (SELECT max({_q(column)}) AS max_id"
            f" FROM {_q(table)}) AS copied WHERE max_id IS NOT NULL",
            _q(table),
            column,
        )


def _converter(table: str, column: str, kind: str) -> Callable[[Any], Any]:
    """How a SQLite value becomes the value the PostgreSQL column takes (SQLite keeps what it was given)."""
    if kind in _INTEGER_TYPES:
        change: Callable[[Any], Any] = _integer
    elif kind in _TEXT_TYPES:
        change = _text
    else:
        raise MigrateRefusedError(f"column {table}.{column} is {kind} on PostgreSQL, which migrate-to cannot fill")

    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            return change(value)
        except (TypeError, ValueError):
            raise MigrateFailedError(
                f"column {table}.{column} holds a {type(value).__name__} that is not {kind}; nothing was kept"
            ) from None

    return convert


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value)
    raise ValueError(value)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(value)
