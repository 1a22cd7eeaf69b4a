"""Bulk jobs: creation in one transaction, batches, outcomes, totals from rows, cancel and resume."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import sys
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest

from storage import (
    Database,
    InFlightBatch,
    JobState,
    MessageOutcome,
    MessageStatus,
    NotFoundError,
    PersonalText,
    RejectedOutcome,
    Unstored,
    open_database,
)

from .conftest import FakeClock
from .factories import SENDER_CHAT, USER, a_job, numbers

REPO_ROOT = Path(__file__).resolve().parents[2]


async def _send_all(db: Database, job_id: int, batch_size: int) -> int:
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

    with pytest.raises(Exception, match="NOT NULL"):
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
    assert len(await db.jobs.next_pending_batch(job.id, 10_000)) == 10_000


async def test_next_batch_is_the_lowest_pending_ids_of_that_job_only(db: Database) -> None:
    other = await db.jobs.create(a_job(), numbers(3, start=500))
    job = await db.jobs.create(a_job(), numbers(5))
    first = await db.jobs.next_pending_batch(job.id, 2)
    await db.jobs.mark_sending([m.id for m in first])

    second = await db.jobs.next_pending_batch(job.id, 2)

    assert [m.recipient for m in first] == numbers(2)
    assert [m.recipient for m in second] == numbers(2, start=2)
    assert {m.bulk_job_id for m in first + second} == {job.id} != {other.id}


async def test_mark_sending_claims_only_rows_still_pending(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(4))
    ids = [m.id for m in await db.jobs.next_pending_batch(job.id, 4)]
    await db.jobs.record_outcomes([MessageOutcome(ids[0], MessageStatus.FAILED, error="barred")])

    claimed = await db.jobs.mark_sending(ids)

    assert claimed == ids[1:]
    statuses = [m.status for m in await db.messages.list_for_job(job.id)]
    assert statuses == [MessageStatus.FAILED, *[MessageStatus.SENDING] * 3]


async def test_claim_batch_returns_rows_already_marked_sending(db: Database, clock: FakeClock) -> None:
    job = await db.jobs.create(a_job(), numbers(5))
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
    batch = await db.jobs.claim_batch(job.id, 4)
    price = Decimal("0.35")  # would not add up exactly as a float

    rejected = await db.jobs.record_outcomes(
        [
            MessageOutcome(batch[0].id, MessageStatus.SENT, provider_message_id="a", units=2, cost=price * 2),
            MessageOutcome(batch[1].id, MessageStatus.SENT, provider_message_id="b", units=2, cost=price * 2),
            MessageOutcome(batch[2].id, MessageStatus.FAILED, error="blacklisted"),
            MessageOutcome(batch[3].id, MessageStatus.UNKNOWN, error="timeout"),
        ]
    )

    assert rejected == []
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
    batch = await db.jobs.claim_batch(job.id, 3)
    # The delivery report for the first row arrived before the batch answer was stored.
    await db.messages.set_status(batch[0].id, MessageStatus.SENT)
    await db.messages.set_status(batch[0].id, MessageStatus.DELIVERED)
    await db.jobs.record_outcomes([MessageOutcome(batch[2].id, MessageStatus.FAILED, error="refused")])

    late_sent = MessageOutcome(batch[0].id, MessageStatus.SENT, provider_message_id="late")
    repeat_failed = MessageOutcome(batch[2].id, MessageStatus.FAILED)
    missing = MessageOutcome(987654, MessageStatus.SENT)
    rejected = await db.jobs.record_outcomes(
        [late_sent, MessageOutcome(batch[1].id, MessageStatus.SENT), repeat_failed, missing]
    )

    assert rejected == [
        RejectedOutcome(late_sent, MessageStatus.DELIVERED),
        RejectedOutcome(missing, None),
    ]
    statuses = [m.status for m in await db.messages.list_for_job(job.id)]
    assert statuses == [MessageStatus.DELIVERED, MessageStatus.SENT, MessageStatus.FAILED]
    first = await db.messages.get(batch[0].id)
    assert first is not None
    assert first.provider_message_id is None


async def test_an_outcome_cannot_move_a_row_back_to_pending(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(1))
    [row] = await db.jobs.claim_batch(job.id, 1)
    outcome = MessageOutcome(row.id, MessageStatus.PENDING)

    assert await db.jobs.record_outcomes([outcome]) == [RejectedOutcome(outcome, MessageStatus.SENDING)]


async def test_jobs_with_pending_work_exclude_cancelled_and_finished_ones(db: Database) -> None:
    untouched = await db.jobs.create(a_job(), numbers(2))
    partial = await db.jobs.create(a_job(), numbers(4))
    await _send_all_but(db, partial.id, keep_pending=1)
    finished = await db.jobs.create(a_job(), numbers(2))
    await _send_all(db, finished.id, 10)
    cancelled = await db.jobs.create(a_job(), numbers(2))
    await db.jobs.cancel_pending(cancelled.id)

    assert [j.id for j in await db.jobs.with_pending_work()] == [untouched.id, partial.id]


async def _send_all_but(db: Database, job_id: int, keep_pending: int) -> None:
    rows = await db.jobs.next_pending_batch(job_id, 1_000)
    ids = await db.jobs.mark_sending([m.id for m in rows[:-keep_pending]])
    await db.jobs.record_outcomes([MessageOutcome(i, MessageStatus.SENT) for i in ids])


async def test_rows_stuck_in_sending_become_unknown_and_are_never_resent(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(5))
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
    in_flight = await db.jobs.claim_batch(job.id, 2)
    stopped_at = clock.advance(3)

    assert await db.jobs.cancel_pending(job.id) == 3

    totals = await db.jobs.totals(job.id)
    assert (totals.cancelled, totals.sending, totals.pending) == (3, 2, 0)
    record = await db.jobs.get(job.id)
    assert record is not None
    assert (record.state, record.finished_at) == (JobState.CANCELLED, stopped_at)
    assert await db.jobs.with_pending_work() == []
    # The rows already handed to the provider still get their outcome.
    assert await db.jobs.record_outcomes([MessageOutcome(m.id, MessageStatus.SENT) for m in in_flight]) == []


async def test_cancelling_a_finished_job_keeps_its_state(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(1))
    await _send_all(db, job.id, 10)
    await db.jobs.set_state(job.id, JobState.DONE)

    assert await db.jobs.cancel_pending(job.id) == 0
    record = await db.jobs.get(job.id)
    assert record is not None
    assert record.state is JobState.DONE


async def test_fail_pending_marks_the_rest_of_a_stopped_job_failed(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(4))
    await db.jobs.claim_batch(job.id, 1)

    assert await db.jobs.fail_pending(job.id, "not sent: insufficient credit") == 3

    failed = await db.messages.list_for_job(job.id, status=MessageStatus.FAILED)
    assert {m.error for m in failed} == {"not sent: insufficient credit"}
    assert len(failed) == 3
    assert (await db.jobs.totals(job.id)).sending == 1


async def test_set_state_stamps_finished_at_only_for_final_states(db: Database, clock: FakeClock) -> None:
    job = await db.jobs.create(a_job(), numbers(1))

    running = await db.jobs.set_state(job.id, JobState.RUNNING)
    done_at = clock.advance(10)
    done = await db.jobs.set_state(job.id, JobState.DONE)
    clock.advance(10)
    still_done = await db.jobs.set_state(job.id, JobState.DONE)
    reopened = await db.jobs.set_state(job.id, JobState.QUEUED)

    assert (running.state, running.finished_at) == (JobState.RUNNING, None)
    assert (done.state, done.finished_at, done.updated_at) == (JobState.DONE, done_at, done_at)
    assert still_done.finished_at == done_at
    assert reopened.finished_at is None


async def test_writes_to_an_unknown_job_raise_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match="bulk job 77"):
        await db.jobs.set_state(77, JobState.DONE)
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
    await db.jobs.set_state(job.id, JobState.RUNNING)
    await db.jobs.claim_batch(job.id, 2)
    done = await db.jobs.create(a_job(), numbers(1))
    await _send_all(db, done.id, 10)
    await db.jobs.set_state(done.id, JobState.DONE)

    assert await db.jobs.with_pending_work() == []
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
    db = await open_database(sys.argv[1])
    job_id = int(sys.argv[2])
    done = await db.jobs.claim_batch(job_id, 10)
    await db.jobs.record_outcomes([MessageOutcome(m.id, MessageStatus.SENT) for m in done])
    await db.jobs.claim_batch(job_id, 10)  # handed to the provider, then the process dies
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_bulk_resumes_after_kill_without_duplicates(db_path: Path) -> None:
    recipients = numbers(45)
    db = await open_database(db_path)
    job = await db.jobs.create(a_job(), recipients)
    await db.close()

    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _KILLED_WORKER, str(db_path), str(job.id), cwd=REPO_ROOT
    )
    assert await worker.wait() != 0  # really killed, no clean close

    db = await open_database(db_path)
    try:
        stuck = await db.jobs.mark_stuck_sending_unknown("bot stopped while sending")
        assert [m.recipient for m in stuck] == recipients[10:20]
        assert [j.id for j in await db.jobs.with_pending_work()] == [job.id]
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
    other = await db.jobs.create(a_job(), numbers(1, start=100))
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
    await db.jobs.set_state(job.id, JobState.DONE)

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

    rows = await db.messages.list_for_job(job.id)
    assert [(m.recipient, m.body, m.encoding, m.segments) for m in rows] == [
        (numbers(2)[0], "Hi Ann", "GSM-7", 1),
        (numbers(2)[1], "Hi Zoë " + "x" * 70, "UCS-2", 2),
    ]
    claimed = await db.jobs.claim_batch(job.id, 10)
    assert [(c.recipient, c.body, c.segments) for c in claimed] == [
        (numbers(2)[0], "Hi Ann", 1),
        (numbers(2)[1], "Hi Zoë " + "x" * 70, 2),
    ]


async def test_create_refuses_texts_that_do_not_match_the_recipients(db: Database) -> None:
    with pytest.raises(ValueError, match="one text per recipient"):
        await db.jobs.create(a_job(), numbers(2), texts=[PersonalText("a", "GSM-7", 1)])
    assert await db.jobs.list_for_chat(SENDER_CHAT) == []


async def test_a_job_stored_in_part_gets_its_other_rows_in_order(db: Database) -> None:
    recipients = numbers(12)
    job = await db.jobs.create(a_job(), recipients, store_first=5)
    assert [row.recipient for row in await db.jobs.read_ahead(job.id, 100)] == recipients[:5]
    assert await db.jobs.unstored(job.id) == Unstored(recipients[5:], None, 0)

    assert await db.jobs.add_recipients(job, Unstored(recipients[5:], None, 0), last=True)

    assert [row.recipient for row in await db.jobs.read_ahead(job.id, 100)] == recipients
    assert job.total_recipients == 12 and await db.jobs.close_half_stored("cut") == []
    assert await db.jobs.unstored(job.id) is None


async def test_each_stored_chunk_moves_the_unstored_index_with_its_rows_so_none_is_stored_twice(
    db: Database,
) -> None:
    recipients = numbers(10)
    texts = [PersonalText(f"Hi {i}", "GSM-7", 1 + i % 2) for i in range(10)]
    job = await db.jobs.create(a_job(), recipients, texts=texts, store_first=2)
    chunk = Unstored(recipients[2:5], texts[2:5], 0)
    assert await db.jobs.add_recipients(job, chunk, last=False)

    # A crash now: what the next start reads continues right after the stored rows, texts included.
    left = await db.jobs.unstored(job.id)
    assert left == Unstored(recipients[5:], texts[5:], 3)
    # The same chunk again (a repeat after the index moved) stores nothing.
    assert not await db.jobs.add_recipients(job, chunk, last=False)
    assert left is not None and await db.jobs.add_recipients(job, left, last=True)

    rows = await db.jobs.read_ahead(job.id, 100)
    assert [(row.recipient, row.body, row.segments) for row in rows] == [
        (number, text.body, text.segments) for number, text in zip(recipients, texts, strict=True)
    ]
    assert await db.jobs.unstored(job.id) is None


async def test_a_failed_chunk_leaves_neither_its_rows_nor_a_moved_index(db: Database) -> None:
    recipients = numbers(8)
    job = await db.jobs.create(a_job(), recipients, store_first=2)
    # A chunk whose rows cannot be written (a text for one recipient too few): the index must not move either.
    with pytest.raises(ValueError, match="one text per recipient"):
        await db.jobs.add_recipients(job, Unstored(recipients[2:5], [PersonalText("a", "GSM-7", 1)], 0), last=False)
    # Rows without a provider break a NOT NULL inside the transaction, after the index moved: both roll back.
    no_provider = dataclasses.replace(job, provider=None)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.IntegrityError):
        await db.jobs.add_recipients(no_provider, Unstored(recipients[2:5], None, 0), last=False)
    assert await db.jobs.unstored(job.id) == Unstored(recipients[2:], None, 0)
    assert len(await db.jobs.read_ahead(job.id, 100)) == 2


async def test_cancelling_a_job_drops_what_it_had_not_stored(db: Database) -> None:
    recipients = numbers(8)
    job = await db.jobs.create(a_job(), recipients, store_first=2)

    await db.jobs.cancel_pending(job.id)

    assert await db.jobs.unstored(job.id) is None
    assert not await db.jobs.add_recipients(job, Unstored(recipients[2:], None, 0), last=True)
    assert len(await db.jobs.read_ahead(job.id, 100)) == 0


async def test_a_job_cut_before_its_rest_was_kept_is_closed_and_never_resumed(db: Database) -> None:
    whole = await db.jobs.create(a_job(), numbers(4, start=100))
    cut = await db.jobs.create(a_job(), numbers(30), store_first=10)
    # What a crash left before migration 0010: the rest only ever in the dead process's memory.
    with sqlite3.connect(db.path) as other:
        other.execute("DELETE FROM bulk_job_unstored WHERE job_id = ?", (cut.id,))
    [sent] = await db.jobs.start_sending(await db.jobs.read_ahead(cut.id, 1))
    await db.jobs.record_outcomes([MessageOutcome(sent.id, MessageStatus.SENT, provider_message_id="p1")])

    closed = await db.jobs.close_half_stored("not sent: cut")

    assert [(job.id, stored) for job, stored in closed] == [(cut.id, 10)]
    totals = await db.jobs.totals(cut.id)
    assert (totals.sent, totals.failed, totals.pending) == (1, 9, 0)
    closed_job = await db.jobs.get(cut.id)
    assert closed_job is not None and closed_job.state is JobState.FAILED
    assert [job.id for job in await db.jobs.with_pending_work()] == [whole.id]


async def test_read_ahead_changes_nothing_and_the_claim_takes_only_rows_still_pending(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(6))
    first = await db.jobs.read_ahead(job.id, 3)
    second = await db.jobs.read_ahead(job.id, 3, after_id=first[-1].id)
    assert (await db.jobs.totals(job.id)).pending == 6  # a read claims nothing: a crash now loses nothing
    await db.jobs.cancel_pending(job.id)  # e.g. /cancel between the read and the request

    assert await db.jobs.start_sending(first + second) == []
    assert (await db.jobs.totals(job.id)).sending == 0


async def test_the_claim_marks_sending_once_and_skips_a_number_blocked_since_the_read(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(3))
    batch = await db.jobs.read_ahead(job.id, 3)
    await db.blocklist.add([batch[1].recipient], reason="STOP", chat_id=1, user_id=None)

    claimed = await db.jobs.start_sending(batch)

    assert [row.id for row in claimed] == [batch[0].id, batch[2].id]
    assert await db.jobs.start_sending(batch) == []  # a second claim of the same rows gets nothing
    totals = await db.jobs.totals(job.id)
    assert (totals.sending, totals.cancelled) == (2, 1)


async def _in_flight_rows(db: Database) -> list[tuple[int, int, int]]:
    async with db.transaction():  # the raw table: what a crash would leave behind
        rows = await db._shared.fetch_all("SELECT job_id, first_id, last_id FROM bulk_batches_in_flight ORDER BY id")
    return [(int(row[0]), int(row[1]), int(row[2])) for row in rows]


async def test_a_batch_in_flight_is_one_row_its_recipients_stay_pending_and_totals_count_them_sending(
    db: Database,
) -> None:
    job = await db.jobs.create(a_job(), numbers(5))
    batch = await db.jobs.read_ahead(job.id, 3)

    in_flight = await db.jobs.claim_in_flight(job.id, batch)

    assert in_flight.claim_id is not None and in_flight.rows == batch
    assert await _in_flight_rows(db) == [(job.id, batch[0].id, batch[-1].id)]
    statuses = {row.status for row in await db.messages.list_for_job(job.id)}
    assert statuses == {MessageStatus.PENDING}  # no row was rewritten for the claim
    totals = await db.jobs.totals(job.id)
    assert (totals.sending, totals.pending) == (3, 2)
    outcomes = [MessageOutcome(row.id, MessageStatus.SENT, provider_message_id=f"p{row.id}") for row in batch]

    assert await db.jobs.settle_in_flight(in_flight, outcomes) == []

    assert await _in_flight_rows(db) == []
    totals = await db.jobs.totals(job.id)
    assert (totals.sent, totals.sending, totals.pending) == (3, 0, 2)


@pytest.mark.parametrize("change", ["cancelled", "blocked", "another pending row in the range"])
async def test_a_batch_that_changed_since_it_was_read_is_claimed_row_by_row(db: Database, change: str) -> None:
    job = await db.jobs.create(a_job(), numbers(4))
    rows = await db.jobs.read_ahead(job.id, 4)
    batch = [rows[0], rows[1], rows[3]]  # rows[2] is not in it: only "another pending row" leaves it pending
    if change == "cancelled":
        batch = rows
        await _cancel_row(db, rows[2].id)
    elif change == "blocked":
        batch = rows
        await db.blocklist.add([rows[2].recipient], reason="STOP", chat_id=1, user_id=None)

    in_flight = await db.jobs.claim_in_flight(job.id, batch)

    assert in_flight.claim_id is None and await _in_flight_rows(db) == []
    assert [row.id for row in in_flight.rows] == [rows[0].id, rows[1].id, rows[3].id]
    by_id = {row.id: row.status for row in await db.messages.list_for_job(job.id)}
    assert [by_id[row.id] for row in in_flight.rows] == [MessageStatus.SENDING] * 3
    assert by_id[rows[2].id] is {"cancelled": MessageStatus.CANCELLED, "blocked": MessageStatus.CANCELLED}.get(
        change, MessageStatus.PENDING
    )


async def _cancel_row(db: Database, message_id: int) -> None:
    async with db.transaction():
        await db._shared.execute("UPDATE messages SET status = 'cancelled' WHERE id = ?", (message_id,))


async def test_pending_rows_under_a_batch_left_in_flight_become_unknown_at_start_up_and_the_rest_stay(
    db: Database,
) -> None:
    job = await db.jobs.create(a_job(), numbers(6))
    first = await db.jobs.read_ahead(job.id, 2)
    second = await db.jobs.read_ahead(job.id, 2, after_id=first[-1].id)
    sent = await db.jobs.claim_in_flight(job.id, first)
    await db.jobs.settle_in_flight(sent, [MessageOutcome(row.id, MessageStatus.SENT) for row in first])
    await db.jobs.claim_in_flight(job.id, second)  # ... and the process is killed while this request is out

    stuck = await db.jobs.mark_stuck_sending_unknown("maybe sent")

    assert [row.id for row in stuck] == [row.id for row in second]
    by_status = {row.id: row.status for row in await db.messages.list_for_job(job.id)}
    assert [by_status[row.id] for row in first + second] == [MessageStatus.SENT] * 2 + [MessageStatus.UNKNOWN] * 2
    assert list(by_status.values()).count(MessageStatus.PENDING) == 2  # never read ahead: resumed
    assert await _in_flight_rows(db) == []
    assert [row.id for row in await db.jobs.read_ahead(job.id, 10)] == sorted(by_status)[4:]


async def test_a_batch_that_never_left_is_released_and_cancel_and_fail_leave_batches_in_flight_alone(
    db: Database,
) -> None:
    job = await db.jobs.create(a_job(), numbers(6))
    rows = await db.jobs.read_ahead(job.id, 6)
    released = await db.jobs.claim_in_flight(job.id, rows[:2])
    out = await db.jobs.claim_in_flight(job.id, rows[2:4])

    assert await db.jobs.release_in_flight(released) == 2
    assert await db.jobs.fail_pending(job.id, "stopped") == 4  # rows[2:4] are in flight: left to their outcome
    statuses = {row.id: row.status for row in await db.messages.list_for_job(job.id)}
    assert [statuses[row.id] for row in rows] == [MessageStatus.FAILED] * 2 + [MessageStatus.PENDING] * 2 + [
        MessageStatus.FAILED
    ] * 2
    job2 = await db.jobs.create(a_job(), numbers(3))
    rows2 = await db.jobs.read_ahead(job2.id, 3)
    out2 = await db.jobs.claim_in_flight(job2.id, rows2[:1])
    assert await db.jobs.cancel_pending(job2.id) == 2
    await db.jobs.settle_in_flight(out, [MessageOutcome(row.id, MessageStatus.SENT) for row in rows[2:4]])
    await db.jobs.settle_in_flight(out2, [MessageOutcome(rows2[0].id, MessageStatus.SENT)])
    assert (await db.jobs.totals(job.id)).sent == 2 and (await db.jobs.totals(job2.id)).sent == 1
    assert await _in_flight_rows(db) == []


async def test_rows_left_in_flight_by_a_failed_record_are_never_read_or_claimed_again_until_the_restart(
    db: Database,
) -> None:
    """Review finding: a batch whose record failed stays pending under its in-flight row; a /retry of the job in
    the same process must not send it again (it may have gone out): it becomes unknown at the next start."""
    job = await db.jobs.create(a_job(), numbers(6))
    rows = await db.jobs.read_ahead(job.id, 6)
    await db.jobs.claim_in_flight(job.id, rows[:2])  # sent; its record then failed: still pending, covered
    stale = await db.jobs.claim_in_flight(job.id, rows[2:4])
    await db.jobs.record_outcomes([MessageOutcome(row.id, MessageStatus.FAILED, error="x") for row in rows[2:4]])
    assert stale.claim_id is not None  # recorded, but its in-flight row was not deleted (a failed write)

    assert await db.jobs.requeue_failed_and_unknown(job.id) == 2

    assert [(job_id, first, last) for job_id, first, last in await _in_flight_rows(db)] == [
        (job.id, rows[0].id, rows[1].id)  # the stale one went with the retry; the one over pending rows stayed
    ]
    assert [row.id for row in await db.jobs.read_ahead(job.id, 10)] == [row.id for row in rows[2:]]
    again = await db.jobs.claim_in_flight(job.id, rows[:2])
    assert again == InFlightBatch([], None)  # neither a second in-flight row over them nor a `sending` mark
    assert (await db.jobs.totals(job.id)).sending == 2

    stuck = await db.jobs.mark_stuck_sending_unknown("maybe sent")  # the next start

    assert [row.id for row in stuck] == [rows[0].id, rows[1].id]


async def test_a_batch_claimed_ahead_counts_as_maybe_sent_after_a_crash_only_once_it_departed(
    db_path: Path, clock: FakeClock
) -> None:
    """Claimed ahead while another request is out: a crash before ``departing`` leaves its rows pending (resumed),
    after it they become unknown. A batch claimed right before it leaves is maybe sent either way."""
    db = await open_database(db_path, clock=clock)
    job = await db.jobs.create(a_job(), numbers(8))
    rows = await db.jobs.read_ahead(job.id, 8)
    direct = await db.jobs.claim_in_flight(job.id, rows[:2])
    departed = await db.jobs.claim_ahead(job.id, rows[2:4])
    waiting = await db.jobs.claim_ahead(job.id, rows[4:6])
    assert departed is not None and waiting is not None and departed.ahead and not direct.ahead
    assert await db.jobs.claim_ahead(job.id, rows[4:6]) is None  # never twice over the same rows
    db.jobs.departing(job.id, departed)
    db.jobs.departing(job.id, direct)  # a direct claim needs no line: it is maybe sent from its claim on
    assert (await db.jobs.totals(job.id)).sending == 6
    await db._shared.close()  # the process dies: nothing settled, the log and the file stay as they are
    db._departures.close()
    db._lock.release()  # type: ignore[union-attr]

    async with await open_database(db_path, clock=clock) as again:
        stuck = await again.jobs.mark_stuck_sending_unknown("maybe sent")
        statuses = [row.status for row in await again.messages.list_for_job(job.id)]
        assert await _in_flight_rows(again) == []
        assert again._departures.departed() == set()  # emptied once the recovery committed

    assert [row.id for row in stuck] == [row.id for row in rows[:4]]
    assert statuses == [MessageStatus.UNKNOWN] * 4 + [MessageStatus.PENDING] * 4


async def test_cancel_and_fail_reach_rows_claimed_ahead_that_have_not_departed(db: Database) -> None:
    """The runner departs no claimed-ahead batch once the job is cancelled or stopped, so those rows are cancelled
    (or failed) at once like any pending row; a departed batch is left to its outcome."""
    job = await db.jobs.create(a_job(), numbers(6))
    rows = await db.jobs.read_ahead(job.id, 6)
    departed = await db.jobs.claim_ahead(job.id, rows[:2])
    waiting = await db.jobs.claim_ahead(job.id, rows[2:4])
    assert departed is not None and waiting is not None
    db.jobs.departing(job.id, departed)

    assert await db.jobs.cancel_pending(job.id) == 4

    statuses = [row.status for row in await db.messages.list_for_job(job.id)]
    assert statuses == [MessageStatus.PENDING] * 2 + [MessageStatus.CANCELLED] * 4
    assert await _in_flight_rows(db) == [(job.id, rows[0].id, rows[1].id)]
    assert await db.jobs.release_in_flight(waiting) == 2  # the worker's own release afterwards: harmless
    await db.jobs.settle_in_flight(departed, [MessageOutcome(row.id, MessageStatus.SENT) for row in rows[:2]])
    assert db._departures.unsettled == frozenset()
    totals = await db.jobs.totals(job.id)
    assert (totals.sent, totals.cancelled, totals.pending) == (2, 4, 0)

    job2 = await db.jobs.create(a_job(), numbers(2))
    rows2 = await db.jobs.read_ahead(job2.id, 2)
    assert await db.jobs.claim_ahead(job2.id, rows2) is not None
    assert await db.jobs.fail_pending(job2.id, "stopped") == 2


async def test_no_batch_of_a_cancelled_or_stopped_job_departs_until_a_retry(db: Database) -> None:
    """Review finding: a second guard beside the runner's own flags. Once a job's pending rows are cancelled or
    failed, a batch claimed before that (ahead or right before its request) is refused at its departure."""
    job = await db.jobs.create(a_job(), numbers(4))
    rows = await db.jobs.read_ahead(job.id, 4)
    ahead = await db.jobs.claim_ahead(job.id, rows[:2])
    direct = await db.jobs.claim_in_flight(job.id, rows[2:])
    assert ahead is not None and direct.claim_id is not None

    await db.jobs.fail_pending(job.id, "stopped: no credit")

    assert not db.jobs.departing(job.id, ahead) and not db.jobs.departing(job.id, direct)
    assert db._departures.departed() == set()  # nothing was written for the refused batch
    await db.jobs.release_in_flight(direct)  # what the runner does with a refused batch
    assert await db.jobs.requeue_failed_and_unknown(job.id) == 2
    again = await db.jobs.claim_ahead(job.id, await db.jobs.read_ahead(job.id, 4))
    assert again is not None and db.jobs.departing(job.id, again)


async def test_a_retry_drops_claims_ahead_that_never_departed(db: Database) -> None:
    """Review finding: a claim ahead left by a run that failed (its release did not happen) covers rows that
    never left; a /retry (no runner for the job then) must read them again instead of skipping them for good."""
    job = await db.jobs.create(a_job(), numbers(4))
    rows = await db.jobs.read_ahead(job.id, 4)
    assert await db.jobs.claim_ahead(job.id, rows[2:]) is not None  # never departed, never released
    await db.jobs.record_outcomes([MessageOutcome(row.id, MessageStatus.FAILED, error="x") for row in rows[:2]])

    assert await db.jobs.requeue_failed_and_unknown(job.id) == 2

    assert await _in_flight_rows(db) == []
    assert [row.id for row in await db.jobs.read_ahead(job.id, 10)] == [row.id for row in rows]
