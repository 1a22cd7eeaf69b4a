"""Paths found in review: a cancelled BEGIN, retried rows, and upgrading a database that already has history."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from storage import Database, MessageOutcome, MessageStatus, open_database
from storage.migrations import default_migrations_dir
from tests.storage.factories import a_job, numbers


async def test_a_transaction_cancelled_while_waiting_for_begin_leaves_nothing_open(db_path: Path) -> None:
    db = await open_database(db_path, busy_timeout_ms=2000, active=True)
    job = await db.jobs.create(a_job(), numbers(3))
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock: our BEGIN waits on the busy timeout
    waiting = asyncio.create_task(db.alert_state.put("k", "v"))
    await asyncio.sleep(0.2)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    other.execute("ROLLBACK")
    other.close()
    await db.jobs.start_running(job.id)
    batch = await db.jobs.claim_batch(job.id, 3)
    await db.jobs.record_outcomes([MessageOutcome(row.id, MessageStatus.SENT) for row in batch])
    await db.alert_state.put("after", "yes")  # a transaction can be opened again
    await db.close()
    async with await open_database(db_path, active=True) as reopened:  # and everything above was really committed
        statuses = {m.status for m in await reopened.messages.list_for_job(job.id)}
        assert statuses == {MessageStatus.SENT}
        assert await reopened.alert_state.get("after") == "yes"


async def test_requeue_forgets_what_the_previous_attempt_left(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(1))
    await db.jobs.start_running(job.id)
    [row] = await db.jobs.claim_batch(job.id, 1)
    await db.jobs.record_outcomes(
        [MessageOutcome(row.id, MessageStatus.UNKNOWN, provider_message_id="API-OLD", units=1, cost=Decimal("0.3"))]
    )
    assert await db.jobs.requeue_failed_and_unknown(job.id) == 1
    [again] = await db.jobs.claim_batch(job.id, 1)
    await db.jobs.record_outcomes([MessageOutcome(again.id, MessageStatus.UNKNOWN, error="no answer")])
    stored = await db.messages.get(row.id)
    assert stored is not None
    assert stored.provider_message_id is None and stored.units is None and stored.cost is None


async def test_upgrading_to_0002_does_not_turn_history_into_follow_up_work(tmp_path: Path) -> None:
    only_first = tmp_path / "migrations"
    only_first.mkdir()
    shutil.copy(str(default_migrations_dir() / "0001_initial.sql"), only_first / "0001_initial.sql")
    path = tmp_path / "old.db"
    async with await open_database(path, migrations_dir=only_first, active=True) as old:
        assert await old.schema_version() == 1
    # A database written by the version before 0002: a finished job whose messages were sent.
    at = "2026-11-20T10:00:00.000000+00:00"
    with sqlite3.connect(path) as raw:
        raw.execute(
            "INSERT INTO bulk_jobs (id, chat_id, body, encoding, segments, provider, state, total_recipients,"
            " created_at, updated_at) VALUES (1, 5, 'hi', 'GSM-7', 1, 'texin', 'done', 2, ?, ?)",
            (at, at),
        )
        raw.executemany(
            "INSERT INTO messages (chat_id, provider, provider_message_id, recipient, body, encoding, segments,"
            " status, bulk_job_id, created_at, updated_at)"
            " VALUES (5, 'texin', ?, ?, 'hi', 'GSM-7', 1, 'sent', 1, ?, ?)",
            [("API-1", "254712345678", at, at), ("API-2", "254722000000", at, at)],
        )
    raw.close()
    later = datetime(2026, 11, 23, tzinfo=UTC)
    async with await open_database(path, active=True) as upgraded:
        assert await upgraded.schema_version() >= 2  # 0002 and whatever came after it
        assert await upgraded.tracking.due("texin", now=later, first_cutoff=later, limit=10) == []
        assert await upgraded.tracking.jobs_awaiting_summary("texin") == []
        # New messages are followed as usual.
        job = await upgraded.jobs.create(a_job(), numbers(1))
        await upgraded.jobs.start_running(job.id)
        [row] = await upgraded.jobs.claim_batch(job.id, 1)
        await upgraded.jobs.record_outcomes([MessageOutcome(row.id, MessageStatus.SENT, provider_message_id="API-3")])
        far = datetime(2100, 1, 1, tzinfo=UTC)
        due = await upgraded.tracking.due("sms254", now=far, first_cutoff=far, limit=10)  # the factory's provider
        assert [item.message.provider_message_id for item in due] == ["API-3"]
