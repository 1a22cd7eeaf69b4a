"""A bulk job survives SIGKILL: restarted, the bot resumes by itself and nobody gets the SMS twice.

The bot runs as a real process (``python -m bot``) against the fake Bot API and the fake Texin living in this
test. It is killed while batches are in flight; the fake counts every recipient it accepted. After the restart,
every recipient has been sent exactly once, except those reported as ``unknown`` (in flight at the kill), which
are sent at most once and never resent automatically.
"""

from __future__ import annotations

import signal
from pathlib import Path

from storage import MessageStatus, open_database
from tests.e2e.harness import (
    ADMIN,
    bulk_process_environment,
    bulk_sent_by_admin,
    start_bot_process,
    stop_bot_process,
    wait_until,
)
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

RECIPIENTS = [f"07{i:08d}" for i in range(400)]


def bot_environment(telegram: FakeTelegram, texin: TexinFakeServer, database: Path) -> dict[str, str]:
    return bulk_process_environment(
        telegram, database, texin, batch=10, concurrency=3, progress=0.3, provider_timeout=5
    )


async def test_bulk_resumes_after_kill_without_duplicates(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer(latency=0.08) as texin:
        environment = bot_environment(telegram, texin, database)
        first = start_bot_process(environment, log)
        try:
            await bulk_sent_by_admin(telegram, "/bulk " + " ".join(RECIPIENTS) + "\nPower is back")
            await wait_until(lambda: texin.received.total() >= 100, 30, "a third of the job to go out")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        received_before_restart = texin.received.total()
        assert received_before_restart < len(RECIPIENTS), "the job finished before the kill: nothing to resume"

        mark = telegram.mark()
        second = start_bot_process(environment, log)
        try:
            summary = await telegram.wait_for_message(ADMIN, lambda m: "finished" in m.text, after=mark, timeout=60)
            resumed = [m for m in telegram.messages(ADMIN) if m.seq > mark and "Resuming bulk job" in m.html]
            assert resumed, "the chat was not told that its job resumed"
        finally:
            stop_bot_process(second)

        async with await open_database(database) as db:
            [job] = await db.jobs.list_for_chat(ADMIN)
            rows = [row for page in [await db.messages.list_for_job(job.id, limit=1000)] for row in page]
            totals = await db.jobs.totals(job.id)
        unknown = {row.recipient for row in rows if row.status is MessageStatus.UNKNOWN}
        assert len(rows) == len(RECIPIENTS)
        assert totals.pending == 0 and totals.sending == 0
        for row in rows:
            count = texin.received[row.recipient]
            if row.recipient in unknown:
                assert count <= 1, f"{row.recipient} (unknown) received {count} times"
            else:
                assert row.status is MessageStatus.SENT, row
                assert count == 1, f"{row.recipient} received {count} times"
        assert f"Sent: {totals.accepted:,}" in summary.text
        if unknown:
            report = [m for m in telegram.messages(ADMIN) if "being sent when the bot stopped" in m.text]
            assert report, "the admins were not given the unknown rows"
            assert f"/retry {job.id}" in report[0].text
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]
