"""The shared connection: settings on the file, transactions, and writers that overlap in time."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from storage import Database, MessageStatus, Role, audit_actions, open_database

from .conftest import FakeClock
from .factories import INTEGRITY_ERRORS, SENDER_CHAT, USER, a_message

REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_wal_mode_is_stored_in_the_file(db: Database, db_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(db_path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)foreign key"):
        await db.messages.add(a_message(bulk_job_id=12345))
    assert await db.messages.list_recent() == []


async def test_timestamps_come_from_the_injected_clock_as_aware_utc(db: Database, clock: FakeClock) -> None:
    record = await db.messages.add(a_message())
    assert record.created_at == clock.now
    assert record.created_at.utcoffset() is not None

    later = clock.advance(90)
    updated = await db.messages.set_status(record.id, MessageStatus.SENDING)
    assert (updated.created_at, updated.updated_at) == (record.created_at, later)


async def test_a_clock_returning_naive_times_is_refused(tmp_path: Path) -> None:
    # Refused at once: the active process writes its lease with the clock's time while opening.
    with pytest.raises(ValueError, match="timezone-aware"):
        await open_database(tmp_path / "naive.db", clock=datetime.now, active=True)
    db = await open_database(tmp_path / "naive.db", clock=datetime.now)
    try:
        with pytest.raises(ValueError, match="timezone-aware"):
            await db.messages.add(a_message())
    finally:
        await db.close()


async def test_transaction_groups_calls_and_rolls_all_back_on_error(db: Database) -> None:
    async def send_then_fail() -> None:
        async with db.transaction():
            await db.messages.add(a_message())
            await db.audit.record(audit_actions.SEND, actor_chat_id=SENDER_CHAT, actor_user_id=USER)
            raise RuntimeError("provider exploded")

    with pytest.raises(RuntimeError, match="provider exploded"):
        await send_then_fail()

    assert await db.messages.list_recent() == []
    assert await db.audit.list() == []


async def test_a_failing_inner_block_rolls_back_only_itself(db: Database) -> None:
    async def add_then_fail() -> None:
        async with db.transaction():
            await db.messages.add(a_message(recipient="254700000002"))
            raise KeyError("inner")

    async with db.transaction():
        kept = await db.messages.add(a_message(recipient="254700000001"))
        with pytest.raises(KeyError):
            await add_then_fail()
        await db.audit.record(audit_actions.SEND, actor_chat_id=SENDER_CHAT, actor_user_id=USER)

    assert [m.id for m in await db.messages.list_recent()] == [kept.id]
    assert len(await db.audit.list()) == 1


async def test_other_tasks_never_see_rows_of_an_open_transaction(db: Database) -> None:
    inside = asyncio.Event()
    finish = asyncio.Event()

    async def writer_that_fails() -> None:
        async with db.transaction():
            await db.messages.add(a_message())
            inside.set()
            await finish.wait()
            raise LookupError("rolled back")

    writer = asyncio.create_task(writer_that_fails())
    await inside.wait()
    reader = asyncio.create_task(db.messages.list_recent())
    try:
        await asyncio.sleep(0.05)
        read_through = reader.done()
    finally:
        finish.set()  # even when failing, so the fixture can close the database
        with pytest.raises(LookupError):
            await writer
    assert not read_through, "a read must wait for the open transaction instead of reading through it"
    assert await reader == []


async def test_many_tasks_writing_at_once_on_one_database_do_not_collide(db: Database) -> None:
    async def send(index: int) -> None:
        record = await db.messages.add(a_message(recipient=f"2547{index:08d}"))
        await db.messages.set_status(record.id, MessageStatus.SENDING)
        await db.messages.set_status(record.id, MessageStatus.SENT, provider_message_id=f"p{index}")
        await db.audit.record(audit_actions.SEND, actor_chat_id=SENDER_CHAT, actor_user_id=USER, units=1)

    await asyncio.gather(*(send(index) for index in range(60)))

    rows = await db.messages.list_recent(limit=100)
    assert len(rows) == 60
    assert {row.status for row in rows} == {MessageStatus.SENT}
    assert len(await db.audit.list(limit=100)) == 60


async def test_two_database_objects_on_one_file_write_at_once_without_locking_errors(db_path: Path) -> None:
    first = await open_database(db_path)
    second = await open_database(db_path)
    try:

        async def write(db: Database, index: int) -> None:
            # Each step reads before it writes: with a plain BEGIN the other file handle's commit in between
            # would make SQLite refuse the upgrade to a write lock at once, busy timeout or not.
            record = await db.messages.add(a_message(recipient=f"2547{index:08d}"))
            await db.messages.set_status(record.id, MessageStatus.SENDING)
            await db.chats.grant(index, Role.VIEWER, added_by=None)

        await asyncio.gather(*(write(first if i % 2 else second, i) for i in range(80)))

        rows = await first.messages.list_recent(limit=200)
        assert [row.status for row in rows] == [MessageStatus.SENDING] * 80
        assert len(await second.chats.list()) == 80
        assert len(await second.audit.list(limit=200)) == 80
    finally:
        await first.close()
        await second.close()


_CHILD_WRITER = """
import asyncio, sys
from storage import audit_actions, open_database

async def main() -> None:
    db = await open_database(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    for index in range(int(sys.argv[2])):
        await db.audit.record(audit_actions.REFUSED, actor_chat_id=-index, actor_user_id=None, detail="child")
    await db.close()

asyncio.run(main())
"""


async def test_another_process_writing_at_the_same_time_does_not_raise_locked(db: Database, db_path: Path) -> None:
    writes = 150
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _CHILD_WRITER,
        str(db_path),
        str(writes),
        cwd=REPO_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    assert (await child.stdout.readline()).strip() == b"ready"
    child.stdin.write(b"go\n")
    await child.stdin.drain()

    for index in range(writes):
        await db.audit.record(audit_actions.SEND, actor_chat_id=index, actor_user_id=USER, detail="parent")

    _, stderr = await child.communicate()
    assert child.returncode == 0, stderr.decode()
    details = [row.detail for row in await db.audit.list(limit=1000)]
    assert details.count("parent") == details.count("child") == writes


async def test_a_writer_waits_for_another_process_lock_within_the_busy_timeout(db: Database, db_path: Path) -> None:
    held = threading.Event()

    def hold_write_lock(seconds: float) -> None:
        with contextlib.closing(sqlite3.connect(db_path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(seconds)
            other.execute("COMMIT")

    holder = asyncio.create_task(asyncio.to_thread(hold_write_lock, 0.3))
    await asyncio.to_thread(held.wait)
    started = time.monotonic()
    await db.audit.record(audit_actions.GRANT, actor_chat_id=1, actor_user_id=None)
    waited = time.monotonic() - started
    await holder

    assert waited >= 0.2
    assert len(await db.audit.list()) == 1


async def test_a_lock_held_longer_than_the_busy_timeout_fails_cleanly(db_path: Path) -> None:
    db = await open_database(db_path, busy_timeout_ms=100)
    try:
        with contextlib.closing(sqlite3.connect(db_path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await db.audit.record(audit_actions.GRANT, actor_chat_id=1, actor_user_id=None)
            other.execute("ROLLBACK")
        # The failed attempt left no transaction open: the next write works.
        await db.audit.record(audit_actions.GRANT, actor_chat_id=2, actor_user_id=None)
        assert [row.actor_chat_id for row in await db.audit.list()] == [2]
    finally:
        await db.close()


async def test_closing_twice_is_harmless(db_path: Path) -> None:
    db = await open_database(db_path)
    await db.close()
    await db.close()


async def test_database_works_as_an_async_context_manager(db_path: Path) -> None:
    async with await open_database(db_path) as db:
        await db.chats.seed_admins([7])
    async with await open_database(db_path) as db:
        assert await db.chats.admin_ids() == [7]
