"""The message log: writing rows, the lookups, checked status changes and requeue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storage import (
    Database,
    InvalidTransitionError,
    JobState,
    MessageOutcome,
    MessageStatus,
    NotFoundError,
)

from .conftest import FakeClock
from .factories import ADMIN_CHAT, SENDER_CHAT, USER, a_job, a_message, numbers


async def test_added_message_reads_back_with_every_field(db: Database, clock: FakeClock) -> None:
    added = await db.messages.add(
        a_message(status=MessageStatus.SENT, provider_message_id="tx-1", units=2, cost=Decimal("1.60"))
    )

    fetched = await db.messages.get(added.id)
    assert fetched == added
    assert (fetched.chat_id, fetched.user_id, fetched.provider, fetched.recipient) == (
        SENDER_CHAT,
        USER,
        "texin",
        "254712345678",
    )
    assert (fetched.body, fetched.encoding, fetched.segments) == ("Meeting moved to 3pm", "gsm7", 1)
    assert (fetched.status, fetched.provider_message_id, fetched.units) == (MessageStatus.SENT, "tx-1", 2)
    assert fetched.cost == Decimal("1.60")
    assert str(fetched.cost) == "1.60"
    assert (fetched.error, fetched.bulk_job_id, fetched.created_at) == (None, None, clock.now)


async def test_get_of_an_unknown_id_is_none(db: Database) -> None:
    assert await db.messages.get(999) is None


async def test_lookup_by_provider_id_is_scoped_to_the_provider(db: Database) -> None:
    record = await db.messages.add(a_message(provider="texin"))
    await db.messages.set_status(record.id, MessageStatus.SENT, provider_message_id="abc-1")

    found = await db.messages.get_by_provider_id("texin", "abc-1")
    assert found is not None
    assert found.id == record.id
    assert await db.messages.get_by_provider_id("sms254", "abc-1") is None
    assert await db.messages.get_by_provider_id("texin", "abc-2") is None


async def test_chat_history_is_latest_first_paginated_and_only_that_chat(db: Database) -> None:
    mine = [await db.messages.add(a_message(recipient=number)) for number in numbers(5)]
    await db.messages.add(a_message(chat_id=ADMIN_CHAT))

    first_page = await db.messages.list_for_chat(SENDER_CHAT, limit=2)
    second_page = await db.messages.list_for_chat(SENDER_CHAT, limit=2, offset=2)
    rest = await db.messages.list_for_chat(SENDER_CHAT, limit=10, offset=4)

    newest_first = [m.id for m in reversed(mine)]
    assert [m.id for m in first_page + second_page + rest] == newest_first
    assert [m.id for m in await db.messages.list_recent(limit=2)] == [newest_first[0] + 1, newest_first[0]]


async def test_negative_page_values_are_refused(db: Database) -> None:
    # SQLite would read LIMIT -1 as "everything".
    with pytest.raises(ValueError, match="negative"):
        await db.messages.list_for_chat(SENDER_CHAT, limit=-1)
    with pytest.raises(ValueError, match="negative"):
        await db.messages.list_recent(offset=-5)


async def test_job_rows_can_be_listed_by_status(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(4))
    rows = await db.messages.list_for_job(job.id)
    await db.jobs.record_outcomes([MessageOutcome(rows[1].id, MessageStatus.FAILED, error="invalid number")])

    failed = await db.messages.list_for_job(job.id, status=MessageStatus.FAILED)
    assert [(m.recipient, m.error) for m in failed] == [(rows[1].recipient, "invalid number")]
    assert [m.recipient for m in await db.messages.list_for_job(job.id, limit=2, offset=2)] == numbers(2, 2)


async def test_set_status_keeps_fields_passed_as_none(db: Database, clock: FakeClock) -> None:
    record = await db.messages.add(a_message(status=MessageStatus.SENDING))
    await db.messages.set_status(
        record.id, MessageStatus.SENT, provider_message_id="p-7", units=1, cost=Decimal("0.80")
    )
    later = clock.advance(30)

    delivered = await db.messages.set_status(record.id, MessageStatus.DELIVERED)

    assert delivered.status is MessageStatus.DELIVERED
    assert (delivered.provider_message_id, delivered.units, delivered.cost) == ("p-7", 1, Decimal("0.80"))
    assert delivered.updated_at == later


async def test_a_delivered_message_does_not_go_back_to_pending_or_sent(db: Database) -> None:
    record = await db.messages.add(a_message(status=MessageStatus.DELIVERED))

    with pytest.raises(InvalidTransitionError, match="from delivered to pending"):
        await db.messages.set_status(record.id, MessageStatus.PENDING)
    with pytest.raises(InvalidTransitionError, match="from delivered to sent"):
        await db.messages.set_status(record.id, MessageStatus.SENT)
    assert await db.messages.get(record.id) == record


async def test_a_repeated_delivery_report_is_a_harmless_no_op(db: Database, clock: FakeClock) -> None:
    record = await db.messages.add(a_message(status=MessageStatus.DELIVERED, provider_message_id="p-1"))
    clock.advance(10)

    again = await db.messages.set_status(record.id, MessageStatus.DELIVERED, provider_message_id="other")

    assert again == record
    assert await db.messages.get(record.id) == record


async def test_set_status_of_an_unknown_id_raises_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError, match="message 404"):
        await db.messages.set_status(404, MessageStatus.SENT)


async def test_a_cost_that_is_not_a_number_is_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="finite"):
        await db.messages.add(a_message(cost=Decimal("NaN")))


async def test_requeue_moves_only_failed_and_unknown_rows_and_clears_the_error(db: Database) -> None:
    failed = await db.messages.add(a_message(status=MessageStatus.FAILED))
    await db.messages.set_status(failed.id, MessageStatus.FAILED, error="network down")
    unknown = await db.messages.add(a_message(status=MessageStatus.UNKNOWN))
    delivered = await db.messages.add(a_message(status=MessageStatus.DELIVERED))

    moved = await db.messages.requeue([failed.id, unknown.id, delivered.id, failed.id, 12345])

    assert moved == 2
    after = {m.id: m for m in await db.messages.list_recent()}
    assert after[failed.id].status is after[unknown.id].status is MessageStatus.PENDING
    assert after[failed.id].error is None
    assert after[delivered.id].status is MessageStatus.DELIVERED
    assert await db.messages.requeue([]) == 0


async def test_requeue_reopens_a_finished_job_so_it_is_resumed(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(2))
    await db.jobs.start_running(job.id)
    batch = await db.jobs.claim_batch(job.id, 10)
    await db.jobs.record_outcomes(
        [MessageOutcome(batch[0].id, MessageStatus.SENT), MessageOutcome(batch[1].id, MessageStatus.FAILED)]
    )
    await db.jobs.finish(job.id)
    assert await db.jobs.list_unfinished() == []

    assert await db.messages.requeue([batch[1].id]) == 1

    reopened = await db.jobs.get(job.id)
    assert reopened is not None
    assert (reopened.state, reopened.finished_at) == (JobState.QUEUED, None)
    assert [j.id for j in await db.jobs.list_unfinished()] == [job.id]


async def test_exports_page_through_every_row_of_a_chat_oldest_first(db: Database) -> None:
    mine = [await db.messages.add(a_message(recipient=number)) for number in numbers(7)]
    await db.messages.add(a_message(chat_id=ADMIN_CHAT))

    pages = [page async for page in db.messages.iter_for_chat(SENDER_CHAT, page_size=3)]

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [m.id for page in pages for m in page] == [m.id for m in mine]


async def test_exports_page_through_every_row_of_a_job_in_recipient_order(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(1_200))
    await db.jobs.create(a_job(), numbers(5, start=5_000))

    pages = [page async for page in db.messages.iter_for_job(job.id)]

    assert [len(page) for page in pages] == [500, 500, 200]
    assert [m.recipient for page in pages for m in page] == numbers(1_200)
    assert [page async for page in db.messages.iter_for_job(424242)] == []
