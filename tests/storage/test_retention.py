"""RETENTION_DAYS: old message texts are replaced by a placeholder; every figure stays, recent and unsent rows too."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from bot.services.retention import RetentionService
from storage import Database, MessageStatus, NewSchedule, ScheduleKind, ScheduleState

from .conftest import FakeClock
from .factories import SENDER_CHAT, USER, a_job, a_message, numbers

DAY = 86_400


async def test_old_final_texts_are_removed_and_every_figure_is_kept(db: Database, clock: FakeClock) -> None:
    old = [
        await db.messages.add(
            a_message(recipient=number, status=MessageStatus.SENT, units=2, cost=Decimal("0.80"), body="PIN 4471")
        )
        for number in numbers(7)
    ]
    clock.advance(31 * DAY)
    recent = await db.messages.add(a_message(status=MessageStatus.SENT, units=1, body="Fresh news"))

    report = await RetentionService(db, 30, clock=clock, batch=3).prune()  # several batches

    assert report.messages == len(old)
    for before in old:
        after = await db.messages.get(before.id)
        assert after is not None
        assert after.body == "(removed after 30 days)"
        assert (after.recipient, after.units, after.cost, after.segments, after.status, after.provider) == (
            before.recipient,
            2,
            Decimal("0.80"),
            before.segments,
            MessageStatus.SENT,
            before.provider,
        )
        assert (after.created_at, after.updated_at) == (before.created_at, before.updated_at)
    kept = await db.messages.get(recent.id)
    assert kept is not None and kept.body == "Fresh news"


async def test_unsent_rows_keep_their_text_however_old(db: Database, clock: FakeClock) -> None:
    pending = await db.messages.add(a_message(status=MessageStatus.PENDING, body="Still to go"))
    clock.advance(90 * DAY)

    report = await RetentionService(db, 30, clock=clock).prune()

    assert report.messages == 0
    row = await db.messages.get(pending.id)
    assert row is not None and row.body == "Still to go"


async def test_finished_bulk_job_texts_are_removed_running_ones_kept(db: Database, clock: FakeClock) -> None:
    finished = await db.jobs.create(a_job(body="Sale ends Friday"), numbers(3))
    await db.jobs.cancel_pending(finished.id)
    running = await db.jobs.create(a_job(body="Sale ends Monday"), numbers(2, start=10))
    clock.advance(40 * DAY)

    report = await RetentionService(db, 30, clock=clock).prune()

    assert report.jobs == 1 and report.messages == 3  # the cancelled rows are final; the queued ones are not
    done = await db.jobs.get(finished.id)
    still = await db.jobs.get(running.id)
    assert done is not None and done.body == "(removed after 30 days)"
    assert still is not None and still.body == "Sale ends Monday"
    assert {m.body for m in await db.messages.list_for_job(running.id)} == {"Sale ends Monday"}


async def test_a_second_sweep_changes_nothing(db: Database, clock: FakeClock) -> None:
    await db.messages.add(a_message(status=MessageStatus.FAILED, body="Hello"))
    clock.advance(31 * DAY)
    await RetentionService(db, 30, clock=clock).prune()

    clock.advance(DAY)
    again = await RetentionService(db, 20, clock=clock).prune()

    assert again.messages == 0  # the first placeholder (and its day count) stays


async def test_a_removed_text_is_never_requeued_for_a_retry(db: Database, clock: FakeClock) -> None:
    failed = await db.messages.add(a_message(status=MessageStatus.FAILED, body="Your code is 1234"))
    clock.advance(31 * DAY)
    await RetentionService(db, 30, clock=clock).prune()

    moved = await db.messages.requeue([failed.id])

    row = await db.messages.get(failed.id)
    assert moved == 0
    assert row is not None and row.status is MessageStatus.FAILED


async def test_a_sweep_lets_other_work_in_between_its_batches(db: Database, clock: FakeClock) -> None:
    async with db.transaction():
        for number in numbers(400):
            await db.messages.add(a_message(recipient=number, status=MessageStatus.SENT))
    clock.advance(31 * DAY)
    sweep = asyncio.create_task(RetentionService(db, 30, clock=clock, batch=10).prune())
    await asyncio.sleep(0)  # the sweep starts its first batch

    last = await db.messages.get(400)  # a command's read, queued behind at most one batch

    assert last is not None and last.body == "Meeting moved to 3pm"  # answered long before the sweep got there
    assert (await sweep).messages == 400


async def test_an_sms_that_reads_like_the_placeholder_is_still_an_sms(db: Database, clock: FakeClock) -> None:
    failed = await db.messages.add(a_message(status=MessageStatus.FAILED, body="(removed after 5 days)"))

    moved = await db.messages.requeue([failed.id])

    assert moved == 1  # only a row the retention sweep marked is kept from going out again


async def test_finished_schedules_lose_their_texts_pending_ones_keep_them(db: Database, clock: FakeClock) -> None:
    """A one-time PIN sent by ``/send at:`` must not stay in the schedules table forever."""

    def pin(body: str, texts: tuple[str, ...] | None = None, *, in_days: int = 0) -> NewSchedule:
        due = clock.now + timedelta(days=in_days)
        return NewSchedule(SENDER_CHAT, USER, ScheduleKind.SEND, "texin", body, tuple(numbers(2)), due, texts=texts)

    sent = await db.schedules.add(pin("PIN 4471", ("PIN 1111", "PIN 2222")))
    assert [due.id for due in await db.schedules.claim_due(clock.now)] == [sent.id]
    await db.schedules.finish(sent.id, ScheduleState.DONE, "sent 2")
    cancelled = await db.schedules.add(pin("PIN 9000", in_days=1))
    await db.schedules.cancel(cancelled.id, "cancelled by the sender")
    waiting = await db.schedules.add(pin("Meeting moved to 10:00", ("Hi A, 10:00", "Hi B, 10:00"), in_days=40))
    clock.advance(31 * DAY)

    report = await RetentionService(db, 30, clock=clock).prune()

    assert report.schedules == 2
    for schedule_id in (sent.id, cancelled.id):
        after = await db.schedules.get(schedule_id)
        assert after is not None and after.body == "(removed after 30 days)" and after.recipients == pin("").recipients
        assert await db.schedules.texts(schedule_id) is None
    kept = await db.schedules.get(waiting.id)
    assert kept is not None and kept.body == "Meeting moved to 10:00"
    assert await db.schedules.texts(waiting.id) == ("Hi A, 10:00", "Hi B, 10:00")
    assert (await RetentionService(db, 30, clock=clock).prune()).schedules == 0  # a second sweep changes nothing
