"""One database connection shared by every task of the bot, with write transactions taken one at a time.

All tasks share a single connection (SQLite or PostgreSQL, see ``links.py``), so a transaction is connection
state: if task B ran a statement while task A was between BEGIN and COMMIT, B's statement would land inside A's
transaction. An ``asyncio.Lock`` therefore guards transactions (a statement on its own waits while one is open),
and the task that holds it may nest further ``transaction()`` blocks, which become savepoints. That is what lets
a service write a change and its audit row atomically while each repository method opens its own transaction.

Never await network calls inside a transaction: every other task's database access waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from storage.codec import Clock, time_to_text
from storage.dialect import Dialect
from storage.errors import LeaseLostError
from storage.links import Link, Params, Row


class SharedConnection:
    def __init__(self, link: Link, clock: Clock) -> None:
        self._link = link
        self.dialect: Dialect = link.dialect
        self._clock = clock
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._depth = 0
        # The active process's lease (``lease.py``): claims and records carry it; None in commands like notify.
        self.epoch: int | None = None
        self.previous_owner: str | None = None  # "host:pid" of the process that held the lease before this one
        self.lease_lost = False

    @property
    def link_broken(self) -> bool:
        return self._link.broken

    def fence(self, *, claiming: bool) -> int:
        """The epoch a claim or record must still find in ``ha_lease``; raises when this process holds none, and
        for a claim once the lock is known lost (a record still goes to the database: the epoch there decides)."""
        if claiming and self.lease_lost:
            raise LeaseLostError("this process is no longer the active one")
        if self.epoch is None:
            raise RuntimeError("only the active process claims or records bulk rows")
        return self.epoch

    def now(self) -> datetime:
        return self._clock()

    def now_text(self) -> str:
        return time_to_text(self._clock())

    def _owned_here(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    def in_transaction_here(self) -> bool:
        """Whether the current task is inside ``transaction()``: what it reads may still be rolled back."""
        return self._owned_here()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Commit when the block ends, roll back if it raises; nested blocks in one task are savepoints."""
        if self._owned_here():
            async with self._savepoint():
                yield
            return
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                try:
                    # Inside the try: a BEGIN already queued to the database thread still runs when this task is
                    # cancelled while waiting for it (busy timeout), and must then be rolled back, not orphaned.
                    await self._link.begin()
                    yield
                except BaseException:
                    await self._rollback()
                    raise
                try:
                    await self._link.run("COMMIT")
                except BaseException:
                    # A failed or cancelled COMMIT must not leave the shared connection inside a transaction.
                    await self._rollback()
                    raise
            finally:
                self._owner = None

    @contextlib.asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        self._depth += 1
        name = f"nested_{self._depth}"  # a counter, never outside input
        try:
            await self._link.run(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                await self._link.run(f"ROLLBACK TO SAVEPOINT {name}")
                await self._link.run(f"RELEASE SAVEPOINT {name}")
                raise
            await self._link.run(f"RELEASE SAVEPOINT {name}")
        finally:
            self._depth -= 1

    async def _rollback(self) -> None:
        # The statement queue of aiosqlite runs in order, so even when this await is cancelled the ROLLBACK
        # still runs before the next task's BEGIN.
        await self._link.rollback()

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Wait until no other task's transaction is open; statements on their own need no more than that.

        aiosqlite runs statements one at a time in the order they were queued, and a statement is queued in the
        same step of the event loop as this check (nothing is awaited in between). So a statement queued while
        the lock is free runs before any BEGIN queued later, and cannot land inside someone's transaction; it
        does not hold the lock while it runs, so a bulk job's claim does not queue behind the whole round trip of
        a read or a record (only behind its few hundred microseconds in SQLite). PostgreSQL's one connection runs
        one statement at a time, so there every statement takes the lock.
        """
        if self._owned_here() or not (
            self._link.statements_need_the_lock or self._lock.locked() or self._link.in_transaction()
        ):
            yield
        else:
            # A transaction is open (or one was left open and the caller rolls it back first): take the lock,
            # so nothing another task queues can land in between.
            async with self._lock:
                yield

    def _require_transaction(self) -> None:
        if not self._owned_here():
            raise RuntimeError("writes must run inside `async with ... transaction()`")

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._turn():
            return await self._link.fetch(sql, params)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write inside the current transaction; returns the number of rows changed."""
        self._require_transaction()
        return await self._link.run(sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT into a table with an ``id`` column inside the current transaction; returns the new id."""
        self._require_transaction()
        return await self._link.run_insert(sql, params)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement for many parameter rows in the current transaction; returns rows changed."""
        self._require_transaction()
        return await self._link.run_many(sql, rows)

    async def write_one(self, sql: str, params: Params = ()) -> list[Row]:
        """One write statement that is atomic on its own; returns the rows of its RETURNING clause.

        Outside a transaction SQLite runs a single statement as its own transaction, so the hot paths of a bulk
        job (claim a batch, record a batch) cost one round trip to the database thread instead of four. Execute
        and fetch are one call to that thread: a cancelled caller cannot leave the statement half-stepped.
        """
        async with self._on_its_own():
            return await self._link.fetch(sql, params)

    async def write_count(self, sql: str, params: Params = ()) -> int:
        """Like ``write_one`` for a statement without RETURNING: returns how many rows it changed (no rows are
        built in Python, which matters for the per-batch writes of a bulk job)."""
        async with self._on_its_own():
            return await self._link.run(sql, params)

    @contextlib.asynccontextmanager
    async def _on_its_own(self) -> AsyncIterator[None]:
        """The turn of a write that must be atomic on its own (``write_one``, ``write_count``)."""
        async with self._turn():
            if not self._owned_here() and self._link.in_transaction():
                # Nobody owns a transaction, yet one is open: never let this write disappear into it.
                await self._rollback()
            yield

    async def close(self) -> None:
        if self._owned_here():
            raise RuntimeError("cannot close the database inside one of its transactions")
        async with self._lock:
            await self._link.close()
