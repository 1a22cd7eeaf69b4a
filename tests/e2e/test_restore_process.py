"""``python -m bot restore`` never makes the next start send again what may have gone out after the backup.

Real processes throughout: a backup is taken while a bulk job is being sent, the job then finishes, the bot is
stopped, the backup is restored, and the bot is started again. The backup shows rows still pending; all of them
went out after it was taken, so the provider must not see a second request for any recipient.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tests.e2e.harness import ADMIN, bulk_sent_by_admin, start_bot_process, stop_bot_process, wait_until
from tests.e2e.test_backup_process import RECIPIENTS, bot_environment, run_cli
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer


def _statuses(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        return {str(r[0]): int(r[1]) for r in conn.execute("SELECT status, count(*) FROM messages GROUP BY 1")}


def _unfinished_in(backup: Path) -> set[str]:
    with contextlib.closing(sqlite3.connect(f"{backup.as_uri()}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT recipient FROM messages WHERE status IN ('pending', 'sending')")
        return {str(r[0]) for r in rows}


def _after_start(database: Path) -> tuple[str, dict[str, tuple[str, str | None]]]:
    with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as conn:
        state = str(conn.execute("SELECT state FROM bulk_jobs WHERE id = 1").fetchone()[0])
        rows = {str(r[0]): (str(r[1]), r[2]) for r in conn.execute("SELECT recipient, status, error FROM messages")}
        marker = conn.execute("SELECT count(*) FROM alert_state WHERE key = 'restored-from-backup'").fetchone()[0]
    assert marker == 0, "the restore marker must be gone once settled"
    return state, rows


async def test_restored_backup_taken_mid_job_resends_nothing_and_marks_the_rest_unknown(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    backups = tmp_path / "backups"
    backups.mkdir()
    with FakeTelegram() as telegram, TexinFakeServer(latency=0.15) as texin:
        environment = bot_environment(telegram, texin, database)
        first = start_bot_process(environment, log)
        try:
            mark = telegram.mark()
            await bulk_sent_by_admin(telegram, "/bulk " + " ".join(RECIPIENTS) + "\nWater off on Tuesday")
            await wait_until(lambda: texin.received.total() >= 30, 30, "the job to be under way")
            status, output = await run_cli(environment, "backup", str(backups))
            assert status == 0, output
            assert texin.received.total() < len(RECIPIENTS), "the job finished before the backup: it proves nothing"
            # The job goes on after the backup and finishes: every recipient got the SMS once.
            await telegram.wait_for_message(ADMIN, lambda m: "Bulk job #1 finished" in m.text, after=mark, timeout=60)
        finally:
            stop_bot_process(first)
        sent_before_restore = texin.received
        assert sorted(sent_before_restore.values()) == [1] * len(RECIPIENTS)
        [backup] = list(backups.iterdir())
        unfinished = _unfinished_in(backup)
        assert unfinished, "the backup holds no unfinished rows: it proves nothing"

        restored, said = await run_cli(environment, "restore", str(backup))
        assert restored == 0, said
        assert "marked unknown (never sent again)" in said

        mark = telegram.mark()
        second = start_bot_process(environment, log)
        try:
            # The restored job is closed with the usual summary (and, without the fix, resent first).
            summary = await telegram.wait_for_message(
                ADMIN, lambda m: "Bulk job #1 finished" in m.text, after=mark, timeout=30
            )
        finally:
            stop_bot_process(second)

    assert texin.received == sent_before_restore  # not one second request, for any recipient
    # Sent before the job was touched, so already there when the summary came.
    [alert] = [m for m in telegram.messages(ADMIN) if "The database was restored from a backup" in m.text]
    state, rows = _after_start(database)
    assert state == "done"
    for recipient in unfinished:
        row_status, error = rows[recipient]
        assert row_status == "unknown", (recipient, row_status)
        assert error is not None and "restored from a backup taken" in error and "may have gone out" in error
    assert _statuses(database).get("unknown", 0) == len(unfinished)
    assert f"Job #1: {len(unfinished):,} messages marked unknown" in alert.text
    assert "/retry 1" in alert.text and backup.name in alert.text
    assert f"Unknown (maybe sent, not resent): {len(unfinished):,}" in summary.text
    assert "Traceback" not in log.read_text(errors="replace")
