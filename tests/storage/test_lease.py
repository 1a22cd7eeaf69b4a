"""The lease fences the money path: once another process became active, the old one claims and records nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import Database, LeaseLostError, MessageOutcome, MessageStatus, open_database

from .conftest import FakeClock
from .factories import a_job, numbers


async def _running_job(db: Database, count: int) -> int:
    job = await db.jobs.create(a_job(), numbers(count))
    assert await db.jobs.start_running(job.id)
    return job.id


async def test_a_claim_after_another_process_took_the_lease_fails_and_changes_nothing(
    db: Database, db_target: str | Path, clock: FakeClock
) -> None:
    job_id = await _running_job(db, 30)
    first = await db.jobs.claim_batch(job_id, 10)
    assert len(first) == 10
    newer = await open_database(db_target, clock=clock, active=True)  # the standby that took over
    try:
        assert newer.epoch is not None and db.epoch is not None and newer.epoch == db.epoch + 1
        with pytest.raises(LeaseLostError):
            await db.jobs.claim_batch(job_id, 10)
        totals = await newer.jobs.totals(job_id)
        assert (totals.pending, totals.sending) == (20, 10)
        # Everything the old owner does with bulk rows from here on fails at once, without asking the database.
        with pytest.raises(LeaseLostError):
            await db.jobs.claim_batch(job_id, 10)
        # The new owner claims the rest.
        assert len(await newer.jobs.claim_batch(job_id, 100)) == 20
    finally:
        await newer.close()


async def test_a_record_after_another_process_took_the_lease_fails_and_changes_nothing(
    db: Database, db_target: str | Path, clock: FakeClock
) -> None:
    job_id = await _running_job(db, 5)
    claimed = await db.jobs.claim_batch(job_id, 5)
    newer = await open_database(db_target, clock=clock, active=True)
    try:
        settled = await newer.jobs.mark_stuck_sending_unknown("the previous active process stopped mid-batch")
        assert len(settled) == 5
        outcomes = [MessageOutcome(row.id, MessageStatus.SENT, f"p{row.id}", 1) for row in claimed]
        with pytest.raises(LeaseLostError):
            await db.jobs.record_outcomes(outcomes)
        assert {m.status for m in await newer.messages.list_for_job(job_id)} == {MessageStatus.UNKNOWN}
        assert await db.jobs.release_claim([row.id for row in claimed]) == 0  # fenced: nothing moves
        assert {m.status for m in await newer.messages.list_for_job(job_id)} == {MessageStatus.UNKNOWN}
    finally:
        await newer.close()


async def test_a_command_that_opens_the_database_takes_no_lease_and_cannot_claim(
    db: Database, db_target: str | Path, clock: FakeClock
) -> None:
    job_id = await _running_job(db, 3)
    command = await open_database(db_target, clock=clock, upgrade=False)
    try:
        assert command.epoch is None
        with pytest.raises(RuntimeError, match="only the active process"):
            await command.jobs.claim_batch(job_id, 3)
        assert len(await db.jobs.claim_batch(job_id, 3)) == 3  # the active one's lease is untouched
    finally:
        await command.close()
