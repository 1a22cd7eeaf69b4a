"""A restore marks the restored copy; settling it turns the backup's unfinished work into unknown/missed, once."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import MessageRecord, MessageStatus, NewSchedule, ScheduleKind, ScheduleState, open_database
from storage.backup import backup_database, restore_database
from storage.restore_marker import RestoreMarker

from .conftest import FakeClock
from .factories import SENDER_CHAT, USER, a_job, a_message, numbers

RESTORED_AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _schedule(due: datetime, number: str) -> NewSchedule:
    return NewSchedule(SENDER_CHAT, USER, ScheduleKind.SEND, "texin", "Gate code 4411", (number,), due)


def _set(path: Path, sql: str, params: tuple[object, ...]) -> None:
    """Test set-up only: put rows in the states a crash or a running batch leaves them in."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(sql, params)


async def test_settling_a_restore_marks_unfinished_work_and_leaves_finished_work(
    db_path: Path, tmp_path: Path, clock: FakeClock
) -> None:
    before = clock.now - timedelta(minutes=5)
    after = RESTORED_AT + timedelta(hours=1)
    async with await open_database(db_path, clock=clock) as db:
        running = await db.jobs.create(a_job(), numbers(5))
        await db.jobs.start_running(running.id)
        cancelled = await db.jobs.create(a_job(), numbers(2, start=10))
        single_sending = await db.messages.add(a_message(status=MessageStatus.SENDING, recipient=numbers(1, 20)[0]))
        single_sent = await db.messages.add(a_message(status=MessageStatus.SENT, recipient=numbers(1, 21)[0]))
        due_before = await db.schedules.add(_schedule(before, numbers(1, 30)[0]))
        fired_recorded = await db.schedules.add(_schedule(before, numbers(1, 31)[0]))
        firing_unrecorded = await db.schedules.add(_schedule(before, numbers(1, 32)[0]))
        due_after = await db.schedules.add(_schedule(after, numbers(1, 33)[0]))
        await db.spend_requests.claim(fired_recorded.request_key, SENDER_CHAT)
        newest = clock.advance(60)
        await db.audit.record("test", actor_chat_id=SENDER_CHAT, actor_user_id=USER, target="newest")
    rows = [m.id for m in await _job_rows(db_path, running.id, clock)]
    _set(db_path, "UPDATE messages SET status = 'sent' WHERE id IN (?, ?)", (rows[0], rows[1]))
    _set(db_path, "UPDATE messages SET status = 'sending' WHERE id = ?", (rows[2],))
    _set(db_path, "UPDATE bulk_jobs SET state = 'cancelled' WHERE id = ?", (cancelled.id,))
    _set(db_path, "UPDATE messages SET status = 'sending' WHERE bulk_job_id = ?", (cancelled.id,))
    _set(db_path, "UPDATE schedules SET state = 'firing' WHERE id IN (?, ?)", (fired_recorded.id, firing_unrecorded.id))
    backup = tmp_path / "backup.db"
    backup_database(db_path, backup)

    result = restore_database(backup, db_path, moment=RESTORED_AT)

    assert result.marker == RestoreMarker("backup.db", newest, RESTORED_AT)
    async with await open_database(db_path, clock=clock) as db:
        assert await db.restores.get() == result.marker
        settled = await db.restores.settle(result.marker, error="maybe out", schedule_outcome="missed: restored")
        again = await db.restores.settle(result.marker, error="twice", schedule_outcome="twice")
        job_rows = {m.id: m for m in await db.messages.list_for_job(running.id, limit=10)}
        cancelled_rows = await db.messages.list_for_job(cancelled.id, limit=10)
        states = {
            s.id: (await db.schedules.get(s.id)) for s in (due_before, fired_recorded, firing_unrecorded, due_after)
        }
        singles = (await db.messages.get(single_sending.id), await db.messages.get(single_sent.id))
        marker_left = await db.restores.get()

    assert settled is not None and again is None and marker_left is None
    assert settled.unknown_by_job == {running.id: 3, cancelled.id: 2} and settled.unknown_singles == 1
    assert [s.id for s in settled.missed] == [due_before.id, firing_unrecorded.id]
    assert [job_rows[i].status for i in rows] == [MessageStatus.SENT] * 2 + [MessageStatus.UNKNOWN] * 3
    assert all(job_rows[i].error == "maybe out" for i in rows[2:])
    assert {m.status for m in cancelled_rows} == {MessageStatus.UNKNOWN}
    assert singles[0] is not None and singles[0].status is MessageStatus.UNKNOWN
    assert singles[1] is not None and singles[1].status is MessageStatus.SENT
    shown = {key: (None if s is None else (s.state, s.outcome)) for key, s in states.items()}
    assert shown == {
        due_before.id: (ScheduleState.MISSED, "missed: restored"),
        fired_recorded.id: (ScheduleState.FIRING, None),  # went through the send path: start-up settles it done
        firing_unrecorded.id: (ScheduleState.MISSED, "missed: restored"),
        due_after.id: (ScheduleState.PENDING, None),  # due after the restore: it cannot have fired
    }


async def _job_rows(db_path: Path, job_id: int, clock: FakeClock) -> list[MessageRecord]:
    async with await open_database(db_path, clock=clock) as db:
        return await db.messages.list_for_job(job_id, limit=10)


async def test_a_database_never_restored_has_nothing_to_settle(db_path: Path) -> None:
    async with await open_database(db_path) as db:
        assert await db.restores.get() is None
