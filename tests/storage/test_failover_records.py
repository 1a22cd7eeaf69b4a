"""Provider failover in the message log: the row names the provider that was sent the request, the one that
refused before it and why; a retry starts again from the job's own provider."""

from __future__ import annotations

import dataclasses

from storage import Database, MessageOutcome, MessageStatus

from .factories import a_job, a_message, numbers

REASON = "Texin refused the API key (HTTP 401)."


async def test_a_sending_row_handed_to_the_other_provider_says_who_refused_and_why(db: Database) -> None:
    record = await db.messages.add(a_message(status=MessageStatus.SENDING, provider="texin"))
    assert (record.failover_from, record.failover_reason) == (None, None)

    moved = await db.messages.record_failover(record.id, provider="sms254", failover_from="texin", reason=REASON)

    assert moved is not None
    assert (moved.provider, moved.failover_from, moved.failover_reason) == ("sms254", "texin", REASON)
    sent = await db.messages.set_status(record.id, MessageStatus.SENT)
    assert (sent.provider, sent.failover_from, sent.failover_reason) == ("sms254", "texin", REASON)
    assert await db.messages.get_by_provider_id("sms254", "x") is None


async def test_only_a_row_still_sending_can_be_handed_over(db: Database) -> None:
    record = await db.messages.add(a_message(status=MessageStatus.SENDING, provider="texin"))
    await db.messages.set_status(record.id, MessageStatus.UNKNOWN, error="the bot stopped")

    assert await db.messages.record_failover(record.id, provider="sms254", failover_from="texin", reason=REASON) is None
    stored = await db.messages.get(record.id)
    assert stored is not None and (stored.provider, stored.failover_from) == ("texin", None)


async def test_a_claimed_batch_is_handed_over_whole_and_a_retry_goes_back_to_the_jobs_provider(db: Database) -> None:
    job = await db.jobs.create(dataclasses.replace(a_job(), provider="texin", provider_chosen=False), numbers(3))
    assert job.provider_chosen is False
    await db.jobs.start_running(job.id)
    batch = await db.jobs.claim_batch(job.id, 3)

    handed = await db.jobs.hand_over([row.id for row in batch], provider="sms254", failover_from="texin", reason=REASON)
    await db.jobs.record_outcomes([MessageOutcome(row.id, MessageStatus.FAILED, error="no credit") for row in batch])

    rows = await db.messages.list_for_job(job.id)
    assert handed is True
    assert {(m.provider, m.failover_from, m.failover_reason, m.status) for m in rows} == {
        ("sms254", "texin", REASON, MessageStatus.FAILED)
    }
    await db.jobs.finish(job.id)
    assert await db.jobs.requeue_failed_and_unknown(job.id) == 3
    rows = await db.messages.list_for_job(job.id)
    assert {(m.provider, m.failover_from, m.failover_reason, m.status) for m in rows} == {
        ("texin", None, None, MessageStatus.PENDING)
    }


async def test_a_batch_with_a_row_no_longer_sending_is_not_handed_over(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(2))
    await db.jobs.start_running(job.id)
    batch = await db.jobs.claim_batch(job.id, 2)
    await db.jobs.record_outcomes([MessageOutcome(batch[0].id, MessageStatus.UNKNOWN, error="crash rule")])

    handed = await db.jobs.hand_over([row.id for row in batch], provider="texin", failover_from="sms254", reason="x")

    assert handed is False


async def test_jobs_are_chosen_unless_said_otherwise(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(1))
    stored = await db.jobs.get(job.id)
    assert job.provider_chosen is True and stored is not None and stored.provider_chosen is True
