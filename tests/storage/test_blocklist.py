"""The opt-out blocklist in storage: adding, removing, listing, and the bulk claim skipping blocked numbers."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from storage import Database, MessageOutcome, MessageStatus, open_database
from storage.batches import BLOCKED_ERROR
from storage.migrations import default_migrations_dir
from tests.storage.conftest import FakeClock
from tests.storage.factories import a_job, numbers, old_schema_job


async def test_block_keeps_the_first_entry_and_reports_only_new_numbers(db: Database, clock: FakeClock) -> None:
    first = await db.blocklist.add(["254712345678"], reason="asked to stop", chat_id=5, user_id=7)
    clock.advance(60)
    again = await db.blocklist.add(
        ["254712345678", "254722000000", "254722000000"], reason=None, chat_id=6, user_id=None
    )

    assert first == ["254712345678"]
    assert again == ["254722000000"]
    listed = await db.blocklist.list()
    assert [entry.number for entry in listed] == ["254722000000", "254712345678"]  # latest first
    kept = listed[1]
    assert (kept.reason, kept.blocked_by_chat, kept.blocked_by_user) == ("asked to stop", 5, 7)
    assert await db.blocklist.count() == 2


async def test_unblock_removes_only_blocked_numbers_and_says_which(db: Database) -> None:
    await db.blocklist.add(["254712345678", "254722000000"], reason=None, chat_id=5, user_id=7)

    removed = await db.blocklist.remove(["254722000000", "254733000000"])

    assert removed == ["254722000000"]
    assert await db.blocklist.is_blocked("254712345678")
    assert not await db.blocklist.is_blocked("254722000000")
    assert await db.blocklist.blocked_among(["254712345678", "254722000000"]) == {"254712345678"}


async def test_blocked_list_pages(db: Database, clock: FakeClock) -> None:
    for number in numbers(5):
        await db.blocklist.add([number], reason=None, chat_id=5, user_id=None)
        clock.advance(1)

    first = await db.blocklist.list(2)
    third = await db.blocklist.list(2, offset=4)

    assert [entry.number for entry in first] == list(reversed(numbers(5)))[:2]
    assert [entry.number for entry in third] == [numbers(5)[0]]


async def test_claim_cancels_blocked_pending_rows_and_never_hands_them_out(db: Database) -> None:
    recipients = numbers(6)
    job = await db.jobs.create(a_job(), recipients)
    # Blocked after the job was stored, as when someone opts out while it runs: rows 1, 2 and 3 (one whole batch).
    await db.blocklist.add(recipients[1:4], reason="STOP", chat_id=5, user_id=None)

    await db.jobs.start_running(job.id)
    first = await db.jobs.claim_batch(job.id, 1)
    second = await db.jobs.claim_batch(job.id, 3)  # rows 1-3 are all blocked: it claims again and gets 4, 5
    third = await db.jobs.claim_batch(job.id, 3)

    assert [row.recipient for row in first] == [recipients[0]]
    assert [row.recipient for row in second] == recipients[4:6]
    assert third == []
    stored = await db.messages.list_for_job(job.id)
    assert [(row.status, row.error) for row in stored[1:4]] == [(MessageStatus.CANCELLED, BLOCKED_ERROR)] * 3
    assert {row.status for row in stored[:1] + stored[4:]} == {MessageStatus.SENDING}


async def test_requeued_rows_of_a_number_blocked_since_are_not_claimed(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(2))
    await db.jobs.start_running(job.id)
    batch = await db.jobs.claim_batch(job.id, 2)
    await db.jobs.record_outcomes([MessageOutcome(row.id, MessageStatus.FAILED, error="x") for row in batch])
    await db.blocklist.add([numbers(2)[0]], reason=None, chat_id=5, user_id=None)

    assert await db.jobs.requeue_failed_and_unknown(job.id) == 2
    again = await db.jobs.claim_batch(job.id, 10)

    assert [row.recipient for row in again] == [numbers(2)[1]]


async def test_a_database_from_0001_to_0003_upgrades_and_gets_a_working_blocklist(tmp_path: Path) -> None:
    old_set = tmp_path / "migrations"
    old_set.mkdir()
    for name in ("0001_initial.sql", "0002_alerts_and_tracking.sql", "0003_update_claims.sql"):
        shutil.copy(str(default_migrations_dir() / name), old_set / name)
    path = tmp_path / "old.db"
    async with await open_database(path, migrations_dir=old_set, active=True) as old:
        assert await old.schema_version() == 3
    job_id = old_schema_job(path, a_job(), numbers(2))
    async with await open_database(path, active=True) as upgraded:
        assert await upgraded.schema_version() >= 4
        await upgraded.blocklist.add([numbers(2)[0]], reason="opted out", chat_id=5, user_id=None)
        await upgraded.jobs.start_running(job_id)
        claimed = await upgraded.jobs.claim_batch(job_id, 10)
        assert [row.recipient for row in claimed] == [numbers(2)[1]]
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT number FROM blocked_numbers").fetchall() == [(numbers(2)[0],)]
    raw.close()
