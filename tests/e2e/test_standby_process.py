"""One active ``python -m bot`` per database: a second one waits as a standby, touching nothing, and takes over
when the active one ends (stopped or SIGKILLed) with the recovery of a restart. Real processes on one database and
one fake Telegram; the second reaches it through a ``TelegramTap``, so the test knows which of the two called what."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from bot.standby import STANDBY_LINE
from storage import MessageRecord, MessageStatus, open_database
from storage.db_lock import FileLock, active_lock, open_lock_path
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
from tests.e2e.test_backup_process import run_cli
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

RECIPIENTS = [f"07{i:08d}" for i in range(300)]
BULK = "/bulk " + " ".join(RECIPIENTS) + "\nWater off on Tuesday"
TAKEOVER_SECONDS = 15
SLOW = 0.4  # seconds per provider request: 30 batches two at a time take ~6 s, time for a second process to start


def bot_environment(
    telegram: FakeTelegram, texin: TexinFakeServer | None, database: Path, **variables: str
) -> dict[str, str]:
    return bulk_process_environment(
        telegram, database, texin, batch=10, concurrency=2, progress=0.5, provider_timeout=5,
        **({"LOG_LEVEL": "INFO"} | variables),
    )  # fmt: skip


def says(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


def stop_all(*processes: subprocess.Popen[bytes] | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            stop_bot_process(process)


async def job_rows(database: Path) -> list[MessageRecord]:
    async with await open_database(database) as db:
        [job] = await db.jobs.list_for_chat(ADMIN)
        totals = await db.jobs.totals(job.id)
        assert totals.pending == 0 and totals.sending == 0, totals
        rows = await db.messages.list_for_job(job.id, limit=1000)
    assert len({row.recipient for row in rows}) == len(RECIPIENTS)
    return rows


async def test_a_second_bot_on_the_database_waits_as_standby_sending_nothing_and_takes_over_when_stopped(
    tmp_path: Path,
) -> None:
    database = tmp_path / "smsrelay.db"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    second: subprocess.Popen[bytes] | None = None
    with FakeTelegram() as telegram, TelegramTap(telegram) as tap, TexinFakeServer(latency=SLOW) as texin:
        environment = bot_environment(telegram, texin, database)
        first = start_bot_process(environment, first_log)
        try:
            mark = telegram.mark()
            await bulk_sent_by_admin(telegram, BULK)
            await wait_until(lambda: texin.received.total() >= 20, 30, "the job to be under way")
            second = start_bot_process(environment | tap.environment(), second_log)
            await wait_until(lambda: says(second_log, STANDBY_LINE), 15, "the second process to wait as standby")
            assert texin.received.total() < len(RECIPIENTS), "the job finished before the second process started"

            await telegram.wait_for_message(ADMIN, lambda m: "Bulk job #1 finished" in m.text, after=mark, timeout=60)
            assert tap.calls() == []  # the standby polled nothing and sent nothing
            assert second.poll() is None

            stop_bot_process(first)
            await wait_until(lambda: tap.calls("getUpdates"), TAKEOVER_SECONDS, "the standby to take over and poll")
            mark = telegram.mark()
            telegram.send_text(ADMIN, "/start")
            await telegram.wait_for_message(ADMIN, after=mark, timeout=10)
            assert "sendMessage" in tap.calls()  # the answer came from the former standby
        finally:
            stop_all(first, second)
    assert first.returncode == 0 and second.returncode == 0
    rows = await job_rows(database)
    assert {row.status for row in rows} == {MessageStatus.SENT}
    assert texin.received == {row.recipient: 1 for row in rows}  # nobody texted twice, nobody left out
    assert says(second_log, "this one is now active")
    assert STANDBY_LINE not in first_log.read_text(errors="replace")
    for log in (first_log, second_log):
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


async def test_a_standby_takes_over_after_the_active_bot_is_killed_and_resends_nothing(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    second: subprocess.Popen[bytes] | None = None
    with FakeTelegram() as telegram, TelegramTap(telegram) as tap, TexinFakeServer(latency=SLOW) as texin:
        environment = bot_environment(telegram, texin, database)
        first = start_bot_process(environment, first_log)
        try:
            await bulk_sent_by_admin(telegram, BULK)
            await wait_until(lambda: texin.received.total() >= 20, 30, "the job to be under way")
            second = start_bot_process(environment | tap.environment(), second_log)
            await wait_until(lambda: says(second_log, STANDBY_LINE), 15, "the second process to wait as standby")
            # Kill right as a batch reaches the provider: it is in flight (the fake answers SLOW seconds later).
            arrived = texin.received.total()
            await wait_until(lambda: texin.received.total() > arrived, 10, "the next batch to reach the provider")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            assert texin.received.total() < len(RECIPIENTS), "the job finished before the kill: nothing to take over"
            assert tap.calls() == []
            mark = telegram.mark()

            await wait_until(lambda: tap.calls("getUpdates"), TAKEOVER_SECONDS, "the standby to take over and poll")
            summary = await telegram.wait_for_message(
                ADMIN, lambda m: "Bulk job #1 finished" in m.text, after=mark, timeout=30
            )
        finally:
            if first.poll() is None:
                first.kill()
            stop_all(second)
    assert second.returncode == 0
    rows = await job_rows(database)
    unknown = {row.recipient for row in rows if row.status is MessageStatus.UNKNOWN}
    assert unknown, "nothing was in flight at the kill: the recovery was not exercised"
    for row in rows:
        count = texin.received[row.recipient]
        assert count <= 1, f"{row.recipient} received {count} times"
        if row.recipient not in unknown:
            assert row.status is MessageStatus.SENT and count == 1, (row, count)
    [report] = [m for m in telegram.messages(ADMIN) if m.seq > mark and "took over as the active one" in m.text]
    assert f"{len(unknown):,} messages" in report.text and "/retry 1" in report.text
    assert f"Unknown (maybe sent, not resent): {len(unknown):,}" in summary.text
    assert "Traceback" not in second_log.read_text(errors="replace"), second_log.read_text(errors="replace")[-3000:]


async def test_readyz_is_200_on_the_active_bot_and_503_standby_on_the_waiting_one_until_it_takes_over(
    tmp_path: Path,
) -> None:
    database = tmp_path / "smsrelay.db"
    ports = free_port(), free_port()
    active_url, standby_url = (f"http://127.0.0.1:{port}" for port in ports)
    second: subprocess.Popen[bytes] | None = None
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = bot_environment(telegram, texin, database, ALERT_WEBHOOK_TOKEN="intake-token-0123")
        first = start_bot_process(environment | {"HTTP_PORT": str(ports[0])}, tmp_path / "first.log")
        try:
            ready = await wait_for_answer(f"{active_url}/readyz", lambda a: a.status_code == 200, 30, "ready")
            assert ready.json() == {"status": "active"}
            await wait_for_answer(f"{active_url}/healthz", lambda a: a.status_code == 200, 30, "healthy")

            second = start_bot_process(environment | {"HTTP_PORT": str(ports[1])}, tmp_path / "second.log")
            standby = await wait_for_answer(
                f"{standby_url}/readyz", lambda a: a.status_code != 0, 30, "the standby's HTTP side"
            )
            assert standby.status_code == 503 and standby.json() == {"status": "standby"}
            alive = await wait_for_answer(f"{standby_url}/healthz", lambda a: True, 5, "the standby's /healthz")
            assert alive.status_code == 200 and alive.json()["status"] == "alive"
            # Alertmanager and Telegram retry a 5xx: nothing is taken by a process that cannot act on it.
            for path in ("/alerts/plain", "/telegram"):
                refused = await wait_for_answer(f"{standby_url}{path}", lambda a: True, 5, path)
                assert refused.status_code == 503, (path, refused.status_code)
            # Prometheus scrapes both: the standby says it is one.
            scraped = await wait_for_answer(f"{standby_url}/metrics", lambda a: True, 5, "/metrics")
            assert scraped.status_code == 200 and "smsrelay_active 0.0" in scraped.text
            assert (await wait_for_answer(f"{active_url}/readyz", lambda a: True, 5, "still")).status_code == 200

            stop_bot_process(first)
            taken = await wait_for_answer(
                f"{standby_url}/readyz", lambda a: a.status_code == 200, TAKEOVER_SECONDS, "the takeover"
            )
            assert taken.json() == {"status": "active"}
            await wait_for_answer(f"{standby_url}/healthz", lambda a: a.status_code == 200, 15, "healthy")
        finally:
            stop_all(first, second)
    assert first.returncode == 0 and second.returncode == 0


async def test_a_standby_touches_nothing_blocks_no_backup_and_stops_cleanly(tmp_path: Path) -> None:
    database = tmp_path / "data" / "smsrelay.db"
    log = tmp_path / "standby.log"
    with FakeTelegram() as telegram, TelegramTap(telegram) as tap:
        environment = bot_environment(telegram, None, database, SMS_SIMULATOR="true")
        # Another process is active (a bot of another container, a restore, an older smsrelay: all hold the lock).
        with active_lock(database):
            standby = start_bot_process(environment | tap.environment(), log)
            try:
                await wait_until(lambda: says(log, STANDBY_LINE), 15, "the process to wait as standby")
                assert not database.exists()  # not created, not migrated
                with FileLock(open_lock_path(database), exclusive=True):
                    pass  # the standby does not have the file open: only the active lock keeps a restore out
                async with await open_database(database):
                    pass  # now there is a database, as beside any active bot
                backed_up, said = await run_cli(environment, "backup", str(tmp_path / "backups") + "/")
                assert backed_up == 0, said
                assert tap.calls() == []
            finally:
                stop_all(standby)
    assert standby.returncode == 0
    output = log.read_text(errors="replace")
    assert output.count(STANDBY_LINE) == 1 and "Traceback" not in output, output
