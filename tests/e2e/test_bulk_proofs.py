"""The money path's promises, each proved on a real ``python -m bot`` process (``docs/bulk.md``).

SIGKILL while batches are out, Cancel while batches are out, a number blocked mid-job, and a backup of the old
format restored while its job was still storing recipients: each recipient gets the SMS at most once, what may
have left is ``unknown`` and never resent by itself, and ``/retry`` afterwards sends exactly the failed and
unknown rows once more.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from storage import MessageStatus, NewBulkJob, open_database
from storage.migrations import load_migrations
from tests.e2e.harness import (
    ADMIN,
    bulk_process_environment,
    bulk_sent_by_admin,
    button_data,
    start_bot_process,
    stop_bot_process,
    wait_until,
)
from tests.e2e.test_backup_process import run_cli
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer
from tests.storage.factories import old_schema_job

BATCH = 10
CONCURRENCY = 2
ROUND = BATCH * CONCURRENCY  # the recipients of one request per slot


def numbers(count: int) -> list[str]:
    return [f"07{i:08d}" for i in range(count)]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """The proofs hold on both databases: a SQLite file, or a fresh PostgreSQL database (``DATABASE_URL``)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return tmp_path / "smsrelay.db"


def environment_for(telegram: FakeTelegram, texin: TexinFakeServer, database: str | Path) -> dict[str, str]:
    if isinstance(database, str):
        return bulk_process_environment(
            telegram, Path("unused.db"), texin, batch=BATCH, concurrency=CONCURRENCY, progress=0.3,
            provider_timeout=10, DATABASE_URL=database,
        )  # fmt: skip
    return bulk_process_environment(
        telegram, database, texin, batch=BATCH, concurrency=CONCURRENCY, progress=0.3, provider_timeout=10
    )


def finished(job_id: int) -> Callable[[SentMessage], bool]:
    """The job's summary (finished, or cancelled)."""
    return lambda m: f"Bulk job #{job_id} finished" in m.text or f"Bulk job #{job_id} cancelled" in m.text


async def statuses(database: str | Path, job_id: int) -> dict[str, MessageStatus]:
    async with await open_database(database) as db:
        return {row.recipient: row.status for row in await db.messages.list_for_job(job_id, limit=100_000)}


async def retried(telegram: FakeTelegram, job_id: int) -> SentMessage:
    """The admin asks ``/retry`` and presses Send again; returns the retry's summary."""
    mark = telegram.mark()
    telegram.send_text(ADMIN, f"/retry {job_id}")
    preview = await telegram.wait_for_message(ADMIN, lambda m: "Retry bulk job" in m.text, after=mark, timeout=30)
    telegram.press_button(ADMIN, preview.message_id, button_data(preview, "Send again"))
    return await telegram.wait_for_message(ADMIN, finished(job_id), after=preview.seq, timeout=60)


def kenyan(number: str) -> str:
    return "254" + number[1:]


async def test_sigkill_while_batches_are_out_leaves_them_unknown_and_sends_the_rest_once(
    tmp_path: Path, database: str | Path
) -> None:
    log = tmp_path / "bot.log"
    recipients = numbers(200)
    with FakeTelegram() as telegram, TexinFakeServer(latency=2.0) as texin:
        environment = environment_for(telegram, texin, database)
        first = start_bot_process(environment, log)
        try:
            await bulk_sent_by_admin(telegram, "/bulk " + " ".join(recipients) + "\nWater off tomorrow")
            # Both slots' first requests are held at the provider (2 s each): kill while they are out.
            await wait_until(lambda: texin.received.total() >= ROUND, 30, "the first round to reach Texin")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        in_flight = set(texin.received)
        assert len(in_flight) == ROUND, "more than one round reached the provider before the kill"
        at_kill = await statuses(database, 1)
        assert Counter(at_kill.values()) == {MessageStatus.SENDING: ROUND, MessageStatus.PENDING: 200 - ROUND}

        texin.latency = 0.02
        mark = telegram.mark()
        second = start_bot_process(environment, log)
        try:
            summary = await telegram.wait_for_message(ADMIN, finished(1), after=mark, timeout=60)
            report = [m for m in telegram.messages(ADMIN) if "being sent when the bot stopped" in m.text]
            after = await statuses(database, 1)
            assert all(texin.received[kenyan(n)] == 1 for n in recipients), "a recipient got the SMS twice"
            assert {n for n, s in after.items() if s is MessageStatus.UNKNOWN} == in_flight
            assert Counter(after.values()) == {MessageStatus.SENT: 200 - ROUND, MessageStatus.UNKNOWN: ROUND}
            assert f"Sent: {200 - ROUND:,}" in summary.text and report and "/retry 1" in report[0].text

            retry = await retried(telegram, 1)  # the admin decides the unknown ones go again: exactly once more
        finally:
            stop_bot_process(second)
    assert "Sent: 200" in retry.text
    assert {n: texin.received[n] for n in in_flight} == dict.fromkeys(in_flight, 2)
    assert texin.received.total() == 200 + ROUND
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")[-3000:]


async def test_cancel_while_batches_are_out_sends_nothing_more_even_after_a_restart(
    tmp_path: Path, database: str | Path
) -> None:
    log = tmp_path / "bot.log"
    recipients = numbers(200)
    with FakeTelegram() as telegram, TexinFakeServer(latency=1.0) as texin:
        environment = environment_for(telegram, texin, database)
        first = start_bot_process(environment, log)
        try:
            preview = await bulk_sent_by_admin(telegram, "/bulk " + " ".join(recipients) + "\nWater off tomorrow")
            await wait_until(lambda: texin.received.total() >= ROUND, 30, "the first round to reach Texin")
            progress = await telegram.wait_for_message(ADMIN, lambda m: "Cancel the rest" in str(m.reply_markup))
            telegram.press_button(ADMIN, progress.message_id, button_data(progress, "Cancel the rest"))
            summary = await telegram.wait_for_message(ADMIN, finished(1), after=preview.seq, timeout=30)
        finally:
            stop_bot_process(first)
        sent = texin.received.total()
        assert sent < len(recipients) and "cancelled" in summary.text

        second = start_bot_process(environment, log)  # nothing of the job may resume
        try:
            mark = telegram.mark()
            telegram.send_text(ADMIN, "/retry 1")
            refused = await telegram.wait_for_message(ADMIN, lambda m: "/retry" in m.text, after=mark, timeout=30)
        finally:
            stop_bot_process(second)
    after = await statuses(database, 1)
    assert "no failed or unknown recipients" in refused.text
    assert texin.received.total() == sent and all(count == 1 for count in texin.received.values())
    assert Counter(after.values()) == {MessageStatus.SENT: sent, MessageStatus.CANCELLED: len(recipients) - sent}


async def test_a_number_blocked_mid_job_is_skipped_and_retry_leaves_it_out(
    tmp_path: Path, database: str | Path
) -> None:
    log = tmp_path / "bot.log"
    recipients = numbers(60)
    blocked, failing = recipients[-1], recipients[-2]
    with FakeTelegram() as telegram, TexinFakeServer(latency=0.5, failing_numbers={kenyan(failing)}) as texin:
        environment = environment_for(telegram, texin, database)
        process = start_bot_process(environment, log)
        try:
            preview = await bulk_sent_by_admin(telegram, "/bulk " + " ".join(recipients) + "\nWater off tomorrow")
            await wait_until(lambda: texin.received.total() >= ROUND, 30, "the first round to reach Texin")
            mark = telegram.mark()
            telegram.send_text(ADMIN, f"/block {blocked} STOP")
            await telegram.wait_for_message(ADMIN, lambda m: "Blocked" in m.text, after=mark, timeout=30)
            await telegram.wait_for_message(ADMIN, finished(1), after=preview.seq, timeout=60)
            texin.failing_numbers = set()
            retry = await retried(telegram, 1)
        finally:
            stop_bot_process(process)
    after = await statuses(database, 1)
    assert after[kenyan(blocked)] is MessageStatus.CANCELLED and texin.received[kenyan(blocked)] == 0
    assert after[kenyan(failing)] is MessageStatus.SENT  # refused by the gateway once, then sent by the retry
    assert texin.received[kenyan(failing)] == 1
    assert "Sent: 59" in retry.text
    assert all(texin.received[kenyan(n)] == 1 for n in recipients[:-2])


async def test_a_restored_backup_of_a_job_still_storing_its_recipients_sends_none_of_them_again(
    tmp_path: Path,
) -> None:
    """The bug this version fixes: a backup taken (by the previous version) while a large job was storing its
    recipients holds some as rows and the rest compactly; the restore settled only the rows, and the next start
    texted the rest again. Now the upgrade turns the rest into rows in flight, and the restore marks them all
    unknown: nothing is sent, and the admins' count includes them."""
    database, log = tmp_path / "smsrelay.db", tmp_path / "bot.log"
    backup = await previous_version_backup_storing_a_job(tmp_path)
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = environment_for(telegram, texin, database)
        status, said = await run_cli(environment, "restore", str(backup))
        assert status == 0, said
        process = start_bot_process(environment, log)
        try:
            alert = await telegram.wait_for_message(ADMIN, lambda m: "restored from a backup" in m.text, timeout=30)
            await telegram.wait_for_message(ADMIN, finished(1), timeout=30)
            after = await statuses(database, 1)
            assert texin.received.total() == 0
            assert Counter(after.values()) == {MessageStatus.SENT: 10, MessageStatus.UNKNOWN: 290}
            assert "Job #1: 290 messages marked unknown" in alert.text

            retry = await retried(telegram, 1)  # the admins know they never went out: each goes once
        finally:
            stop_bot_process(process)
    assert "Sent: 300" in retry.text
    assert texin.received == Counter({kenyan(n): 1 for n in numbers(300)[10:]})


async def previous_version_backup_storing_a_job(folder: Path) -> Path:
    """A database of schema 0013 as a backup caught it: job #1 of 300, 10 rows sent, 30 pending, 260 unstored."""
    old_migrations = folder / "migrations-0013"
    old_migrations.mkdir()
    for migration in load_migrations()[:13]:
        (old_migrations / migration.name).write_text(migration.sql, encoding="utf-8")
    path = folder / "backup-0013.db"
    everyone = [kenyan(n) for n in numbers(300)]
    async with await open_database(path, migrations_dir=old_migrations):
        pass
    job_id = old_schema_job(
        path,
        NewBulkJob(chat_id=ADMIN, user_id=ADMIN, body="Water off", encoding="GSM-7", segments=1, provider="texin",
                   sender_id="Texin"),
        everyone[:40],
    )  # fmt: skip
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE bulk_jobs SET state = 'running', total_recipients = 300 WHERE id = ?", (job_id,))
        conn.execute("UPDATE messages SET status = 'sent', provider_message_id = 'API-' || id WHERE id <= 10")
        conn.execute(
            "INSERT INTO bulk_job_unstored (job_id, next_index, items, units) VALUES (?, 0, ?, 260)",
            (job_id, json.dumps(everyone[40:])),
        )
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE").fetchone()  # one self-contained file, like a backup
    return path
