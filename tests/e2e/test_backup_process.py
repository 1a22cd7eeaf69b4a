"""``python -m bot backup`` and ``restore`` against a real running bot process (``python -m bot``).

A backup is taken while a bulk job is being sent through a slow fake provider: it must be a sound SQLite file
holding the job. A restore must be refused while the bot is active on the database (``notify`` and ``backup`` work
beside it), and allowed once the bot is gone, even when it was SIGKILLed and could not clean anything up.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.cli import POSTGRES_BACKUPS
from tests.e2e.harness import (
    ADMIN,
    bulk_process_environment,
    bulk_sent_by_admin,
    command_environment,
    start_bot_process,
    stop_bot_process,
    wait_until,
)
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

RECIPIENTS = [f"07{i:08d}" for i in range(300)]


def bot_environment(telegram: FakeTelegram, texin: TexinFakeServer | None, database: Path) -> dict[str, str]:
    return bulk_process_environment(
        telegram, database, texin, batch=10, concurrency=1, progress=0.5, provider_timeout=5
    )


async def run_cli(environment: dict[str, str], *args: str) -> tuple[int, str]:
    """``python -m bot <args>`` in its own process; returns the exit status and stdout+stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=environment,
        cwd=environment["HOME"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def _read(path: Path) -> tuple[str, list[tuple[int, str, str]], dict[str, int]]:
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        jobs = [(int(r[0]), str(r[1]), str(r[2])) for r in conn.execute("SELECT id, body, state FROM bulk_jobs")]
        statuses = {str(r[0]): int(r[1]) for r in conn.execute("SELECT status, count(*) FROM messages GROUP BY 1")}
    return integrity, jobs, statuses


def _set_aside(folder: Path) -> list[Path]:
    return list(folder.glob("smsrelay.db.before-restore-*"))


async def test_backup_taken_during_a_running_bulk_job_is_sound_and_holds_the_job(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    backups = tmp_path / "backups"
    backups.mkdir()
    with FakeTelegram() as telegram, TexinFakeServer(latency=0.15) as texin:
        environment = bot_environment(telegram, texin, database)
        process = start_bot_process(environment, log)
        try:
            await bulk_sent_by_admin(telegram, "/bulk " + " ".join(RECIPIENTS) + "\nWater off on Tuesday")
            await wait_until(lambda: texin.received.total() >= 30, 30, "the job to be under way")

            status, output = await run_cli(environment, "backup", str(backups))

            still_sending = texin.received.total() < len(RECIPIENTS)
        finally:
            stop_bot_process(process)
    assert status == 0, output
    assert still_sending, "the job finished before the backup: it proves nothing"
    [backup] = list(backups.iterdir())
    assert f"backup: {backup}" in output and "integrity: ok" in output
    assert f"size: {backup.stat().st_size:,} bytes" in output
    integrity, jobs, statuses = _read(backup)
    assert integrity == "ok"
    [(_, body, state)] = jobs
    assert body == "Water off on Tuesday" and state == "running"
    assert sum(statuses.values()) == len(RECIPIENTS)
    assert statuses.get("pending", 0) > 0 and statuses.get("sent", 0) > 0  # a snapshot from the middle
    assert "Traceback" not in log.read_text(errors="replace")


async def test_restore_is_refused_while_the_bot_runs_and_allowed_after_it_was_killed_and_commands_work_beside_it(
    tmp_path: Path,
) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = bot_environment(telegram, texin, database)
        process = start_bot_process(environment, log)
        try:
            await telegram.wait_for_request("setMyCommands", timeout=30)
            status, output = await run_cli(environment, "backup", str(tmp_path / "taken.db"))
            assert status == 0, output
            mark = telegram.mark()
            telegram.send_text(ADMIN, "/send 0712345678 after the backup")
            await telegram.wait_for_message(ADMIN, lambda m: "Sent" in m.text, after=mark, timeout=30)

            refused, said = await run_cli(environment, "restore", str(tmp_path / "taken.db"))
            mark = telegram.mark()
            notified, reached = await run_cli(environment, "notify", "disk almost full on db1")
            await telegram.wait_for_message(ADMIN, lambda m: "disk almost full on db1" in m.text, after=mark)

            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        allowed, done = await run_cli(environment, "restore", str(tmp_path / "taken.db"))

    assert refused == 5, said
    assert "restore refused: the bot is running" in said and "Stop the bot first" in said
    assert notified == 0 and "delivered to 1 admin chat(s)" in reached, reached  # beside the active bot
    assert allowed == 0, done
    [kept] = _set_aside(tmp_path)
    assert str(kept) in done
    assert _read(kept)[2] == {"sent": 1}  # the replaced database, with the send made after the backup
    assert _read(database)[2] == {}  # the backup's state: no message yet


@pytest.mark.parametrize(("command", "argument"), [("backup", "backups"), ("restore", "taken.db")])
async def test_backup_and_restore_with_database_url_set_point_to_pg_dump_without_the_password(
    tmp_path: Path, command: str, argument: str
) -> None:
    database = tmp_path / "smsrelay.db"
    password = "Qx7-never-printed"
    # Nothing listens on port 1: the command may not try PostgreSQL, only say how its backups are made.
    environment = command_environment(database, DATABASE_URL=f"postgresql://smsrelay:{password}@127.0.0.1:1/smsrelay")
    (tmp_path / "taken.db").write_bytes(b"")

    status, said = await run_cli(environment, command, str(tmp_path / argument))

    assert status == 2, said
    assert said.strip() == POSTGRES_BACKUPS, said  # one line
    assert "pg_dump --format=custom" in said and "pg_restore" in said
    assert password not in said
    assert not (tmp_path / "backups").exists() and not database.exists()  # nothing written or replaced
