"""The driver under ``SharedConnection``: aiosqlite for SQLite, asyncpg for PostgreSQL, behind one small surface.

Each link runs our ``?``-placeholder SQL on its one connection and reports rows changed, new ids and rows read;
rows of both drivers are read the same way (``row["name"]`` or ``row[0]``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

import aiosqlite
import asyncpg

from storage.dialect import Dialect, numbered_placeholders
from storage.errors import DatabaseUnavailableError

Params = Sequence[Any]


class Row(Protocol):
    """A row as both drivers give it: by column name or by position."""

    def __getitem__(self, key: int | str, /) -> Any: ...


class Link(Protocol):
    dialect: Dialect
    broken: bool  # the connection died for good
    # Whether a statement outside a transaction must wait for the transaction lock (see SharedConnection._turn).
    statements_need_the_lock: bool

    def in_transaction(self) -> bool: ...
    async def begin(self) -> None: ...
    async def run(self, sql: str, params: Params = ()) -> int: ...
    async def run_insert(self, sql: str, params: Params = ()) -> int: ...
    async def run_many(self, sql: str, rows: Iterable[Params]) -> int: ...
    async def fetch(self, sql: str, params: Params = ()) -> list[Row]: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...


class SqliteLink:
    dialect = Dialect.SQLITE
    broken = False  # a file does not go away like a server
    # aiosqlite runs statements in the order they were queued: a statement queued while no transaction is open
    # runs before any BEGIN queued later, so it need not hold the lock while it runs.
    statements_need_the_lock = False

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    async def begin(self) -> None:
        # IMMEDIATE takes the write lock up front: another process waits on the busy timeout instead of failing
        # halfway with "database is locked" when a read transaction upgrades.
        await self.conn.execute("BEGIN IMMEDIATE")

    async def run(self, sql: str, params: Params = ()) -> int:
        cursor = await self.conn.execute(sql, params)
        return cursor.rowcount

    async def run_insert(self, sql: str, params: Params = ()) -> int:
        cursor = await self.conn.execute(sql, params)
        if cursor.lastrowid is None:  # pragma: no cover - sqlite3 always sets it after an INSERT
            raise RuntimeError("INSERT did not report a row id")
        return cursor.lastrowid

    async def run_many(self, sql: str, rows: Iterable[Params]) -> int:
        cursor = await self.conn.executemany(sql, rows)
        return cursor.rowcount

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        # Execute and fetch are one call to the database thread: a cancelled caller cannot leave it half-stepped.
        return list(await self.conn.execute_fetchall(sql, params))

    async def rollback(self) -> None:
        # "no transaction is active" means COMMIT got there first.
        with contextlib.suppress(sqlite3.OperationalError):
            await self.conn.execute("ROLLBACK")

    async def close(self) -> None:
        await self.conn.close()


_LOST = (asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError, OSError)


class PostgresLink:
    dialect = Dialect.POSTGRESQL
    # One asyncpg connection runs one statement at a time: every statement takes its turn.
    statements_need_the_lock = True

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.broken = False  # the connection died: every later statement fails too (the bot stops and reopens)

    def in_transaction(self) -> bool:
        return bool(self.conn.is_in_transaction())

    @contextlib.contextmanager
    def _connection_lost(self) -> Iterator[None]:
        """A connection that broke (server gone, restarted, unreachable) becomes ``DatabaseUnavailableError``; a
        cancelled statement (``statement_timeout``, ``pg_cancel_backend``) is not a lost connection."""
        try:
            yield
        except asyncpg.QueryCanceledError:
            raise
        except _LOST as exc:
            self.broken = True
            raise DatabaseUnavailableError(f"the database connection is lost: {exc}") from exc
        except asyncpg.InterfaceError as exc:
            if not self.conn.is_closed():
                raise
            self.broken = True
            raise DatabaseUnavailableError(f"the database connection is lost: {exc}") from exc

    async def begin(self) -> None:
        with self._connection_lost():
            await self.conn.execute("BEGIN")

    async def run(self, sql: str, params: Params = ()) -> int:
        with self._connection_lost():
            return _changed(await self.conn.execute(numbered_placeholders(sql), *params))

    async def run_insert(self, sql: str, params: Params = ()) -> int:
        with self._connection_lost():
            return int(await self.conn.fetchval(numbered_placeholders(sql) + " RETURNING id", *params))

    async def run_many(self, sql: str, rows: Iterable[Params]) -> int:
        statement = numbered_placeholders(sql)
        changed = 0
        with self._connection_lost():
            for params in rows:
                changed += _changed(await self.conn.execute(statement, *params))
        return changed

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        with self._connection_lost():
            return list(await self.conn.fetch(numbered_placeholders(sql), *params))

    async def rollback(self) -> None:
        if self.conn.is_closed():
            return
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError):
            await self.conn.execute("ROLLBACK")

    async def close(self) -> None:
        try:
            await self.conn.close(timeout=5)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            self.conn.terminate()  # the server is gone: drop the socket


def _changed(status: str) -> int:
    """Rows changed from a command tag: ``UPDATE 3``, ``INSERT 0 1``, ``DELETE 0``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
