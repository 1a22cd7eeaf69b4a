"""What the admins hear without asking: low balance, unreachable providers, folded repeats, delivery tracking,
and ``python -m bot notify`` from scripts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from storage import MessageStatus, Role, open_database
from tests.e2e.harness import ADMIN, SENDER, BotHarness, process_environment, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer


def admin_texts(telegram: FakeTelegram, words: str) -> list[SentMessage]:
    return [m for m in telegram.messages(ADMIN) if words in m.text]


async def eventually(condition: object, timeout: float = 10.0) -> None:
    assert callable(condition)
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_low_balance_alerts_once_when_it_falls_and_once_when_it_recovers_across_a_restart(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    settings_overrides: dict[str, Any] = {"balance_check_interval": 0.2, "low_balance_threshold": Decimal(100)}
    application, _ = await start_bot(telegram, texin, sms254, database_path, **settings_overrides)
    texin.credits = Decimal(1000)
    async with running(application):
        await eventually(lambda: len(texin.requests_to("/api/get_balance")) >= 2)
        texin.credits = Decimal(40)
        await eventually(lambda: len(admin_texts(telegram, "credit is low")) == 1)
        checks = len(texin.requests_to("/api/get_balance"))
        await eventually(lambda: len(texin.requests_to("/api/get_balance")) >= checks + 3)  # stays low
    low = admin_texts(telegram, "credit is low")
    assert len(low) == 1
    assert "Texin credit is low" in low[0].text and "40 units" in low[0].text
    assert "roughly 40 more single-part SMS" in low[0].text and "KES 12.00" in low[0].text

    application, _ = await start_bot(telegram, texin, sms254, database_path, **settings_overrides)
    async with running(application):
        checks = len(texin.requests_to("/api/get_balance"))
        await eventually(lambda: len(texin.requests_to("/api/get_balance")) >= checks + 3)  # still low, restarted
        assert len(admin_texts(telegram, "credit is low")) == 1
        texin.credits = Decimal(5000)
        await eventually(lambda: len(admin_texts(telegram, "credit is back")) == 1)
        checks = len(texin.requests_to("/api/get_balance"))
        await eventually(lambda: len(texin.requests_to("/api/get_balance")) >= checks + 3)
    assert len(admin_texts(telegram, "credit is low")) == 1
    assert len(admin_texts(telegram, "credit is back")) == 1
    assert admin_texts(telegram, "254sms credit") == []  # 254sms stayed above the threshold


async def test_a_flapping_provider_is_reported_unreachable_once(bot: BotHarness) -> None:
    watcher = bot.services.watcher
    for _ in range(3):
        for _ in range(3):  # three failed checks in a row (each check tries three times)
            bot.sms254.fail_next("http500", count=3)
            await watcher.check()
        await watcher.check()  # one good check in between: not enough to call it recovered
    unreachable = admin_texts(bot.telegram, "cannot be reached")
    assert len(unreachable) == 1
    assert "254sms cannot be reached" in unreachable[0].text
    assert admin_texts(bot.telegram, "Texin cannot be reached") == []
    for _ in range(3):
        await watcher.check()
    await eventually(lambda: len(admin_texts(bot.telegram, "254sms is reachable again")) == 1)


async def test_repeats_of_one_alert_are_folded_into_one_message_with_a_count(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, settings = await start_bot(telegram, texin, sms254, database_path, alert_fold_window=0.5)
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        for _ in range(3):
            texin.fail_next("http500")
            await bot.say(ADMIN, "/send 0712345678 hello", predicate=lambda m: "Not sent" in m.text)
        folded = await bot.alert(lambda m: "2 more times" in m.text, timeout=5)
        assert "Texin failed" in folded.text
    assert len(admin_texts(telegram, "Texin failed")) == 2  # the first at once, the fold at the end


async def test_texin_deliveries_are_followed_up_and_the_chat_gets_one_summary(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, settings = await start_bot(
        telegram, texin, sms254, database_path, delivery_check_interval=0.1, delivery_first_check=0.1
    )
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        await bot.services.access.allow(
            by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN
        )
        preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nTracked")
        await bot.press(SENDER, preview, "Send", predicate=lambda m: "finished" in m.text)
        ids = list(texin.messages)
        for message_id in ids:
            texin.set_status(message_id, "pending")
        checks = len(texin.requests_to("/api/check_status"))
        await eventually(lambda: len(texin.requests_to("/api/check_status")) >= checks + 2)
        for message_id in ids:
            texin.set_status(message_id, "sent")
        checks = len(texin.requests_to("/api/check_status"))
        await eventually(lambda: len(texin.requests_to("/api/check_status")) >= checks + 2)
        [job] = await bot.services.db.jobs.list_for_chat(SENDER)
        rows = await bot.services.db.messages.list_for_job(job.id)
        assert {row.status for row in rows} == {MessageStatus.SENT}
        texin.set_status(ids[0], "delivered", delivered_at="2026-11-23 12:00:00")
        texin.set_status(ids[1], "failed", error_message="Absent subscriber")
        summary = await telegram.wait_for_message(SENDER, lambda m: "Deliveries of bulk job" in m.text, timeout=10)
        assert "Delivered: 1" in summary.text and "Failed: 1" in summary.text and "Still pending: 0" in summary.text
        rows = await bot.services.db.messages.list_for_job(job.id)
        assert sorted(row.status.value for row in rows) == ["delivered", "failed"]
        assert any(row.error == "Absent subscriber" for row in rows)
        checks = len(texin.requests_to("/api/check_status"))
        await asyncio.sleep(0.5)
        assert len(texin.requests_to("/api/check_status")) == checks  # settled rows are not asked again
    assert len([m for m in telegram.messages(SENDER) if "Deliveries of bulk job" in m.text]) == 1


def notify(
    telegram: FakeTelegram, texin: TexinFakeServer, database: Path, text: str
) -> subprocess.CompletedProcess[str]:
    environment = process_environment(telegram, database, texin, ADMIN_CHAT_IDS=f"{ADMIN},1002")
    return subprocess.run(
        [sys.executable, "-m", "bot", "notify", text],
        cwd=database.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_notify_command_reaches_every_admin_chat(
    telegram: FakeTelegram, texin: TexinFakeServer, tmp_path: Path
) -> None:
    database = tmp_path / "smsrelay.db"
    async with await open_database(database) as db:
        await db.chats.seed_admins([ADMIN])
        await db.chats.grant(1003, Role.ADMIN, added_by=ADMIN)  # granted in the bot, not in ADMIN_CHAT_IDS
        await db.chats.grant(2002, Role.SENDER, added_by=ADMIN)
    result = await asyncio.to_thread(notify, telegram, texin, database, "Disk <almost> full & db1 slow")
    assert result.returncode == 0, result.stderr
    for chat_id in (ADMIN, 1002, 1003):
        message = telegram.last_message(chat_id)
        assert message.text == "📣 Disk <almost> full & db1 slow"
    assert telegram.messages(2002) == []
    assert telegram.token not in result.stdout + result.stderr


async def test_notify_exits_non_zero_when_no_admin_is_reached(
    telegram: FakeTelegram, texin: TexinFakeServer, tmp_path: Path
) -> None:
    telegram.block_chat(ADMIN)
    telegram.block_chat(1002)
    result = await asyncio.to_thread(notify, telegram, texin, tmp_path / "smsrelay.db", "anyone?")
    assert result.returncode == 1
    assert "delivered to 0 admin chat(s)" in result.stdout
