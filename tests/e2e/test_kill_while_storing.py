"""SIGKILL while a large job's rest is being stored: after the restart the job goes on storing from where its rows
end, every recipient gets exactly one SMS, and the job finishes with a normal summary.

The kill is placed, not hoped for: between two of the bot's chunk transactions the test takes SQLite's write lock
itself, sees fewer rows than recipients, and kills the bot while it holds the lock (the bot cannot store more).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import time
from decimal import Decimal
from pathlib import Path

from storage import JobState, MessageStatus, open_database
from tests.e2e.harness import ADMIN, button_data, process_environment, start_bot_process, stop_bot_process
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

RECIPIENTS = [f"07{i:08d}" for i in range(20_000)]
BATCH = 100
CONCURRENCY = 2
FIRST = BATCH * CONCURRENCY * 2  # stored with the job; the rest is stored in chunks of 2,000 while it sends


def kill_while_storing(database: Path, process: subprocess.Popen[bytes], timeout: float) -> int:
    """Kill ``process`` once the job has more rows than it was created with but fewer than its recipients;
    returns how many rows it had. Blocking: run it in a thread."""
    deadline = time.monotonic() + timeout
    # No busy timeout: SQLite's busy handler backs off for up to 100 ms, long enough for the bot to store on
    # unseen; polling without it takes the lock in the first gap between two of the bot's transactions.
    conn = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        while time.monotonic() < deadline:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # the bot is writing: try again at once
                time.sleep(0.0002)
                continue
            try:
                [stored] = conn.execute("SELECT COUNT(*) FROM messages").fetchone()
                if FIRST < stored < len(RECIPIENTS):
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=10)
                    return int(stored)
                if stored >= len(RECIPIENTS):
                    raise AssertionError("every row was stored before the test could kill the bot")
            finally:
                conn.execute("ROLLBACK")
            time.sleep(0.001)
    finally:
        conn.close()
    raise AssertionError("the bot never started storing the rest of the job")


async def test_kill_while_the_rest_is_stored_resumes_storing_and_sends_each_recipient_once(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer(latency=1.5, credits=Decimal(1_000_000)) as texin:
        environment = process_environment(
            telegram,
            database,
            texin,
            BULK_BATCH_SIZE=str(BATCH),
            BULK_CONCURRENCY=str(CONCURRENCY),
            BULK_PROGRESS_INTERVAL="0.5",
            PROVIDER_TIMEOUT="10",
            BALANCE_CHECK_INTERVAL="0",
            DELIVERY_CHECK_INTERVAL="0",
            LOG_LEVEL="WARNING",
        )
        first = start_bot_process(environment, log)
        try:
            await telegram.wait_for_request("setMyCommands", timeout=30)
            mark = telegram.mark()
            telegram.send_document(ADMIN, "\n".join(RECIPIENTS).encode(), "numbers.csv", caption="/bulk Water off")
            preview = await telegram.wait_for_message(ADMIN, lambda m: "preview" in m.text, after=mark, timeout=60)
            telegram.press_button(ADMIN, preview.message_id, button_data(preview, "Send"))
            stored_at_kill = await asyncio.to_thread(kill_while_storing, database, first, 60)
        finally:
            if first.poll() is None:
                first.kill()
        in_flight = {number for number, count in texin.received.items() if count}
        async with await open_database(database) as db:
            [job] = await db.jobs.list_for_chat(ADMIN)
            at_kill = await db.jobs.totals(job.id)
        assert at_kill.pending + at_kill.sending == stored_at_kill < job.total_recipients == len(RECIPIENTS)

        texin.latency = 0.0
        mark = telegram.mark()
        second = start_bot_process(environment, log)
        try:
            summary = await telegram.wait_for_message(ADMIN, lambda m: "finished" in m.text, after=mark, timeout=90)
        finally:
            stop_bot_process(second)

        async with await open_database(database) as db:
            rows = await db.messages.list_for_job(job.id, limit=len(RECIPIENTS) + 1)
            totals = await db.jobs.totals(job.id)
            finished = await db.jobs.get(job.id)
        assert len(rows) == len(RECIPIENTS) and totals.pending == totals.sending == 0
        assert len({row.recipient for row in rows}) == len(RECIPIENTS)
        assert texin.received.total() == len(RECIPIENTS)
        assert all(count == 1 for count in texin.received.values())
        for row in rows:
            expected = MessageStatus.UNKNOWN if row.recipient in in_flight else MessageStatus.SENT
            assert row.status is expected, row
        assert finished is not None and finished.state is JobState.DONE
        assert f"Sent: {len(RECIPIENTS) - len(in_flight):,}" in summary.text
        assert "was cut" not in "".join(m.text for m in telegram.messages(ADMIN))
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]
