"""Edges where a bot usually loses track: cancel then crash, retries racing, restarts with changed settings,
Telegram refusing an edit, start-up errors, alerts pending at shutdown."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

from storage import JobState, MessageOutcome, MessageStatus, NewBulkJob, Role, open_database
from tests.e2e.harness import ADMIN, SENDER, BotHarness, button_data, process_environment, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer


def numbers(count: int) -> list[str]:
    return [f"07{i:08d}" for i in range(count)]


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text or "cancelled" in message.text


async def test_cancel_is_stored_before_the_running_batches_come_back(
    telegram: FakeTelegram, sms254: Sms254FakeServer, database_path: Path
) -> None:
    with TexinFakeServer(latency=0.5) as slow:
        application, settings = await start_bot(
            telegram, slow, sms254, database_path, batch_size=10, bulk_concurrency=1
        )
        async with running(application):
            bot = BotHarness(telegram, slow, sms254, application, settings)
            preview = await bot.say(ADMIN, "/bulk " + " ".join(numbers(100)) + "\nHello")
            progress = await bot.press(ADMIN, preview, "Send", predicate=lambda m: "Sending bulk job" in m.text)
            mark = telegram.mark()
            telegram.press_button(ADMIN, progress.message_id, button_data(progress, "Cancel"))
            await telegram.wait_for_request("answerCallbackQuery", after=mark)
            [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
            totals = await bot.services.db.jobs.totals(job.id)
            # A batch is still out at the provider, yet the rest is already cancelled in the database.
            assert totals.cancelled > 0 and totals.pending == 0
            await telegram.wait_for_message(ADMIN, is_summary, timeout=10)


async def test_a_second_retry_preview_is_refused_once_the_job_changed(bot: BotHarness) -> None:
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000\nHello")
    await bot.press(ADMIN, preview, "Send", predicate=is_summary)
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
    first = await bot.say(ADMIN, f"/retry {job.id}")
    second = await bot.say(ADMIN, f"/retry {job.id}")
    bot.texin.fail_next("timeout")  # the first retry's outcome is unknown: it may have arrived
    await bot.press(ADMIN, first, "Send again", predicate=lambda m: "finished" in m.text, timeout=15)
    await bot.services.bulk.wait(job.id)  # the summary goes out just before the run ends: let it end
    refused = await bot.press(ADMIN, second, "Send again", predicate=lambda m: "changed since" in m.text)
    assert f"/retry {job.id}" in refused.text
    sends = bot.texin.requests_to("/api/send_bulk_sms") + bot.texin.requests_to("/api/send_sms")
    assert len(sends) == 2  # the job, then one retry of its one failed number; never a third


async def test_a_job_whose_provider_was_switched_off_waits_and_the_admins_are_told(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with await open_database(database_path, active=True) as db:
        await db.jobs.create(
            NewBulkJob(chat_id=ADMIN, user_id=ADMIN, body="Hi", encoding="GSM-7", segments=1, provider="sms254",
                       sender_id="254sms"),
            ["254712345678"],
        )  # fmt: skip
    application, _ = await start_bot(telegram, texin, sms254, database_path, use_sms254=False)
    async with running(application):
        notice = await telegram.wait_for_message(ADMIN, lambda m: "no longer configured" in m.text)
        assert "254sms" in notice.text
        start = await BotHarness(telegram, texin, sms254, application, application.bot_data.services.settings).say(
            ADMIN, "/start"
        )
        assert "admin" in start.text  # the bot runs
    assert sms254.requests == []


async def test_a_job_left_running_with_nothing_pending_is_closed_with_a_summary_at_start(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    async with await open_database(database_path, active=True) as db:
        job = await db.jobs.create(
            NewBulkJob(chat_id=ADMIN, user_id=ADMIN, body="Hi", encoding="GSM-7", segments=1, provider="texin",
                       sender_id="Texin"),
            ["254712345678", "254722000000"],
        )  # fmt: skip
        await db.jobs.start_running(job.id)
        batch = await db.jobs.claim_batch(job.id, 2)
        await db.jobs.record_outcomes([MessageOutcome(batch[0].id, MessageStatus.SENT, units=1)])
        # batch[1] stays "sending": the process died with it in flight.
    application, _ = await start_bot(telegram, texin, sms254, database_path)
    async with running(application):
        summary = await telegram.wait_for_message(ADMIN, lambda m: "finished" in m.text)
        assert "Sent: 1" in summary.text and "Unknown (maybe sent, not resent): 1" in summary.text
        closed = await application.bot_data.services.db.jobs.get(job.id)
        assert closed is not None and closed.state is JobState.DONE
    assert texin.requests_to("/api/send_bulk_sms") == []


async def test_the_summary_arrives_even_when_the_progress_message_cannot_be_edited(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    bot.telegram.fail_next(
        "editMessageText", status=400, description="Bad Request: message to edit not found", count=50
    )
    summary = await bot.press(SENDER, preview, "Send", predicate=is_summary)
    assert "Sent: 2" in summary.text


async def test_a_second_tap_on_a_used_preview_raises_no_error(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    data = button_data(preview, "Cancel")
    bot.telegram.press_button(SENDER, preview.message_id, data)
    bot.telegram.press_button(SENDER, preview.message_id, data)
    await bot.telegram.wait_for_message(SENDER, lambda m: "Cancelled" in m.text)
    await asyncio.sleep(0.3)
    assert [m for m in bot.telegram.messages(ADMIN) if "Error" in m.text] == []


async def test_an_upload_captioned_with_a_capitalised_command_is_understood(bot: BotHarness) -> None:
    preview = await bot.upload(SENDER, b"phone\n0712345678\n0722000000\n", "list.csv", "/Bulk Meeting at 10")
    assert "Recipients: 2" in preview.text


async def test_denying_a_bootstrap_admin_warns_that_a_restart_restores_it(bot: BotHarness) -> None:
    await bot.services.access.allow(
        by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=1002, role=Role.ADMIN, caller_role=Role.ADMIN
    )
    bot.services.settings.admin_chat_ids.append(1002)
    reply = await bot.say(ADMIN, "/deny 1002")
    assert "becomes admin again when the bot restarts" in reply.text and "ADMIN_CHAT_IDS" not in reply.text


async def test_alert_repeats_waiting_to_be_folded_are_sent_at_shutdown(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, settings = await start_bot(telegram, texin, sms254, database_path, alert_fold_window=600)
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        for _ in range(2):
            texin.fail_next("http500")
            await bot.say(ADMIN, "/send 0712345678 hello", predicate=lambda m: "Not sent" in m.text)
    folded = [m for m in telegram.messages(ADMIN) if "1 more time" in m.text]
    assert len(folded) == 1


def test_a_database_from_a_newer_version_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    with sqlite3.connect(database) as raw:
        raw.execute("PRAGMA user_version = 99")
    raw.close()
    with FakeTelegram() as telegram:
        result = subprocess.run(
            [sys.executable, "-m", "bot"],
            cwd=tmp_path,
            env=process_environment(telegram, database, TEXIN_API_KEY="k" * 12),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 3, result.stderr
    assert "newer than this program knows" in result.stderr
    assert "Traceback" not in result.stderr
