"""Opening the database the bot lives on (a SQLite file, or PostgreSQL at a ``postgresql://`` URL) and the
``Database`` object the rest of the program holds; ``docs/postgresql.md`` tells the differences.

One connection for the whole process (see ``connection.py`` for how tasks share it). On SQLite, WAL lets the bot
and a second process such as ``python -m bot notify`` read while the other writes; the busy timeout makes a writer
wait for the other's transaction instead of failing; foreign keys are enforced. Migrations run before the object
is returned (only in the active process), and a database written by a newer program is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from importlib.resources.abc import Traversable
from pathlib import Path
from types import TracebackType
from typing import Self

import aiosqlite
import asyncpg

from storage.alert_state import AlertStateRepository
from storage.audit import AuditRepository
from storage.blocklist import BlocklistRepository
from storage.chats import ChatRepository
from storage.codec import Clock, utc_now
from storage.connection import SharedConnection
from storage.db_lock import FileLock, open_lock
from storage.dialect import Dialect
from storage.errors import DatabaseUnavailableError, StorageError
from storage.groups import GroupRepository
from storage.incidents import IncidentRepository
from storage.jobs import BulkJobRepository
from storage.lease import take_lease
from storage.links import Link, PostgresLink, SqliteLink
from storage.messages import MessageRepository
from storage.migrations import migrate, migrate_postgres
from storage.postgres_url import is_postgres_url, one_line_reason, safe_url
from storage.quotas import QuotaRepository
from storage.restore_marker import RestoreMarkerRepository
from storage.retention import RetentionRepository
from storage.schedules import ScheduleRepository
from storage.spend_requests import SpendRequestRepository
from storage.templates import TemplateRepository
from storage.tracking import TrackingRepository
from storage.usage import UsageRepository

DEFAULT_BUSY_TIMEOUT_MS = 5000
COMMAND_TIMEOUT = 60.0  # seconds any one PostgreSQL statement may take (100,000 recipients are stored in ~2 s)


class Database:
    """The repositories over one shared connection; build it with ``open_database``."""

    def __init__(
        self, link: Link, *, path: Path | None, clock: Clock | None = None, lock: FileLock | None = None
    ) -> None:
        self.path = path  # the SQLite file; None on PostgreSQL
        self._lock = lock  # the shared open lock: `python -m bot restore` refuses to run meanwhile (db_lock.py)
        self._shared = SharedConnection(link, clock or utc_now)
        self.dialect: Dialect = link.dialect
        self.audit = AuditRepository(self._shared)
        self.chats = ChatRepository(self._shared, self.audit)
        self.messages = MessageRepository(self._shared)
        self.jobs = BulkJobRepository(self._shared, self.messages)
        self.tracking = TrackingRepository(self._shared)
        self.alert_state = AlertStateRepository(self._shared)
        self.incidents = IncidentRepository(self._shared)
        self.spend_requests = SpendRequestRepository(self._shared)
        self.groups = GroupRepository(self._shared)
        self.blocklist = BlocklistRepository(self._shared)
        self.templates = TemplateRepository(self._shared, self.audit)
        self.quotas = QuotaRepository(self._shared)
        self.usage = UsageRepository(self._shared)
        self.retention = RetentionRepository(self._shared)
        self.schedules = ScheduleRepository(self._shared)
        self.restores = RestoreMarkerRepository(self._shared)  # set by `python -m bot restore`
        self._closed = False

    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Group several repository calls into one atomic write (e.g. a change and its audit row).

        Concurrent tasks take turns; calls inside the block join it. Do not await network calls inside.
        """
        return self._shared.transaction()

    async def schema_version(self) -> int:
        row = await self._shared.fetch_one(
            self.dialect.pick(sqlite="PRAGMA user_version", postgresql="SELECT MAX(version) FROM schema_version")
        )
        return 0 if row is None else int(row[0])

    @property
    def epoch(self) -> int | None:
        """The lease epoch this process took when it opened the database as the active one (else None)."""
        return self._shared.epoch

    @property
    def previous_owner(self) -> str | None:
        """``host:pid`` of the process that was active before this one took the lease (None: never any)."""
        return self._shared.previous_owner

    @property
    def link_broken(self) -> bool:
        """The connection died (PostgreSQL gone or restarted): every later statement fails too."""
        return self._shared.link_broken

    @property
    def unusable(self) -> bool:
        """Another process took the lease, or the connection died: this process must stop its work and reopen."""
        return self._shared.lease_lost or self._shared.link_broken

    def lose_lease(self) -> None:
        """Another process may be active now: from here on every claim and record of bulk rows fails at once."""
        self._shared.lease_lost = True

    async def close(self) -> None:
        """Wait for the running transaction, then close; calling it twice is harmless."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._shared.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def open_database(
    target: str | Path,
    *,
    clock: Clock | None = None,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    migrations_dir: Traversable | Path | None = None,
    upgrade: bool = True,
    active: bool = False,
) -> Database:
    """Open a SQLite file (creating its folder) or a ``postgresql://`` URL; the caller must ``close()`` it.
    ``upgrade=False``: leave the schema as it is (a command beside a bot that may be older). ``active``: take the
    lease (``lease.py``), as the one process that claims and records bulk rows."""
    if isinstance(target, str) and is_postgres_url(target):
        return await _open_postgres(target, clock=clock, migrations_dir=migrations_dir, upgrade=upgrade, active=active)
    path = Path(target)
    await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
    lock = open_lock(path)
    await asyncio.to_thread(lock.acquire, wait_seconds=busy_timeout_ms / 1000)
    try:
        # isolation_level=None: sqlite3 must not open transactions behind our back; SharedConnection does that.
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except BaseException:
        lock.release()
        raise
    try:
        conn.row_factory = sqlite3.Row
        # busy_timeout first: switching to WAL needs a lock another process may be holding.
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")
        mode = await _enable_wal(conn, busy_timeout_ms)
        if mode.lower() != "wal":
            raise StorageError(f"{path}: SQLite refused WAL mode (got {mode!r}); is it on a network share?")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; FULL would fsync every commit
        if upgrade:
            await migrate(conn, migrations_dir)
        database = Database(SqliteLink(conn), path=path, clock=clock, lock=lock)
        if active and migrations_dir is None:  # a test's own migrations may predate the lease (0015)
            await take_lease(database._shared)
    except BaseException:
        try:
            await conn.close()
        finally:
            lock.release()
        raise
    return database


async def connect_postgres(
    url: str, *, application_name: str, named: str, command_timeout: float | None = None
) -> asyncpg.Connection:
    """A connection to ``url``, or ``DatabaseUnavailableError``: "<named>: cannot connect: …", no password."""
    try:
        return await asyncpg.connect(
            url, timeout=10, command_timeout=command_timeout, server_settings={"application_name": application_name}
        )
    except (OSError, TimeoutError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailableError(f"{named}: cannot connect: {one_line_reason(exc, url)}") from exc


async def _open_postgres(
    url: str, *, clock: Clock | None, migrations_dir: Traversable | Path | None, upgrade: bool, active: bool
) -> Database:
    # command_timeout: a statement on a connection that went silent (a network cut) fails instead of hanging.
    conn = await connect_postgres(
        url, application_name="smsrelay", named=f"DATABASE_URL ({safe_url(url)})", command_timeout=COMMAND_TIMEOUT
    )
    try:
        if upgrade:
            await migrate_postgres(conn, migrations_dir)
        database = Database(PostgresLink(conn), path=None, clock=clock)
        if active and migrations_dir is None:  # a test's own migrations may predate the lease (0015)
            await take_lease(database._shared)
    except asyncpg.InsufficientPrivilegeError as exc:
        await conn.close(timeout=5)
        raise DatabaseUnavailableError(
            f"DATABASE_URL ({safe_url(url)}): missing rights: {one_line_reason(exc, url)}"
        ) from exc
    except StorageError as exc:
        await conn.close(timeout=5)
        if isinstance(exc.__cause__, asyncpg.InsufficientPrivilegeError):
            raise DatabaseUnavailableError(
                f"DATABASE_URL ({safe_url(url)}): missing rights: {one_line_reason(exc.__cause__, url)}"
            ) from exc
        raise
    except BaseException:
        await conn.close(timeout=5)
        raise
    return database


async def check_postgres(url: str) -> None:
    """Connect once and check the rights the bot needs; ``DatabaseUnavailableError`` (one line) when it cannot."""
    conn = await connect_postgres(url, application_name="smsrelay-check", named=f"DATABASE_URL ({safe_url(url)})")
    try:
        user, schema, can_create, migrated = await conn.fetchrow(
            "SELECT current_user, current_schema(), has_schema_privilege(current_schema(), 'CREATE'),"
            " to_regclass('messages') IS NOT NULL"
        )
        if migrated:
            missing = await conn.fetchval(
                "SELECT string_agg(p, ', ') FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) AS p"
                " WHERE NOT has_table_privilege('messages', p)"
            )
            if missing:
                raise DatabaseUnavailableError(
                    f"DATABASE_URL ({safe_url(url)}): missing rights: {user} may not {missing} on the table messages"
                )
        elif schema is None or not can_create:
            raise DatabaseUnavailableError(
                f"DATABASE_URL ({safe_url(url)}): missing rights: {user} may not create tables in schema {schema}"
                " (GRANT CREATE ON SCHEMA public, or make it the database's owner)"
            )
    finally:
        await conn.close(timeout=5)


async def _enable_wal(conn: aiosqlite.Connection, busy_timeout_ms: int) -> str:
    """Switch to WAL, waiting up to the busy timeout for another process that is creating or migrating the file.

    SQLite can answer "database is locked" to this pragma without calling the busy handler (the lock it needs is
    one it will not wait for), so the wait is done here: two processes starting on a new file at once both succeed.
    """
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            return str(next(iter(await conn.execute_fetchall("PRAGMA journal_mode = WAL")))[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(0.02)
