"""Spend requests: a Telegram update's identity is stored with what it created, and a repeat stores nothing."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from storage import Database, DuplicateRequestError, MessageOutcome, MessageStatus, open_database

from .conftest import FakeClock
from .factories import ADMIN_CHAT, INTEGRITY_ERRORS, SENDER_CHAT, a_job, a_message, numbers


def _stored_claims(path: Path) -> list[tuple[str, int, str, int | None, int | None]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT key, chat_id, created_at, message_id, bulk_job_id FROM spend_requests ORDER BY key"
        ).fetchall()
    return [tuple(row) for row in rows]


async def test_message_and_its_request_key_are_stored_together(db: Database, db_path: Path, clock: FakeClock) -> None:
    record = await db.messages.add(a_message(status=MessageStatus.SENDING), request_key="msg:2002:7")

    assert await db.spend_requests.seen("msg:2002:7")
    assert not await db.spend_requests.seen("msg:2002:8")
    [claim] = _stored_claims(db_path)
    assert claim[0] == "msg:2002:7"
    assert claim[1] == SENDER_CHAT
    assert claim[3] == record.id and claim[4] is None


async def test_second_message_with_the_same_key_stores_no_row(db: Database) -> None:
    first = await db.messages.add(a_message(status=MessageStatus.SENDING), request_key="msg:2002:7")

    with pytest.raises(DuplicateRequestError) as raised:
        await db.messages.add(a_message(status=MessageStatus.SENDING), request_key="msg:2002:7")

    assert raised.value.key == "msg:2002:7"
    assert [row.id for row in await db.messages.list_for_chat(SENDER_CHAT)] == [first.id]


async def test_messages_without_a_key_are_not_restricted(db: Database, db_path: Path) -> None:
    await db.messages.add(a_message())
    await db.messages.add(a_message())

    assert len(await db.messages.list_for_chat(SENDER_CHAT)) == 2
    assert _stored_claims(db_path) == []


async def test_a_repeated_bulk_press_creates_no_second_job(db: Database, db_path: Path) -> None:
    job = await db.jobs.create(a_job(), numbers(3), request_key="cbq:77")

    with pytest.raises(DuplicateRequestError):
        await db.jobs.create(a_job(), numbers(3), request_key="cbq:77")

    assert [j.id for j in await db.jobs.list_for_chat(SENDER_CHAT)] == [job.id]
    assert len(await db.messages.list_for_chat(SENDER_CHAT)) == 3
    assert [(key, bulk_job_id) for key, _, _, _, bulk_job_id in _stored_claims(db_path)] == [("cbq:77", job.id)]


async def test_a_repeated_retry_press_requeues_nothing_more(db: Database, db_path: Path) -> None:
    job = await db.jobs.create(a_job(), numbers(2))
    await db.jobs.start_running(job.id)
    rows = await db.jobs.claim_batch(job.id, 2)
    await db.jobs.record_outcomes([MessageOutcome(row.id, MessageStatus.FAILED, error="barred") for row in rows])

    assert await db.jobs.requeue_failed_and_unknown(job.id, request_key="cbq:5", requested_by=ADMIN_CHAT) == 2
    again = await db.jobs.claim_batch(job.id, 2)
    await db.jobs.record_outcomes([MessageOutcome(row.id, MessageStatus.FAILED, error="barred") for row in again])
    with pytest.raises(DuplicateRequestError):
        await db.jobs.requeue_failed_and_unknown(job.id, request_key="cbq:5", requested_by=ADMIN_CHAT)

    assert (await db.jobs.totals(job.id)).failed == 2
    [claim] = _stored_claims(db_path)
    assert (claim[0], claim[1], claim[4]) == ("cbq:5", ADMIN_CHAT, job.id)


async def test_a_retry_key_needs_the_chat_that_asked(db: Database) -> None:
    job = await db.jobs.create(a_job(), numbers(1))

    with pytest.raises(ValueError, match="requested_by"):
        await db.jobs.requeue_failed_and_unknown(job.id, request_key="cbq:5")


async def test_a_preview_claim_is_refused_the_second_time(db: Database, db_path: Path, clock: FakeClock) -> None:
    await db.spend_requests.claim("msg:1001:3", ADMIN_CHAT)

    with pytest.raises(DuplicateRequestError):
        await db.spend_requests.claim("msg:1001:3", ADMIN_CHAT)

    assert _stored_claims(db_path) == [("msg:1001:3", ADMIN_CHAT, clock.now.isoformat(), None, None)]


async def test_a_failure_after_the_claim_rolls_the_claim_back(db: Database) -> None:
    """The key belongs to what it created: when that is not stored, a later delivery may still carry it out."""
    with pytest.raises(INTEGRITY_ERRORS):
        await db.messages.add(a_message(bulk_job_id=999), request_key="msg:2002:9")

    assert not await db.spend_requests.seen("msg:2002:9")


async def test_claims_survive_a_restart(db_path: Path, clock: FakeClock) -> None:
    async with await open_database(db_path, clock=clock, active=True) as first:
        await first.messages.add(a_message(status=MessageStatus.SENDING), request_key="msg:2002:1")

    async with await open_database(db_path, clock=clock, active=True) as second:
        assert await second.spend_requests.seen("msg:2002:1")
        with pytest.raises(DuplicateRequestError):
            await second.messages.add(a_message(status=MessageStatus.SENDING), request_key="msg:2002:1")


async def test_keys_older_than_telegram_can_redeliver_are_forgotten(db: Database, clock: FakeClock) -> None:
    await db.messages.add(a_message(status=MessageStatus.SENDING), request_key="msg:2002:1")
    clock.advance(3 * 24 * 3600)
    await db.messages.add(a_message(status=MessageStatus.SENDING), request_key="msg:2002:2")

    assert await db.spend_requests.forget_older_than(timedelta(days=2)) == 1

    assert not await db.spend_requests.seen("msg:2002:1")
    assert await db.spend_requests.seen("msg:2002:2")
