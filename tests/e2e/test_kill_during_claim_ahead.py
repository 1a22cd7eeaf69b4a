"""SIGKILL while batches wait, read ahead, behind requests in flight: after the restart nobody gets an SMS twice.

The runner reads its next batches while requests are out and marks a batch in flight only right before its
request leaves (``totals`` counts its rows as ``sending``), so at the kill the batches waiting in memory are
still ``pending`` in the database (the provider got nothing for them) and go out once after the restart; the
batches in flight become ``unknown`` and are never resent. The job is larger than what is stored before it
starts, so its rows are also stored while it sends.
"""

from __future__ import annotations

import signal
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
            # Both slots' requests have reached the provider and are held there: the next batches wait read ahead.
            await wait_until(lambda: texin.received.total() >= BATCH * CONCURRENCY, 30, "two requests in flight")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        in_flight = {number for number, count in texin.received.items() if count}
        assert len(in_flight) == BATCH * CONCURRENCY, "more than the requests in flight reached the provider"
        async with await open_database(database) as db:
            [job] = await db.jobs.list_for_chat(ADMIN)
            at_kill = await db.jobs.totals(job.id)
            rest = await db.jobs.unstored(job.id)  # a large job stores its rest while it sends: the kill may come first
        waiting = at_kill.pending + (0 if rest is None else len(rest.recipients))
        assert (at_kill.sending, waiting) == (BATCH * CONCURRENCY, len(RECIPIENTS) - BATCH * CONCURRENCY)

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
        assert f"Sent: {len(RECIPIENTS) - BATCH * CONCURRENCY:,}" in summary.text
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]
