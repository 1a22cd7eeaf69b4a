"""Always on: two ``python -m bot`` replicas on one PostgreSQL database. One is active (an advisory lock), the other
waits; SIGKILL the active one mid-bulk and the standby finishes the job, nobody texted twice; take PostgreSQL away
under the active one and it stops sending, nothing twice when it is back. A real cluster (tests/postgres_cluster.py)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import asyncpg

from bot.standby import STANDBY_LINE
from storage import MessageRecord, MessageStatus, open_database
from tests.e2e.harness import (
    ADMIN,
    bulk_process_environment,
    bulk_sent_by_admin,
    start_bot_process,
    stop_bot_process,
    wait_until,
)
from tests.e2e.http_process import free_port, wait_for_answer
from tests.e2e.telegram_tap import TelegramTap
from tests.e2e.test_standby_process import says, stop_all
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer
from tests.postgres_cluster import PostgresCluster

RECIPIENTS = [f"07{i:08d}" for i in range(3000)]
BULK = "/bulk " + " ".join(RECIPIENTS) + "\nWater off on Tuesday"
BATCH, SLOTS = 50, 2
TAKEOVER_SECONDS = 15
SLOW = 0.25  # seconds per provider request: 60 batches two at a time take ~8 s
TAKEOVER_NOTICE = "took over as the active one"
CREDITS = Decimal(10_000)


def environment(telegram: FakeTelegram, texin: TexinFakeServer, url: str, tmp_path: Path) -> dict[str, str]:
    return bulk_process_environment(
        telegram, tmp_path / "unused.db", texin, batch=BATCH, concurrency=SLOTS, progress=0.5, provider_timeout=5,
        DATABASE_URL=url, LOG_LEVEL="INFO",
    )  # fmt: skip


async def finished_rows(url: str) -> list[MessageRecord]:
    async with await open_database(url) as db:
        [job] = await db.jobs.list_for_chat(ADMIN)
        totals = await db.jobs.totals(job.id)
        assert totals.pending == 0 and totals.sending == 0, totals
        rows = await db.messages.list_for_job(job.id, limit=10_000)
    assert sorted(row.recipient for row in rows) == sorted("254" + n[1:] for n in RECIPIENTS)
    return rows


def sent_once_or_unknown(rows: list[MessageRecord], texin: TexinFakeServer) -> set[str]:
    """Every row sent exactly once, or ``unknown`` and sent at most once; returns the unknown ones."""
    unknown = {row.recipient for row in rows if row.status is MessageStatus.UNKNOWN}
    for row in rows:
        count = texin.received[row.recipient]
        assert count <= 1, f"{row.recipient} received {count} times"
        if row.recipient not in unknown:
            assert row.status is MessageStatus.SENT and count == 1, (row, count)
    return unknown


async def test_sigkill_of_the_active_replica_mid_bulk_the_standby_finishes_the_job_and_nobody_is_texted_twice(
    tmp_path: Path, postgres_url: str
) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    second: subprocess.Popen[bytes] | None = None
    restarted: subprocess.Popen[bytes] | None = None
    with (
        FakeTelegram() as telegram,
        TelegramTap(telegram) as tap,
        TexinFakeServer(latency=SLOW, credits=CREDITS) as texin,
    ):
        env = environment(telegram, texin, postgres_url, tmp_path)
        first = start_bot_process(env, first_log)
        try:
            await bulk_sent_by_admin(telegram, BULK)
            await wait_until(lambda: texin.received.total() >= 400, 60, "the job to be under way")
            second = start_bot_process(env | tap.environment(), second_log)
            await wait_until(lambda: says(second_log, STANDBY_LINE), 15, "the second replica to wait as standby")
            arrived = texin.received.total()
            await wait_until(lambda: texin.received.total() > arrived, 10, "the next batch to reach the provider")
            first.send_signal(signal.SIGKILL)  # a batch is in flight: the fake answers SLOW seconds later
            first.wait(timeout=10)
            assert texin.received.total() < len(RECIPIENTS), "the job finished before the kill: nothing to take over"
            assert tap.calls() == []  # the standby polled nothing and sent nothing
            mark = telegram.mark()

            await wait_until(lambda: tap.calls("getUpdates"), TAKEOVER_SECONDS, "the standby to take over and poll")
            await telegram.wait_for_message(ADMIN, lambda m: "Bulk job #1 finished" in m.text, after=mark, timeout=60)
            # The old active, restarted, waits as a standby: the new active keeps the lock.
            restarted = start_bot_process(env, first_log)
            await wait_until(lambda: first_log.read_text().count(STANDBY_LINE) == 1, 15, "the old one to wait")
            telegram_before = len(tap.calls())
            mark_after = telegram.mark()
            telegram.send_text(ADMIN, "/start")
            await telegram.wait_for_message(ADMIN, after=mark_after, timeout=10)
            assert len(tap.calls()) > telegram_before  # still answered by the replica that took over
        finally:
            if first.poll() is None:
                first.kill()
            stop_all(restarted, second)
    assert second.returncode == 0 and restarted is not None and restarted.returncode == 0
    rows = await finished_rows(postgres_url)
    unknown = sent_once_or_unknown(rows, texin)
    assert 0 < len(unknown) <= BATCH * SLOTS, f"{len(unknown)} unknown: more than one batch per slot"
    notices = [m for m in telegram.messages(ADMIN) if TAKEOVER_NOTICE in m.text]
    assert len(notices) == 1, [m.text for m in notices]  # told once, with what was settled unknown
    assert f"{len(unknown):,} messages were being sent" in notices[0].text and "/retry 1" in notices[0].text
    for log in (first_log, second_log):
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


async def test_postgresql_down_for_20_s_under_the_active_replica_stops_its_sending_and_nothing_goes_twice(
    tmp_path: Path, postgres_url: str, postgres_cluster: PostgresCluster
) -> None:
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer(latency=SLOW, credits=CREDITS) as texin:
        process = start_bot_process(environment(telegram, texin, postgres_url, tmp_path), log)
        try:
            await bulk_sent_by_admin(telegram, BULK)
            await wait_until(lambda: texin.received.total() >= 400, 60, "the job to be under way")
            postgres_cluster.stop("immediate")
            try:
                await asyncio.sleep(8)  # the active one finds its lock gone within HA_TAKEOVER_SECONDS / 2
                stopped_at = texin.received.total()
                await asyncio.sleep(12)
                assert texin.received.total() == stopped_at, "texts went out while the database was away"
                assert stopped_at < len(RECIPIENTS)
                assert process.poll() is None, "the bot died with its database"
            finally:
                postgres_cluster.start()
            mark = telegram.mark()
            await wait_until(lambda: says(log, "is now active"), 30, "the bot to be active again")
            await telegram.wait_for_message(ADMIN, lambda m: "Bulk job #1 finished" in m.text, after=mark, timeout=90)
        finally:
            stop_all(process)
    assert process.returncode == 0
    rows = await finished_rows(postgres_url)
    unknown = sent_once_or_unknown(rows, texin)
    assert len(unknown) <= BATCH * SLOTS, f"{len(unknown)} unknown: more than one batch per slot"
    output = log.read_text(errors="replace")
    assert "stopping all work" in output and "waits as a standby again" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


async def test_readyz_and_smsrelay_active_tell_the_active_replica_from_the_standby(
    tmp_path: Path, postgres_url: str
) -> None:
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    second: subprocess.Popen[bytes] | None = None
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        env = environment(telegram, texin, postgres_url, tmp_path)
        first = start_bot_process(env | {"HTTP_PORT": str(ports[0])}, tmp_path / "first.log")
        try:
            await wait_for_answer(f"{urls[0]}/readyz", lambda a: a.status_code == 200, 30, "the active one ready")
            second = start_bot_process(env | {"HTTP_PORT": str(ports[1])}, tmp_path / "second.log")
            standby = await wait_for_answer(f"{urls[1]}/readyz", lambda a: a.status_code != 0, 30, "the standby")
            assert standby.status_code == 503 and standby.json() == {"status": "standby"}
            active_metrics = await wait_for_answer(f"{urls[0]}/metrics", lambda a: True, 5, "metrics")
            standby_metrics = await wait_for_answer(f"{urls[1]}/metrics", lambda a: True, 5, "standby metrics")
            assert "smsrelay_active 1.0" in active_metrics.text
            assert standby_metrics.status_code == 200 and "smsrelay_active 0.0" in standby_metrics.text
            stop_bot_process(first)
            await wait_for_answer(f"{urls[1]}/readyz", lambda a: a.status_code == 200, TAKEOVER_SECONDS, "takeover")
            taken = await wait_for_answer(f"{urls[1]}/metrics", lambda a: True, 5, "metrics after")
            assert "smsrelay_active 1.0" in taken.text
        finally:
            stop_all(first, second)
    assert first.returncode == 0 and second.returncode == 0


async def test_a_paused_active_replica_whose_lock_was_taken_claims_nothing_when_it_wakes(
    tmp_path: Path, postgres_url: str
) -> None:
    """The fence: the active one is paused (SIGSTOP), its lock's connection dies (as in a network partition), the
    standby takes over; when the old one wakes, its data connection still works, yet no claim of it succeeds."""
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    second: subprocess.Popen[bytes] | None = None
    with (
        FakeTelegram() as telegram,
        TelegramTap(telegram) as tap,
        TexinFakeServer(latency=SLOW, credits=CREDITS) as old_texin,
        TexinFakeServer(latency=SLOW, credits=CREDITS) as new_texin,
    ):
        first = start_bot_process(environment(telegram, old_texin, postgres_url, tmp_path), first_log)
        try:
            await bulk_sent_by_admin(telegram, BULK)
            await wait_until(lambda: old_texin.received.total() >= 400, 60, "the job to be under way")
            second_env = environment(telegram, new_texin, postgres_url, tmp_path) | tap.environment()
            second = start_bot_process(second_env, second_log)
            await wait_until(lambda: says(second_log, STANDBY_LINE), 15, "the second replica to wait as standby")
            first.send_signal(signal.SIGSTOP)
            await asyncio.sleep(SLOW * 2)  # requests in flight at the pause reach the fake
            sent_by_old = old_texin.received.total()
            assert sent_by_old < len(RECIPIENTS)
            await terminate_the_lock_holder(postgres_url)
            await wait_until(lambda: tap.calls("getUpdates"), TAKEOVER_SECONDS, "the standby to take over")
            await wait_until(lambda: new_texin.received.total() >= 200, 30, "the new active one to send")
            first.send_signal(signal.SIGCONT)  # wakes while the new one is mid-job, its claims ready to go
            mark = telegram.mark()
            await wait_until(lambda: says(first_log, "stopping all work"), 15, "the old one to see it lost")
            await telegram.wait_for_message(ADMIN, lambda m: "Bulk job #1 finished" in m.text, after=mark, timeout=60)
            assert old_texin.received.total() == sent_by_old, "the old active one sent after it lost the lock"
        finally:
            if first.poll() is None:
                first.send_signal(signal.SIGCONT)
            stop_all(first, second)
    rows = await finished_rows(postgres_url)
    twice = [n for n in old_texin.received if new_texin.received[n]]
    assert twice == [], f"{len(twice)} recipients texted by both replicas"
    assert old_texin.received.total() + new_texin.received.total() <= len(RECIPIENTS)
    assert {row.status for row in rows} <= {MessageStatus.SENT, MessageStatus.UNKNOWN}


async def terminate_the_lock_holder(url: str) -> None:
    """End the session that holds the active lock, as the server does when it stops hearing from that machine."""
    conn = await asyncpg.connect(url)
    try:
        holders = await conn.fetch("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted")
        assert len(holders) == 1, holders
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", holders[0]["pid"])
    finally:
        await conn.close()
