"""Scheduled sends in SQLite: stored with the update that asked, claimed once, settled after a crash by its key."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from storage import (
    Database,
    DuplicateRequestError,
    NewSchedule,
    ScheduleKind,
    ScheduleState,
    migrate,
    open_database,
    schedule_key,
)
from storage.migrations import load_migrations
from storage.spend_requests import claim_request

from .conftest import FakeClock

CHAT = 2002


def _new(clock: FakeClock, minutes: float, chat_id: int = CHAT) -> NewSchedule:
    return NewSchedule(
        chat_id=chat_id,
        user_id=7,
        kind=ScheduleKind.SEND,
        provider="texin",
        body="Water off at noon",
        recipients=("254712345678",),
        due_at=clock.now + timedelta(minutes=minutes),
    )


async def test_a_schedule_round_trips_and_its_update_cannot_store_a_second(db: Database, clock: FakeClock) -> None:
    record = await db.schedules.add(_new(clock, 10), request_key="msg:2002:5")
    assert (record.state, record.recipients, record.due_at) == (
        ScheduleState.PENDING,
        ("254712345678",),
        clock.now + timedelta(minutes=10),
    )
    with pytest.raises(DuplicateRequestError):
        await db.schedules.add(_new(clock, 10), request_key="msg:2002:5")
    assert await db.schedules.count_pending(chat_id=CHAT) == 1


async def test_a_due_schedule_is_claimed_once(db: Database, clock: FakeClock) -> None:
    soon = await db.schedules.add(_new(clock, 1))
    await db.schedules.add(_new(clock, 60))
    clock.advance(120)
    first = await db.schedules.claim_due(clock.now)
    second = await db.schedules.claim_due(clock.now)
    assert [r.id for r in first] == [soon.id] and first[0].state is ScheduleState.FIRING
    assert second == []


async def test_only_pending_schedules_are_cancelled_and_a_second_cancel_says_so(db: Database, clock: FakeClock) -> None:
    record = await db.schedules.add(_new(clock, 5))
    assert await db.schedules.cancel(record.id, "by hand") is True
    assert await db.schedules.cancel(record.id, "by hand") is False
    clock.advance(600)
    assert await db.schedules.claim_due(clock.now) == []


async def test_late_beyond_the_grace_is_missed_not_claimed(db: Database, clock: FakeClock) -> None:
    old = await db.schedules.add(_new(clock, 1))
    recent = await db.schedules.add(_new(clock, 50))
    clock.advance(3600 + 120)
    missed = await db.schedules.miss_older_than(clock.now - timedelta(hours=1))
    assert [r.id for r in missed] == [old.id] and missed[0].state is ScheduleState.MISSED
    assert [r.id for r in await db.schedules.claim_due(clock.now)] == [recent.id]


async def test_after_a_crash_a_firing_schedule_is_settled_by_its_request_key(db: Database, clock: FakeClock) -> None:
    went_out = await db.schedules.add(_new(clock, 1))
    never_sent = await db.schedules.add(_new(clock, 1))
    clock.advance(120)
    await db.schedules.claim_due(clock.now)
    async with db.transaction():  # what the send path stores with its row
        await claim_request(db._shared, schedule_key(went_out.id), CHAT)

    done, again = await db.schedules.settle_interrupted()

    assert (done, again) == ([went_out.id], [never_sent.id])
    settled = await db.schedules.get(went_out.id)
    rearmed = await db.schedules.get(never_sent.id)
    assert settled is not None and settled.state is ScheduleState.DONE
    assert rearmed is not None and rearmed.state is ScheduleState.PENDING


async def test_denying_a_chat_cancels_only_its_pending_schedules(db: Database, clock: FakeClock) -> None:
    mine = [await db.schedules.add(_new(clock, m)) for m in (5, 6)]
    other = await db.schedules.add(_new(clock, 5, chat_id=3003))
    assert await db.schedules.cancel_for_chat(CHAT, "denied") == [r.id for r in mine]
    assert [r.id for r in await db.schedules.pending(chat_id=None, limit=10)] == [other.id]


async def test_a_database_at_schema_6_upgrades_to_schedules_keeping_its_data(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    previous.mkdir()
    for migration in load_migrations():
        if migration.version <= 6:
            (previous / migration.name).write_text(migration.sql, encoding="utf-8")
    path = tmp_path / "six.db"
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        assert await migrate(conn, previous) == 6
        await conn.execute(
            "INSERT INTO templates (name, body, saved_by, saved_at) VALUES ('outage', 'Power is off', 1, ?)",
            ("2026-01-01T00:00:00.000000+00:00",),
        )
    finally:
        await conn.close()

    clock = FakeClock()
    async with await open_database(path, clock=clock) as db:
        assert await db.schema_version() >= 7
        template = await db.templates.get("outage")
        assert template is not None and template.body == "Power is off"
        record = await db.schedules.add(_new(clock, 5), request_key="msg:1:1")
        assert record.state is ScheduleState.PENDING


async def test_a_personalised_schedule_keeps_each_recipients_text_in_order(db: Database, clock: FakeClock) -> None:
    merged = NewSchedule(
        chat_id=CHAT,
        user_id=7,
        kind=ScheduleKind.BULK,
        provider="texin",
        body="Hi {name}",
        recipients=("254712000001", "254712000002"),
        due_at=clock.now + timedelta(minutes=5),
        texts=("Hi Ann", "Hi Bob"),
    )
    record = await db.schedules.add(merged)
    plain = await db.schedules.add(_new(clock, 5))
    assert record.personal and await db.schedules.texts(record.id) == ("Hi Ann", "Hi Bob")
    assert not plain.personal and await db.schedules.texts(plain.id) is None
    with pytest.raises(ValueError, match="1 texts for 2 recipients"):
        replace(merged, texts=("Hi Ann",))


async def test_a_database_at_schema_10_upgrades_to_schedule_texts_keeping_its_schedules(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    previous.mkdir()
    for migration in load_migrations():
        if migration.version <= 10:
            (previous / migration.name).write_text(migration.sql, encoding="utf-8")
    path = tmp_path / "ten.db"
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        assert await migrate(conn, previous) == 10
        await conn.execute(
            "INSERT INTO schedules (chat_id, kind, provider, body, recipients, due_at, created_at)"
            " VALUES (?, 'bulk', 'texin', 'Tank cleaning at 3', ?, ?, ?)",
            (
                CHAT,
                '["254712345678", "254722000000"]',
                "2026-12-01T05:00:00.000000+00:00",
                "2026-11-30T05:00:00.000000+00:00",
            ),
        )
    finally:
        await conn.close()

    clock = FakeClock()
    async with await open_database(path, clock=clock) as db:
        assert await db.schema_version() >= 11
        old = await db.schedules.get(1)
        assert (
            old is not None and old.body == "Tank cleaning at 3" and old.recipients == ("254712345678", "254722000000")
        )
        assert not old.personal and await db.schedules.texts(1) is None
        merged = await db.schedules.add(
            NewSchedule(
                chat_id=CHAT,
                user_id=None,
                kind=ScheduleKind.BULK,
                provider="texin",
                body="Hi {name}",
                recipients=("254712000001",),
                due_at=clock.now + timedelta(minutes=5),
                texts=("Hi Ann",),
            )
        )
        assert merged.personal and await db.schedules.texts(merged.id) == ("Hi Ann",)
