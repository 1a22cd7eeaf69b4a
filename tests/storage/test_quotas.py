"""Quota storage: what a chat's rows count on a day, the admins' overrides, one-off notices, usage buckets, and
the upgrade of a database made before migration 0008."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosqlite

from bot.localtime import day_bounds, local_day
from storage import Database, MessageOutcome, MessageStatus, NewBulkJob, Role, migrate, open_database
from storage.migrations import load_migrations

from .conftest import FakeClock
from .factories import ADMIN_CHAT, SENDER_CHAT, USER, a_message

NAIROBI = ZoneInfo("Africa/Nairobi")


def today(clock: FakeClock) -> tuple[datetime, datetime]:
    return day_bounds(local_day(clock(), NAIROBI), NAIROBI)


async def test_a_chats_rows_count_their_charged_units_or_their_segments_and_failed_or_cancelled_rows_nothing(
    db: Database, clock: FakeClock
) -> None:
    two_parts = dataclasses.replace(a_message(), segments=2)
    await db.messages.add(dataclasses.replace(two_parts, status=MessageStatus.SENDING))  # reserved: 2
    await db.messages.add(dataclasses.replace(two_parts, status=MessageStatus.SENT, units=3))  # charged: 3
    await db.messages.add(dataclasses.replace(two_parts, status=MessageStatus.UNKNOWN))  # maybe spent: 2
    await db.messages.add(dataclasses.replace(two_parts, status=MessageStatus.FAILED))  # never sent: 0
    await db.messages.add(dataclasses.replace(two_parts, status=MessageStatus.FAILED, units=1))  # charged anyway: 1
    await db.messages.add(dataclasses.replace(two_parts, status=MessageStatus.CANCELLED))  # 0
    await db.messages.add(dataclasses.replace(two_parts, chat_id=ADMIN_CHAT, status=MessageStatus.SENT))  # not ours
    start, end = today(clock)
    assert await db.quotas.used_units(SENDER_CHAT, start, end) == 2 + 3 + 2 + 1
    assert await db.quotas.used_units(ADMIN_CHAT, start, end) == 2


async def test_rows_count_on_the_local_day_they_were_written(db: Database, clock: FakeClock) -> None:
    # 23:30 in Nairobi is 20:30 UTC: the same UTC date as 00:30 UTC the next morning, but another local day.
    clock.now = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)
    await db.messages.add(a_message(status=MessageStatus.SENT))
    clock.now = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 00:30 on the 24th in Nairobi
    await db.messages.add(dataclasses.replace(a_message(status=MessageStatus.SENT), segments=4))
    first = day_bounds(datetime(2026, 11, 23).date(), NAIROBI)
    second = day_bounds(datetime(2026, 11, 24).date(), NAIROBI)
    assert await db.quotas.used_units(SENDER_CHAT, *first) == 1
    assert await db.quotas.used_units(SENDER_CHAT, *second) == 4


async def test_a_retried_row_counts_on_the_day_of_the_retry_not_of_the_original(db: Database, clock: FakeClock) -> None:
    job = await db.jobs.create(
        NewBulkJob(SENDER_CHAT, USER, "Hello", "gsm7", 2, "texin", "Texin"), ["254712345678", "254722000000"]
    )
    await db.jobs.start_running(job.id)
    rows = await db.jobs.claim_batch(job.id, 10)
    await db.jobs.record_outcomes(
        [
            MessageOutcome(rows[0].id, MessageStatus.SENT, units=2),
            MessageOutcome(rows[1].id, MessageStatus.FAILED, error="refused"),
        ]
    )
    yesterday = today(clock)
    assert await db.quotas.used_units(SENDER_CHAT, *yesterday) == 2
    assert await db.quotas.requeue_units(job.id) == 2  # the failed row's segments
    clock.advance(24 * 3600)
    assert await db.jobs.requeue_failed_and_unknown(job.id) == 1
    assert await db.quotas.used_units(SENDER_CHAT, *today(clock)) == 2
    assert await db.quotas.used_units(SENDER_CHAT, *yesterday) == 2  # the sent row stays where it was


async def test_alert_sms_count_in_no_quota_and_come_apart_in_usage(db: Database, clock: FakeClock) -> None:
    alert = dataclasses.replace(a_message(chat_id=ADMIN_CHAT, status=MessageStatus.SENT, units=2), outside_quota=True)
    await db.messages.add(alert)
    await db.messages.add(a_message(chat_id=ADMIN_CHAT, status=MessageStatus.SENT, units=1))
    start, end = today(clock)
    assert await db.quotas.used_units(ADMIN_CHAT, start, end) == 1
    buckets = await db.usage.buckets(start, end)
    assert sorted((b.outside_quota, b.units) for b in buckets) == [(False, 1), (True, 2)]


async def test_an_override_is_a_limit_or_off_and_clearing_it_goes_back_to_the_default(db: Database) -> None:
    assert await db.quotas.override(SENDER_CHAT) is None
    await db.quotas.set_override(SENDER_CHAT, 50, by_chat_id=ADMIN_CHAT)
    first = await db.quotas.override(SENDER_CHAT)
    assert first is not None and first.daily_units == 50 and first.set_by == ADMIN_CHAT
    await db.quotas.set_override(SENDER_CHAT, None, by_chat_id=ADMIN_CHAT)
    off = await db.quotas.override(SENDER_CHAT)
    assert off is not None and off.daily_units is None
    assert await db.quotas.clear_override(SENDER_CHAT) is True
    assert await db.quotas.override(SENDER_CHAT) is None
    assert await db.quotas.clear_override(SENDER_CHAT) is False


async def test_a_notice_is_claimed_once_even_after_reopening_the_file(db_path: Path, clock: FakeClock) -> None:
    first = await open_database(db_path, clock=clock, active=True)
    try:
        assert await first.quotas.claim_notice("quota:2002:2026-11-23:80") is True
        assert await first.quotas.claim_notice("quota:2002:2026-11-23:80") is False
    finally:
        await first.close()
    again = await open_database(db_path, clock=clock, active=True)
    try:
        assert await again.quotas.claim_notice("quota:2002:2026-11-23:80") is False
        assert await again.quotas.claim_notice("quota:2002:2026-11-23:100") is True
    finally:
        await again.close()


async def test_usage_buckets_sum_units_and_decimal_costs_per_chat_and_provider(db: Database, clock: FakeClock) -> None:
    for _ in range(3):
        await db.messages.add(a_message(status=MessageStatus.SENT, units=1, cost=Decimal("0.80")))
    await db.messages.add(a_message(status=MessageStatus.SENT, provider="sms254", units=2))
    await db.messages.add(a_message(status=MessageStatus.CANCELLED))
    await db.messages.add(a_message(chat_id=ADMIN_CHAT, status=MessageStatus.SENT, units=5))
    start, end = today(clock)
    mine = await db.usage.buckets(start, end, chat_id=SENDER_CHAT)
    assert {(b.provider, b.units, b.messages, b.cost) for b in mine} == {
        ("texin", 3, 3, Decimal("2.40")),
        ("sms254", 2, 1, None),
    }
    every = await db.usage.buckets(start, end)
    assert sum(b.units for b in every) == 10
    assert {b.chat_id for b in every} == {SENDER_CHAT, ADMIN_CHAT}
    bucket_start = mine[0].start
    assert bucket_start <= clock() < bucket_start + timedelta(minutes=15)


async def test_a_database_made_before_quotas_upgrades_in_place_and_counts_its_old_rows(tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    previous.mkdir()
    for migration in load_migrations():
        if migration.version <= 6:
            (previous / migration.name).write_text(migration.sql, encoding="utf-8")
    path = tmp_path / "old.db"
    written = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        assert await migrate(conn, previous) == 6
        await conn.execute(
            "INSERT INTO messages (chat_id, provider, recipient, body, encoding, segments, units, status,"
            " created_at, updated_at) VALUES (?, 'texin', '254712345678', 'Hi', 'gsm7', 1, 3, 'sent', ?, ?)",
            (SENDER_CHAT, written.isoformat(timespec="microseconds"), written.isoformat(timespec="microseconds")),
        )
    finally:
        await conn.close()
    db = await open_database(path, active=True)
    try:
        assert await db.schema_version() == len(load_migrations())
        assert await db.quotas.used_units(SENDER_CHAT, *day_bounds(written.date(), NAIROBI)) == 3
        await db.quotas.set_override(SENDER_CHAT, 10, by_chat_id=ADMIN_CHAT)
    finally:
        await db.close()


async def test_a_group_that_becomes_a_supergroup_keeps_its_quota(db: Database) -> None:
    group, supergroup = -4001, -1004001
    await db.chats.grant(group, Role.SENDER, ADMIN_CHAT)
    await db.quotas.set_override(group, 25, by_chat_id=ADMIN_CHAT)
    assert await db.chats.migrate(group, supergroup) is not None
    moved = await db.quotas.override(supergroup)
    assert moved is not None and moved.daily_units == 25
    assert await db.quotas.override(group) is None
