"""Schedules after a restore: one that came due before the restore may have fired after the backup was taken, so it
is marked missed (its chat told why) and never fires again; one due after the restore cannot have fired and goes
out once at its time. The bot's clock is moved by hand; the bot is stopped and started around the restore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import Role, ScheduleState, open_database
from storage.backup import backup_database, restore_database
from tests.e2e.harness import ADMIN, SENDER, BotHarness, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

NUMBER = "254712345678"
OTHER = "254722000000"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_restore_misses_schedules_due_before_it_and_fires_later_ones_once(
    telegram: FakeTelegram,
    texin: TexinFakeServer,
    sms254: Sms254FakeServer,
    database_path: Path,
    tmp_path: Path,
) -> None:
    clock = Clock()
    start = clock.now

    async def bot_run() -> BotHarness:
        application, settings = await start_bot(
            telegram,
            texin,
            sms254,
            database_path,
            clock=clock,
            stale_command_seconds=10**7,
            schedule_grace_seconds=6 * 3600,  # a late round would fire #1 again, not miss it for lateness
        )
        return BotHarness(telegram, texin, sms254, application, settings)

    first = await bot_run()
    async with running(first.application):
        await first.services.access.allow(
            by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN
        )
        await first.say(SENDER, "/send in:1h 0712345678 Night shift starts", predicate=lambda m: "#1" in m.text)
        await first.say(SENDER, "/send in:3h 0722000000 Day shift starts", predicate=lambda m: "#2" in m.text)
    backup = tmp_path / "backup.db"
    backup_database(database_path, backup)  # both schedules pending in it

    # After the backup: schedule #1 fires.
    clock.now = start + timedelta(hours=1, minutes=1)
    second = await bot_run()
    async with running(second.application):
        await telegram.wait_for_message(SENDER, lambda m: "Scheduled send #1" in m.text, timeout=15)
    assert texin.received[NUMBER] == 1

    # Without the marker, #1 would be pending again and, well within the grace, fire a second time.
    clock.now = start + timedelta(hours=1, minutes=30)
    restore_database(backup, database_path, moment=clock.now)
    mark = telegram.mark()
    third = await bot_run()
    async with running(third.application):
        clock.now = start + timedelta(hours=3, minutes=1)
        fired = await telegram.wait_for_message(SENDER, lambda m: "Scheduled send #2" in m.text, after=mark, timeout=15)

    assert texin.received[NUMBER] == 1 and texin.received[OTHER] == 1  # #1 not again, #2 once
    [told] = [m for m in telegram.messages(SENDER) if "Scheduled send #1" in m.text and "missed" in m.text]
    [alert] = [m for m in telegram.messages(ADMIN) if "The database was restored from a backup" in m.text]
    assert "is marked missed" in told.text and "restored from a backup" in told.text
    assert "may or may not have gone out" in told.text
    assert "1 scheduled send due before the restore marked missed: #1" in alert.text
    assert "✅ Sent to +254 722 000 000" in fired.text
    async with await open_database(database_path) as db:
        missed = await db.schedules.get(1)
        done = await db.schedules.get(2)
        marker = await db.restores.get()
    assert missed is not None and missed.state is ScheduleState.MISSED
    assert missed.outcome is not None and "restored from a backup taken" in missed.outcome
    assert done is not None and done.state is ScheduleState.DONE
    assert marker is None
