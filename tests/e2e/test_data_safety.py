"""Scheduled backups and RETENTION_DAYS inside the running bot (in-process, over the fake Bot API)."""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from bot.runtime import utc_now
from storage.backup import backup_name, list_backups
from tests.e2e.harness import ADMIN, BotHarness, running, start_bot, wait_until
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer


def _messages_in(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM messages").fetchone()[0])


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


async def test_a_backup_is_made_at_start_up_when_none_is_recent(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    application, settings = await start_bot(telegram, texin, sms254, database_path, backup_dir=folder)
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        assert "Sent" in (await bot.say(ADMIN, "/send 0712345678 before the backup")).text
        await wait_until(lambda: list_backups(folder), 20, "the start-up backup")
        [backup] = list_backups(folder)
        [job] = application.job_queue.get_jobs_by_name("backup")  # type: ignore[union-attr]
        next_run = job.next_t
    assert next_run is not None and next_run - utc_now() > timedelta(hours=23)  # then every BACKUP_INTERVAL_HOURS
    assert _messages_in(backup) in {0, 1}  # a sound SQLite file of our schema, whichever side of the send


async def test_a_recent_backup_postpones_the_first_one(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    _touch(folder / backup_name(utc_now() - timedelta(hours=2)))
    application, _ = await start_bot(telegram, texin, sms254, database_path, backup_dir=folder, backup_keep=3)
    async with running(application):
        [job] = application.job_queue.get_jobs_by_name("backup")  # type: ignore[union-attr]
        assert job.next_t is not None
        due_in = job.next_t - utc_now()
    assert timedelta(hours=21) < due_in <= timedelta(hours=22)


async def test_a_failing_backup_alerts_the_admins_and_the_bot_carries_on(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "backups"
    not_a_folder.write_text("a file where the folder should be")
    application, settings = await start_bot(telegram, texin, sms254, database_path, backup_dir=not_a_folder)
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        alert = await bot.alert(lambda m: "Backup failed" in m.text, timeout=20)
        assert str(not_a_folder) in alert.text
        assert "Sent" in (await bot.say(ADMIN, "/send 0712345678 still working")).text


async def test_pruned_texts_show_a_placeholder_in_status_history_and_export(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    def forty_days_ago() -> datetime:
        return utc_now() - timedelta(days=40)

    application, settings = await start_bot(
        telegram, texin, sms254, database_path, clock=forty_days_ago, retention_days=30
    )
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        assert "Sent" in (await bot.say(ADMIN, "/send 0712345678 Your PIN is 4471")).text
        [message] = await bot.services.db.messages.list_for_chat(ADMIN, limit=1)
        [job] = application.job_queue.get_jobs_by_name("retention")  # type: ignore[union-attr]

        await job.run(application)  # the daily sweep, now

        status = await bot.say(ADMIN, f"/status {message.id}")
        history = await bot.say(ADMIN, "/history")
        export = await bot.say(ADMIN, "/export")
    for text in (status.text, history.text):
        assert "4471" not in text and "(removed after 30 days)" in text
    assert export.document is not None
    [row] = list(csv.DictReader(io.StringIO(export.document.content.decode("utf-8-sig"))))
    assert row["body"] == "(removed after 30 days)"
    assert row["recipient"] == message.recipient and row["status"] == message.status.value
