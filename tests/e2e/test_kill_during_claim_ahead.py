"""SIGKILL while batches wait, read and claimed ahead, behind requests in flight: nobody gets an SMS twice.

The runner reads its next batches while requests are out, and each worker claims its next batch ahead while
its own request is out (a row in ``bulk_batches_in_flight`` with ``ahead = 1``; ``totals`` counts its rows as
``sending``). Right before a claimed-ahead batch leaves, a line in the departure log says so. At the kill here
the requests out are claimed-ahead batches that departed, and the next ones are claimed ahead but have not
left: after the restart the departed ones become ``unknown`` and are never resent, while the ones claimed ahead
(and those only read ahead) provably never left and go out exactly once. The job is larger than what is stored
before it starts, so its rows are also stored while it sends.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from pathlib import Path

from storage import MessageStatus, open_database
from tests.e2e.harness import (
    ADMIN,
    bulk_sent_by_admin,
    process_environment,
    start_bot_process,
    stop_bot_process,
    wait_until,
)
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

RECIPIENTS = [f"07{i:08d}" for i in range(200)]
BATCH = 10
CONCURRENCY = 2  # 2 requests in flight, 2 batches read ahead, 40 rows stored before the job starts
ROUND = BATCH * CONCURRENCY  # the recipients of one request per worker


def claims_ahead(database: Path) -> int:
    """Batches claimed ahead by the running bot that are the only rows in flight (read from another process)."""
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as conn:
        ahead, total = conn.execute("SELECT SUM(ahead), COUNT(*) FROM bulk_batches_in_flight").fetchone()
    return int(ahead or 0) if ahead == total else -1


async def test_kill_while_batches_are_read_ahead_sends_each_recipient_once(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer(latency=1.5) as texin:
        environment = process_environment(
            telegram,
            database,
            texin,
            BULK_BATCH_SIZE=str(BATCH),
            BULK_CONCURRENCY=str(CONCURRENCY),
            BULK_PROGRESS_INTERVAL="0.3",
            PROVIDER_TIMEOUT="10",
            BALANCE_CHECK_INTERVAL="0",
            DELIVERY_CHECK_INTERVAL="0",
            LOG_LEVEL="WARNING",
        )
        first = start_bot_process(environment, log)
        try:
            await bulk_sent_by_admin(telegram, "/bulk " + " ".join(RECIPIENTS) + "\nWater off tomorrow")
            # The second round of requests (claimed ahead, departed) is held at the provider, the first round is
            # recorded, and each worker has claimed its third batch ahead: kill then.
            await wait_until(lambda: texin.received.total() >= 2 * ROUND, 30, "the second round in flight")
            await wait_until(lambda: claims_ahead(database) == 2 * CONCURRENCY, 30, "the next batches claimed")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        assert texin.received.total() == 2 * ROUND, "more than two rounds of requests reached the provider"
        async with await open_database(database) as db:
            [job] = await db.jobs.list_for_chat(ADMIN)
            at_kill = await db.jobs.totals(job.id)
            sent_before = {row.recipient for row in await db.messages.list_for_job(job.id, limit=1000)
                           if row.status is MessageStatus.SENT}  # fmt: skip
            rest = await db.jobs.unstored(job.id)  # a large job stores its rest while it sends: the kill may come first
        in_flight = {number for number, count in texin.received.items() if count} - sent_before
        assert len(sent_before) == len(in_flight) == ROUND
        waiting = at_kill.pending + (0 if rest is None else len(rest.recipients))
        # In flight: the departed round and the round claimed ahead (not left yet); the rest waits.
        assert (at_kill.sending, waiting) == (2 * ROUND, len(RECIPIENTS) - 3 * ROUND)

        texin.latency = 0.02
        mark = telegram.mark()
        second = start_bot_process(environment, log)
        try:
            summary = await telegram.wait_for_message(ADMIN, lambda m: "finished" in m.text, after=mark, timeout=60)
        finally:
            stop_bot_process(second)

        async with await open_database(database) as db:
            rows = await db.messages.list_for_job(job.id, limit=1000)
            totals = await db.jobs.totals(job.id)
        assert len(rows) == len(RECIPIENTS) and totals.pending == totals.sending == 0
        for row in rows:
            assert texin.received[row.recipient] == 1, f"{row.recipient} received {texin.received[row.recipient]}"
            expected = MessageStatus.UNKNOWN if row.recipient in in_flight else MessageStatus.SENT
            assert row.status is expected, row
        assert f"Sent: {len(RECIPIENTS) - ROUND:,}" in summary.text
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]
