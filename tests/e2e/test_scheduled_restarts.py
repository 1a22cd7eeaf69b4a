"""Scheduled sends across real process restarts (``python -m bot``): exactly once through a SIGKILL at the moment
of sending, and a schedule that came due while the bot was down goes out at start-up within the grace, or is
marked missed (its chat told when it was due) beyond it."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.localtime import show_local
from storage import MessageStatus, ScheduleState, open_database
from tests.e2e.harness import ADMIN, process_environment, start_bot_process, stop_bot_process, wait_until
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

NUMBER = "254712345678"
OTHER = "254722000000"


def bot_environment(telegram: FakeTelegram, texin: TexinFakeServer, database: Path) -> dict[str, str]:
    return process_environment(
        telegram,
        database,
        texin,
        PROVIDER_TIMEOUT="20",
        BALANCE_CHECK_INTERVAL="0",
        DELIVERY_CHECK_INTERVAL="0",
        LOG_LEVEL="INFO",
    )


async def test_a_schedule_killed_while_sending_goes_out_exactly_once(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer(latency=4.0) as texin:
        environment = bot_environment(telegram, texin, database)
        first = start_bot_process(environment, log)
        try:
            await telegram.wait_for_request("setMyCommands", timeout=30)
            telegram.send_text(ADMIN, "/send in:1s 0712345678 Night shift starts")
            await telegram.wait_for_message(ADMIN, lambda m: "Scheduled #1" in m.text, timeout=30)
            # Claimed, handed to the send path, and with Texin (which answers slowly): kill now.
            await wait_until(lambda: texin.received.total() >= 1, 30, "Texin to receive the scheduled SMS")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()

        mark = telegram.mark()
        second = start_bot_process(environment, log)
        try:
            await telegram.wait_for_message(
                ADMIN, lambda m: "being sent when the bot stopped" in m.text, after=mark, timeout=30
            )
            # Start-up settles the claimed schedule by its request key, which the send path stored with its row.
            await wait_until(
                lambda: "schedules interrupted by a restart: [1] had fired, [] fire again" in log.read_text(),
                30,
                "start-up to settle schedule #1",
            )
            # SIGTERM only once it polls (the log is shared: the first process said it too), so the stop is not one
            # in the middle of start-up.
            await wait_until(
                lambda: log.read_text().count("Application started") == 2, 30, "the second bot to finish starting"
            )
        finally:
            stop_bot_process(second)

    assert texin.received[NUMBER] == 1
    async with await open_database(database) as db:
        schedule = await db.schedules.get(1)
        [row] = await db.messages.list_for_chat(ADMIN)
    assert schedule is not None and schedule.state is ScheduleState.DONE
    assert row.status is MessageStatus.UNKNOWN
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]


def _move_due(database: Path, schedule_id: int, due: datetime) -> None:
    """The bot was down meanwhile: the schedule's time came and went (stored times are ISO text in UTC)."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        conn.execute(
            "UPDATE schedules SET due_at = ? WHERE id = ?",
            (due.astimezone(UTC).isoformat(timespec="microseconds"), schedule_id),
        )
        conn.commit()


async def test_schedules_due_while_down_go_out_within_the_grace_and_are_missed_beyond(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = bot_environment(telegram, texin, database)
        first = start_bot_process(environment, log)
        try:
            await telegram.wait_for_request("setMyCommands", timeout=30)
            telegram.send_text(ADMIN, "/send in:1h 0712345678 Late but fine")
            await telegram.wait_for_message(ADMIN, lambda m: "Scheduled #1" in m.text, timeout=30)
            telegram.send_text(ADMIN, "/send in:1h 0722000000 Far too late")
            await telegram.wait_for_message(ADMIN, lambda m: "Scheduled #2" in m.text, timeout=30)
        finally:
            stop_bot_process(first)

        now = datetime.now(UTC)
        _move_due(database, 1, now - timedelta(minutes=10))  # late by less than SCHEDULE_GRACE_SECONDS (1 h)
        _move_due(database, 2, now - timedelta(hours=3))  # late by more
        mark = telegram.mark()
        second = start_bot_process(environment, log)
        try:
            sent = await telegram.wait_for_message(
                ADMIN, lambda m: "Scheduled send #1" in m.text, after=mark, timeout=30
            )
            missed = await telegram.wait_for_message(
                ADMIN, lambda m: "Scheduled send #2 was missed" in m.text, after=mark, timeout=30
            )
        finally:
            stop_bot_process(second)

    assert "Sent to +254 712 345 678" in sent.text
    # Said in BOT_TIMEZONE (default Africa/Nairobi), to the minute.
    assert f"it was due {show_local(now - timedelta(hours=3), ZoneInfo('Africa/Nairobi'))}" in missed.text
    assert "Nothing was sent to +254 722 000 000" in missed.text
    assert texin.received[NUMBER] == 1 and texin.received[OTHER] == 0
    async with await open_database(database) as db:
        first_state = await db.schedules.get(1)
        second_state = await db.schedules.get(2)
    assert first_state is not None and first_state.state is ScheduleState.DONE
    assert second_state is not None and second_state.state is ScheduleState.MISSED
