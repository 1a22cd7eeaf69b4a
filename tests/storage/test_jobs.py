"""Bulk jobs: creation in one transaction, the claim, outcomes, totals from rows, cancel and resume."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest

from storage import (
    Database,
    JobState,
    MessageOutcome,
    MessageStatus,
    NotFoundError,
    PersonalText,
    batches,
    open_database,
)

from .conftest import FakeClock
from .factories import INTEGRITY_ERRORS, SENDER_CHAT, USER, a_job, numbers

REPO_ROOT = Path(__file__).resolve().parents[2]


async def _running(db: Database, *recipients: list[str]) -> list[int]:
    """Jobs of ``a_job()`` to these recipients, each started (claims need a running job)."""
    ids = []
    for numbers_of_job in recipients:
        job = await db.jobs.create(a_job(), numbers_of_job)
        assert await db.jobs.start_running(job.id)
        ids.append(job.id)
    return ids


async def _send_all(db: Database, job_id: int, batch_size: int) -> int:
    await db.jobs.start_running(job_id)
    sent = 0
    while batch := await db.jobs.claim_batch(job_id, batch_size):
        await db.jobs.record_outcomes(
            [MessageOutcome(m.id, MessageStatus.SENT, provider_message_id=f"p{m.id}", units=1) for m in batch]
        )
        sent += len(batch)
    return sent


async def test_create_writes_the_job_and_one_pending_row_per_recipient(db: Database, clock: FakeClock) -> None:
    job = await db.jobs.create(a_job(), numbers(3))

    assert (job.chat_id, job.user_id, job.provider, job.sender_id) == (SENDER_CHAT, USER, "sms254", "SHOP")
    assert (job.state, job.total_recipients, job.created_at, job.finished_at) == (
        JobState.QUEUED,
        3,
        clock.now,
        None,
    )
    rows = await db.messages.list_for_job(job.id)
    assert [m.recipient for m in rows] == numbers(3)
    assert {(m.status, m.body, m.chat_id, m.provider, m.bulk_job_id) for m in rows} == {
        (MessageStatus.PENDING, "Offer ends Friday", SENDER_CHAT, "sms254", job.id)
    }
    assert await db.jobs.get(job.id) == job


async def test_create_without_recipients_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="at least one recipient"):
        await db.jobs.create(a_job(), [])


async def test_create_is_all_or_nothing(db: Database) -> None:
    recipients = cast(list[str], [*numbers(5), None])  # a NULL recipient breaks the NOT NULL constraint

    with pytest.raises(INTEGRITY_ERRORS, match=r"(?i)not[ -]null"):
        await db.jobs.create(a_job(), recipients)

    assert await db.jobs.list_for_chat(SENDER_CHAT) == []
    assert await db.messages.list_recent() == []


async def test_a_ten_thousand_recipient_job_is_stored_and_read_back_in_order(db: Database) -> None:
    recipients = numbers(10_000)
    job = await db.jobs.create(a_job(), recipients)

    read_back: list[str] = []
    while page := await db.messages.list_for_job(job.id, limit=1_000, offset=len(read_back)):
        read_back.extend(m.recipient for m in page)
    assert read_back == recipients
    assert (await db.jobs.totals(job.id)).pending == 10_000


async def test_a_claim_takes_the_lowest_pending_ids_of_that_job_only_and_only_while_it_runs(db: Database) -> None:
    other = await db.jobs.create(a_job(), numbers(3, start=500))
    job = await db.jobs.create(a_job(), numbers(5))
    assert await db.jobs.claim_batch(job.id, 2) == []  # queued: not started yet
    await db.jobs.start_running(job.id)

    first = await db.jobs.claim_batch(job.id, 2)
    second = await db.jobs.claim_batch(job.id, 2)

    assert [m.recipient for m in first] == numbers(2)
    assert [m.recipient for m in second] == numbers(2, start=2)
    assert (await db.jobs.totals(other.id)).pending == 3
    await db.jobs.finish(job.id)
    assert await db.jobs.claim_batch(job.id, 2) == []
    assert (await db.jobs.totals(job.id)).pending == 1


async def test_claim_batch_returns_rows_already_marked_sending(db: Database, clock: FakeClock) -> None:
    job = await db.jobs.create(a_job(), numbers(5))
    await db.jobs.start_running(job.id)
    later = clock.advance(5)

    first = await db.jobs.claim_batch(job.id, 3)
    second = await db.jobs.claim_batch(job.id, 3)

    assert [m.recipient for m in first] == numbers(3)
    assert [m.recipient for m in second] == numbers(2, start=3)
    stored = {m.id: m for m in await db.messages.list_for_job(job.id)}
    assert {(stored[r.id].status, stored[r.id].updated_at) for r in first} == {(MessageStatus.SENDING, later)}
    assert [stored[r.id].recipient for r in first] == [r.recipient for r in first]
    assert await db.jobs.claim_batch(job.id, 3) == []


async def test_recorded_outcomes_are_stored_and_totals_come_from_the_rows(db: Database) -> None:
    job = await db.jobs.create(a_job(segments=2), numbers(5))
    await db.jobs.start_running(job.id)
    batch = await db.jobs.claim_batch(job.id, 4)
    price = Decimal("0.35")  # would not add up exactly as a float

    applied = await db.jobs.record_outcomes(
        [
            MessageOutcome(batch[0].id, MessageStatus.SENT, provider_message_id="a", units=2, cost=price * 2),
            MessageOutcome(batch[1].id, MessageStatus.SENT, provider_message_id="b", units=2, cost=price * 2),
            MessageOutcome(batch[2].id, MessageStatus.FAILED, error="blacklisted"),
            MessageOutcome(batch[3].id, MessageStatus.UNKNOWN, error="timeout"),
        ]
    )

    assert applied == 4
    stored = {m.id: m for m in await db.messages.list_for_job(job.id)}
    assert (stored[batch[0].id].provider_message_id, stored[batch[0].id].cost) == ("a", Decimal("0.70"))
    assert stored[batch[2].id].error == "blacklisted"
    totals = await db.jobs.totals(job.id)
    assert (totals.pending, totals.sent, totals.failed, totals.unknown, totals.total) == (1, 2, 1, 1, 5)
    assert (totals.units, totals.cost) == (4, Decimal("1.40"))


async def test_totals_cost_is_none_until_a_row_has_a_cost(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(2))
    totals = await db.jobs.totals(job.id)
    assert (totals.cost, totals.units, totals.pending) == (None, 0, 2)


async def test_an_outcome_that_would_undo_a_delivery_is_rejected_and_the_rest_applied(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(3))
    await db.jobs.start_running(job.id)
    batch = await db.jobs.claim_batch(job.id, 3)
    # The delivery report for the first row arrived before the batch answer was stored.
    await db.messages.set_status(batch[0].id, MessageStatus.SENT)
    await db.messages.set_status(batch[0].id, MessageStatus.DELIVERED)
    await db.jobs.record_outcomes([MessageOutcome(batch[2].id, MessageStatus.FAILED, error="refused")])

    late_sent = MessageOutcome(batch[0].id, MessageStatus.SENT, provider_message_id="late")
    repeat_failed = MessageOutcome(batch[2].id, MessageStatus.FAILED)
    missing = MessageOutcome(987654, MessageStatus.SENT)
    applied = await db.jobs.record_outcomes(
        [late_sent, MessageOutcome(batch[1].id, MessageStatus.SENT), repeat_failed, missing]
    )

    assert applied == 1  # the late "sent", the repeated "failed" and an unknown id change nothing
    statuses = [m.status for m in await db.messages.list_for_job(job.id)]
    assert statuses == [MessageStatus.DELIVERED, MessageStatus.SENT, MessageStatus.FAILED]
    first = await db.messages.get(batch[0].id)
    assert first is not None
    assert first.provider_message_id is None


async def test_an_outcome_cannot_move_a_row_back_to_pending(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(1))
    await db.jobs.start_running(job.id)
    [row] = await db.jobs.claim_batch(job.id, 1)
    outcome = MessageOutcome(row.id, MessageStatus.PENDING)

    assert await db.jobs.record_outcomes([outcome]) == 0
    stored = await db.messages.get(row.id)
    assert stored is not None and stored.status is MessageStatus.SENDING


async def test_unfinished_jobs_are_the_queued_and_running_ones(db: Database) -> None:
    untouched = await db.jobs.create(a_job(), numbers(2))
    partial = await db.jobs.create(a_job(), numbers(4))
    await db.jobs.start_running(partial.id)
    await db.jobs.claim_batch(partial.id, 3)
    finished = await db.jobs.create(a_job(), numbers(2))
    await _send_all(db, finished.id, 10)
    await db.jobs.finish(finished.id)
    cancelled = await db.jobs.create(a_job(), numbers(2))
    await db.jobs.cancel_pending(cancelled.id)

    assert [j.id for j in await db.jobs.list_unfinished()] == [untouched.id, partial.id]
    assert await db.jobs.pending_in_unfinished() == 2 + 1  # the claimed rows are sending, not pending


async def test_rows_stuck_in_sending_become_unknown_and_are_never_resent(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(5))
    await db.jobs.start_running(job.id)
    in_flight = await db.jobs.claim_batch(job.id, 2)

    stuck = await db.jobs.mark_stuck_sending_unknown("bot restarted while sending")

    assert [m.id for m in stuck] == [m.id for m in in_flight]
    assert {(m.status, m.error) for m in stuck} == {(MessageStatus.UNKNOWN, "bot restarted while sending")}
    assert [m for m in await db.messages.list_for_job(job.id) if m.status is MessageStatus.UNKNOWN] == stuck
    remaining = await db.jobs.claim_batch(job.id, 10)
    assert [m.recipient for m in remaining] == numbers(3, start=2)
    assert await db.jobs.mark_stuck_sending_unknown("again") != []  # the new claim, not the old rows
    assert (await db.jobs.totals(job.id)).unknown == 5


async def test_cancel_turns_pending_rows_cancelled_and_leaves_rows_in_flight(db: Database, clock: FakeClock) -> None:
    job = await db.jobs.create(a_job(), numbers(5))
    await db.jobs.start_running(job.id)
    in_flight = await db.jobs.claim_batch(job.id, 2)
    stopped_at = clock.advance(3)

    assert await db.jobs.cancel_pending(job.id) == 3

    totals = await db.jobs.totals(job.id)
    assert (totals.cancelled, totals.sending, totals.pending) == (3, 2, 0)
    record = await db.jobs.get(job.id)
    assert record is not None
    assert (record.state, record.finished_at) == (JobState.CANCELLED, stopped_at)
    assert await db.jobs.list_unfinished() == []
    assert await db.jobs.claim_batch(job.id, 10) == []  # the claim reads the job's state: nothing more leaves
    # The rows already handed to the provider still get their outcome.
    assert await db.jobs.record_outcomes([MessageOutcome(m.id, MessageStatus.SENT) for m in in_flight]) == 2


async def test_cancelling_a_finished_job_keeps_its_state(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(1))
    await _send_all(db, job.id, 10)
    await db.jobs.finish(job.id)

    assert await db.jobs.cancel_pending(job.id) == 0
    record = await db.jobs.get(job.id)
    assert record is not None
    assert record.state is JobState.DONE


async def test_fail_pending_marks_the_rest_of_a_stopped_job_failed(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(4))
    await db.jobs.start_running(job.id)
    await db.jobs.claim_batch(job.id, 1)

    assert await db.jobs.fail_pending(job.id, "not sent: insufficient credit") == 3

    failed = await db.messages.list_for_job(job.id, status=MessageStatus.FAILED)
    assert {m.error for m in failed} == {"not sent: insufficient credit"}
    assert len(failed) == 3
    assert (await db.jobs.totals(job.id)).sending == 1


async def test_finishing_stamps_finished_at_once_and_a_retry_reopens_the_job(db: Database, clock: FakeClock) -> None:
    job = await db.jobs.create(a_job(), numbers(1))
    await db.jobs.start_running(job.id)
    [row] = await db.jobs.claim_batch(job.id, 1)
    await db.jobs.record_outcomes([MessageOutcome(row.id, MessageStatus.FAILED, error="barred")])

    done_at = clock.advance(10)
    done = await db.jobs.finish(job.id)
    clock.advance(10)
    still_done = await db.jobs.finish(job.id)
    await db.jobs.requeue_failed_and_unknown(job.id)
    reopened = await db.jobs.get(job.id)

    assert (done.state, done.finished_at, done.updated_at) == (JobState.DONE, done_at, done_at)
    assert (still_done.finished_at, still_done.updated_at) == (done_at, done_at)
    assert reopened is not None and (reopened.state, reopened.finished_at) == (JobState.QUEUED, None)


async def test_writes_to_an_unknown_job_raise_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match="bulk job 77"):
        await db.jobs.finish(77)
    with pytest.raises(NotFoundError):
        await db.jobs.set_progress_message(77, 5)
    with pytest.raises(NotFoundError):
        await db.jobs.cancel_pending(77)
    with pytest.raises(NotFoundError):
        await db.jobs.totals(77)
    assert await db.jobs.get(77) is None


async def test_progress_message_is_remembered(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(1))
    await db.jobs.set_progress_message(job.id, 5555)
    record = await db.jobs.get(job.id)
    assert record is not None
    assert record.progress_message_id == 5555


async def test_jobs_of_a_chat_are_listed_latest_first(db: Database) -> None:
    older = await db.jobs.create(a_job(), numbers(1))
    await db.jobs.create(a_job(chat_id=999), numbers(1))
    newer = await db.jobs.create(a_job(), numbers(1))

    assert [j.id for j in await db.jobs.list_for_chat(SENDER_CHAT)] == [newer.id, older.id]
    assert [j.id for j in await db.jobs.list_for_chat(SENDER_CHAT, limit=1, offset=1)] == [older.id]


async def test_unfinished_jobs_include_running_ones_with_nothing_pending(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(2))
    await db.jobs.start_running(job.id)
    await db.jobs.claim_batch(job.id, 2)
    done = await db.jobs.create(a_job(), numbers(1))
    await db.jobs.start_running(done.id)
    await _send_all(db, done.id, 10)
    await db.jobs.finish(done.id)

    assert [j.id for j in await db.jobs.list_unfinished()] == [job.id]


async def test_concurrent_workers_never_claim_the_same_row(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(600))

    counts = await asyncio.gather(*(_send_all(db, job.id, 25) for _ in range(6)))

    assert sum(counts) == 600
    totals = await db.jobs.totals(job.id)
    assert (totals.sent, totals.units) == (600, 600)


_KILLED_WORKER = """
import asyncio, os, signal, sys
from storage import MessageOutcome, MessageStatus, open_database

async def main() -> None:
    db = await open_database(sys.argv[1], active=True)
    job_id = int(sys.argv[2])
    await db.jobs.start_running(job_id)
    done = await db.jobs.claim_batch(job_id, 10)
    await db.jobs.record_outcomes([MessageOutcome(m.id, MessageStatus.SENT) for m in done])
    await db.jobs.claim_batch(job_id, 10)  # handed to the provider, then the process dies
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_bulk_resumes_after_kill_without_duplicates(db_path: Path) -> None:
    recipients = numbers(45)
    db = await open_database(db_path, active=True)
    job = await db.jobs.create(a_job(), recipients)
    await db.close()

    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _KILLED_WORKER, str(db_path), str(job.id), cwd=REPO_ROOT
    )
    assert await worker.wait() != 0  # really killed, no clean close

    db = await open_database(db_path, active=True)
    try:
        stuck = await db.jobs.mark_stuck_sending_unknown("bot stopped while sending")
        assert [m.recipient for m in stuck] == recipients[10:20]
        assert [j.id for j in await db.jobs.list_unfinished()] == [job.id]
        resent = await _send_all(db, job.id, 10)
        assert resent == 25

        rows = await db.messages.list_for_job(job.id, limit=100)
        assert [m.recipient for m in rows] == recipients  # every recipient exactly once
        totals = await db.jobs.totals(job.id)
        assert (totals.sent, totals.unknown, totals.open) == (35, 10, 0)
    finally:
        await db.close()


async def test_refused_and_duplicate_counts_are_kept_with_the_job(db: Database) -> None:
    new = dataclasses.replace(a_job(), refused=3, duplicates=2)

    job = await db.jobs.create(new, numbers(4))

    stored = await db.jobs.get(job.id)
    assert stored is not None
    assert (stored.refused, stored.duplicates, stored.total_recipients) == (3, 2, 4)


async def test_recent_jobs_of_all_chats_are_listed_latest_first(db: Database) -> None:
    first = await db.jobs.create(a_job(chat_id=1), numbers(1))
    second = await db.jobs.create(a_job(chat_id=2), numbers(1))

    assert [j.id for j in await db.jobs.list_recent()] == [second.id, first.id]
    assert [j.id for j in await db.jobs.list_recent(limit=1, offset=1)] == [first.id]


async def test_retrying_a_job_requeues_only_its_failed_and_unknown_rows(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(4))
    await db.jobs.start_running(job.id)
    other = await db.jobs.create(a_job(), numbers(1, start=100))
    await db.jobs.start_running(other.id)
    rows = await db.jobs.claim_batch(job.id, 4)
    [other_row] = await db.jobs.claim_batch(other.id, 1)
    await db.jobs.record_outcomes(
        [
            MessageOutcome(rows[0].id, MessageStatus.SENT),
            MessageOutcome(rows[1].id, MessageStatus.FAILED, error="barred"),
            MessageOutcome(rows[2].id, MessageStatus.UNKNOWN, error="timeout"),
            MessageOutcome(rows[3].id, MessageStatus.FAILED, error="barred"),
            MessageOutcome(other_row.id, MessageStatus.FAILED, error="barred"),
        ]
    )
    await db.jobs.finish(job.id)

    assert await db.jobs.requeue_failed_and_unknown(job.id) == 3

    totals = await db.jobs.totals(job.id)
    assert (totals.sent, totals.pending, totals.failed, totals.unknown) == (1, 3, 0, 0)
    assert (await db.jobs.totals(other.id)).failed == 1
    reopened = await db.jobs.get(job.id)
    assert reopened is not None
    assert reopened.state is JobState.QUEUED
    with pytest.raises(NotFoundError):
        await db.jobs.requeue_failed_and_unknown(999)


async def test_create_with_personal_texts_stores_each_rows_own_body_and_claims_return_it(db: Database) -> None:
    texts = [PersonalText("Hi Ann", "GSM-7", 1), PersonalText("Hi Zoë " + "x" * 70, "UCS-2", 2)]
    job = await db.jobs.create(a_job(body="Hi {name}"), numbers(2), texts=texts)
    await db.jobs.start_running(job.id)

    rows = await db.messages.list_for_job(job.id)
    assert [(m.recipient, m.body, m.encoding, m.segments) for m in rows] == [
        (numbers(2)[0], "Hi Ann", "GSM-7", 1),
        (numbers(2)[1], "Hi Zoë " + "x" * 70, "UCS-2", 2),
    ]
    claims = [await db.jobs.claim_batch(job.id, 10) for _ in range(2)]  # one text per claim
    assert [[(c.recipient, c.body, c.segments) for c in claim] for claim in claims] == [
        [(numbers(2)[0], "Hi Ann", 1)],
        [(numbers(2)[1], "Hi Zoë " + "x" * 70, 2)],
    ]


async def test_create_refuses_texts_that_do_not_match_the_recipients(db: Database) -> None:
    with pytest.raises(ValueError, match="one text per recipient"):
        await db.jobs.create(a_job(), numbers(2), texts=[PersonalText("a", "GSM-7", 1)])
    assert await db.jobs.list_for_chat(SENDER_CHAT) == []


async def test_a_claim_takes_the_first_rows_text_and_leaves_other_texts_to_the_next_claims(db: Database) -> None:
    """A personalised job: one request per text, so a claim takes the pending rows sharing the first one's text
    (within the claim window) and the other texts go to the next claims, one request slot each."""
    bodies = ["Hi A", "Hi B", "Hi A", "Hi C", "Hi A", "Hi B"]
    texts = [PersonalText(body, "GSM-7", 1) for body in bodies]
    job = await db.jobs.create(a_job(body="Hi {name}"), numbers(6), texts=texts)
    await db.jobs.start_running(job.id)

    claims = [await db.jobs.claim_batch(job.id, 2) for _ in range(5)]

    assert [[(row.recipient, row.body) for row in claim] for claim in claims] == [
        [(numbers(6)[0], "Hi A"), (numbers(6)[2], "Hi A")],
        [(numbers(6)[1], "Hi B"), (numbers(6)[5], "Hi B")],
        [(numbers(6)[3], "Hi C")],
        [(numbers(6)[4], "Hi A")],
        [],
    ]


async def test_rows_of_the_same_text_beyond_the_claim_window_wait_for_a_later_claim(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batches, "CLAIM_WINDOW", 3)
    texts = [PersonalText(body, "GSM-7", 1) for body in ["Hi A", "Hi B", "Hi C", "Hi A"]]
    job = await db.jobs.create(a_job(body="Hi {name}"), numbers(4), texts=texts)
    await db.jobs.start_running(job.id)

    first = await db.jobs.claim_batch(job.id, 10)

    assert [row.recipient for row in first] == numbers(1)  # the fourth row lies outside the first three


async def test_a_released_claim_is_pending_again_and_claimed_again(db: Database) -> None:
    [job_id] = await _running(db, numbers(3))
    claimed = await db.jobs.claim_batch(job_id, 2)

    assert await db.jobs.release_claim([row.id for row in claimed]) == 2
    assert await db.jobs.release_claim([row.id for row in claimed]) == 0  # only rows still sending move

    assert (await db.jobs.totals(job_id)).pending == 3
    assert [row.id for row in await db.jobs.claim_batch(job_id, 2)] == [row.id for row in claimed]


async def test_a_job_starts_running_once_and_finishing_keeps_a_cancel(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(2))
    assert await db.jobs.start_running(job.id) and await db.jobs.start_running(job.id)
    assert (await db.jobs.finish(job.id)).state is JobState.DONE

    cancelled = await db.jobs.create(a_job(), numbers(2))
    await db.jobs.start_running(cancelled.id)
    await db.jobs.cancel_pending(cancelled.id)

    assert not await db.jobs.start_running(cancelled.id)  # a cancelled job never runs again by itself
    assert (await db.jobs.finish(cancelled.id)).state is JobState.CANCELLED


async def test_a_claim_released_after_its_job_was_cancelled_is_cancelled_not_pending(db: Database) -> None:
    """Review finding: a worker stopped while its claim ran, after a Cancel that could not reach the claimed rows
    (they were ``sending``): giving them back must not leave pending rows in a cancelled job."""
    [job_id] = await _running(db, numbers(3))
    claimed = await db.jobs.claim_batch(job_id, 1)
    await db.jobs.cancel_pending(job_id)

    assert await db.jobs.release_claim([row.id for row in claimed]) == 1

    totals = await db.jobs.totals(job_id)
    assert (totals.pending, totals.sending, totals.cancelled) == (0, 0, 3)
