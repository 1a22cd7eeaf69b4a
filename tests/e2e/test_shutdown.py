"""``docker stop`` on a bot in the middle of a bulk job: SIGTERM, then SIGKILL 10 s later.

The bot runs as a real process (``python -m bot``) with the default ``SHUTDOWN_GRACE_SECONDS`` against a fake Texin
that takes longer to answer than the grace. It must exit by itself, with status 0, well before Docker's kill; the
batches still with the provider become ``unknown`` (the fake has them: they count as maybe sent), the rest stay
``pending`` and go out after a restart, and no recipient gets the SMS twice.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from pathlib import Path

import pytest

from storage import MessageStatus, open_database
from tests.e2e.harness import (
    ADMIN,
    bulk_sent_by_admin,
    process_environment,
    running,
    start_bot,
    start_bot_process,
    wait_until,
)
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

DOCKER_STOP_TIMEOUT = 10.0  # docker stop's default: SIGKILL this long after SIGTERM
SLOW_PROVIDER = 12.0  # longer than the default grace (8 s): the batches out at SIGTERM cannot finish
RECIPIENTS = [f"07{i:08d}" for i in range(60)]
BATCH = 10
CONCURRENCY = 2


async def test_sigterm_mid_job_exits_within_docker_stop_timeout_and_resumes_without_duplicates(
    tmp_path: Path,
) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer(latency=SLOW_PROVIDER) as texin:
        environment = process_environment(
            telegram,
            database,
            texin,
            BULK_BATCH_SIZE=str(BATCH),
            BULK_CONCURRENCY=str(CONCURRENCY),
            BULK_PROGRESS_INTERVAL="0.3",
            PROVIDER_TIMEOUT="30",  # the provider's slowness, not our timeout, keeps the batches out
            BALANCE_CHECK_INTERVAL="0",
            DELIVERY_CHECK_INTERVAL="0",
            LOG_LEVEL="INFO",
        )
        assert "SHUTDOWN_GRACE_SECONDS" not in environment  # the default is what is measured
        first = start_bot_process(environment, log)
        try:
            await bulk_sent_by_admin(telegram, "/bulk " + " ".join(RECIPIENTS) + "\nThe meeting moved to 3 pm")
            in_flight = BATCH * CONCURRENCY
            await wait_until(lambda: texin.received.total() >= in_flight, 30, "the first batches to reach Texin")
            stopped_at = time.monotonic()
            first.send_signal(signal.SIGTERM)
            try:
                code = first.wait(timeout=DOCKER_STOP_TIMEOUT + 10)
            except subprocess.TimeoutExpired:
                code = None
            seconds = time.monotonic() - stopped_at
        finally:
            if first.poll() is None:
                first.kill()
        print(f"SIGTERM to exit: {seconds:.2f} s (exit status {code})")
        output = log.read_text(errors="replace")
        assert code is not None and seconds < DOCKER_STOP_TIMEOUT, (
            f"the bot took {seconds:.2f} s to exit after SIGTERM (Docker kills at {DOCKER_STOP_TIMEOUT:.0f} s)\n"
            + output[-3000:]
        )
        assert code == 0, f"exit status {code} after {seconds:.2f} s\n" + output[-3000:]
        assert texin.received.total() == in_flight, "more batches left after SIGTERM than were out at the signal"

        async with await open_database(database) as db:
            [job] = await db.jobs.list_for_chat(ADMIN)
            totals = await db.jobs.totals(job.id)
        assert totals.sending == 0, f"rows left in sending after a clean stop in {seconds:.2f} s: {totals}"
        assert totals.unknown == in_flight and totals.pending == len(RECIPIENTS) - in_flight, totals
        cut = [m for m in telegram.messages(ADMIN) if "had to stop while batches" in m.text]
        assert cut and f"/retry {job.id}" in cut[0].text, "the admins were not told which batches were cut"

        texin.latency = 0.0  # the provider is quick again: the rest goes out after the restart
        mark = telegram.mark()
        second = start_bot_process(environment, log)
        try:
            summary = await telegram.wait_for_message(ADMIN, lambda m: "finished" in m.text, after=mark, timeout=60)
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(timeout=DOCKER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                second.kill()
                raise

        async with await open_database(database) as db:
            rows = await db.messages.list_for_job(job.id, limit=1000)
            totals = await db.jobs.totals(job.id)
        assert len(rows) == len(RECIPIENTS)
        assert totals.pending == 0 and totals.sending == 0, totals
        for row in rows:
            count = texin.received[row.recipient]
            if row.status is MessageStatus.UNKNOWN:
                assert count == 1, f"{row.recipient} (cut at shutdown) received {count} times"
            else:
                assert row.status is MessageStatus.SENT and count == 1, (row, count)
        assert f"Unknown (maybe sent, not resent): {in_flight}" in summary.text, summary.text
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


async def test_folded_alerts_waiting_for_a_hanging_telegram_do_not_hold_the_stop_past_the_grace(
    telegram: FakeTelegram,
    texin: TexinFakeServer,
    sms254: Sms254FakeServer,
    database_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    grace = 2.0
    application, _ = await start_bot(
        telegram, texin, sms254, database_path, shutdown_grace_seconds=grace, alert_fold_window=600
    )
    async with running(application):
        alerts = application.bot_data.services.alerts
        await alerts.raise_alert("disk", "💽 Disk almost full")
        await alerts.raise_alert("disk", "💽 Disk almost full")  # folded: due at shutdown
        telegram.hold("sendMessage", ADMIN)  # Telegram takes the flush and never answers
        caplog.set_level(logging.WARNING)
        stopping = time.monotonic()
    seconds = time.monotonic() - stopping
    print(f"stop with a hanging alert flush: {seconds:.2f} s (grace {grace:.0f} s)")
    assert seconds < grace + 1, f"the stop took {seconds:.2f} s with a {grace:.0f} s grace"
    assert telegram.requests("sendMessage")[-1].params["text"].startswith("🔁"), "the fold was not flushed"
    assert any("folded alerts" in r.getMessage() for r in caplog.records), caplog.text
