"""Quota benchmark: the cost of the daily-quota check and of /usage on a 100,000-row message table.

Run from the repository root with ``python -m bench.quotas``. Two tables in temp files: 100,000 rows spread over
50 chats and 30 days (a normal history), and one chat that sent a 100,000-recipient bulk job today (the worst
case for the check, which sums that chat's rows of the day). Also times the 100,000-row job insert with and
without migration 0008's index, the write cost that index adds.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.localtime import day_bounds, local_day
from storage import Database, NewBulkJob, open_database

ROWS = 100_000
CHATS = 50
DAYS = 30
ZONE = ZoneInfo("Africa/Nairobi")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def median_ms(call: Callable[[], Awaitable[object]], runs: int = 200) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def job(chat_id: int) -> NewBulkJob:
    return NewBulkJob(chat_id, 1, "Benchmark", "gsm7", 1, "texin", "BENCH")


async def history(path: Path) -> None:
    clock = Clock()
    now = clock.now
    db = await open_database(path, clock=clock)
    try:
        per_job = ROWS // (CHATS * DAYS)
        for day in range(DAYS):
            clock.now = now - timedelta(days=day)
            for chat in range(CHATS):
                await db.jobs.create(job(chat), [f"2547{n:08d}" for n in range(per_job)])
        clock.now = now
        start, end = day_bounds(local_day(now, ZONE), ZONE)
        used = await db.quotas.used_units(7, start, end)
        check = await median_ms(lambda: db.quotas.used_units(7, start, end))
        print(f"quota check, {ROWS:,} rows over {CHATS} chats and {DAYS} days ({used} today): {check:.3f} ms (median)")
        first, _ = day_bounds(local_day(now, ZONE) - timedelta(days=89), ZONE)
        one = await median_ms(lambda: db.usage.buckets(first, end, chat_id=7), runs=20)
        every = await median_ms(lambda: db.usage.buckets(first, end), runs=20)
        print(f"/usage 90 days: one chat {one:.1f} ms, every chat (admin) {every:.1f} ms (median)")
    finally:
        await db.close()


async def one_big_day(path: Path, *, drop_index: bool) -> None:
    db = await open_database(path)
    try:
        if drop_index:
            await drop_quota_index(db)
        started = time.perf_counter()
        await db.jobs.create(job(1), [f"2547{n:08d}" for n in range(ROWS)])
        insert = time.perf_counter() - started
        label = "without" if drop_index else "with"
        print(f"insert of a {ROWS:,}-recipient job {label} the 0008 index: {insert:.2f} s")
        if not drop_index:
            now = datetime.now(UTC)
            start, end = day_bounds(local_day(now, ZONE), ZONE)
            check = await median_ms(lambda: db.quotas.used_units(1, start, end), runs=20)
            print(f"quota check of a chat with {ROWS:,} rows today (worst case): {check:.1f} ms (median)")
    finally:
        await db.close()


async def drop_quota_index(db: Database) -> None:
    async with db.transaction():
        await db._shared.execute("DROP INDEX messages_by_chat_time")  # the comparison this benchmark makes


async def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        await history(Path(folder) / "history.db")
        await one_big_day(Path(folder) / "without.db", drop_index=True)
        await one_big_day(Path(folder) / "with.db", drop_index=False)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
