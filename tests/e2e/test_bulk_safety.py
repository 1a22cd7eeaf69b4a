"""Bulk jobs that never lose results: outcomes stored before anyone is told, one run per retry, /deny stopping a
chat's jobs, and an internal error reported to the job's own chat."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.handlers.bulk_progress import reporter_factory
from bot.providers.types import ProviderName
from bot.services.bulk_runner import JobRunner
from storage import (
    BulkJobRecord,
    ClaimedRow,
    Database,
    JobState,
    JobTotals,
    MessageStatus,
    NewBulkJob,
    PersonalText,
    Role,
    audit_actions,
    open_database,
)
from storage.batches import BLOCKED_ERROR
from tests.e2e.harness import (
    ADMIN,
    SENDER,
    BotHarness,
    button_data,
    process_environment,
    running,
    start_bot,
    start_bot_process,
    wait_until,
)
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer


def numbers(count: int) -> list[str]:
    return [f"07{i:08d}" for i in range(count)]


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text or "cancelled" in message.text or "stopped" in message.text


async def test_batch_outcomes_are_stored_before_the_admins_are_told(bot: BotHarness) -> None:
    bot.texin.unmentioned_numbers = {"254733000000"}  # sent, but left out of the answer: an unknown outcome
    held = bot.telegram.hold("sendMessage", chat_id=ADMIN)  # Telegram hangs on the alert
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000, 0733000000\nHello")
    mark = bot.telegram.mark()
    bot.telegram.press_button(SENDER, preview.message_id, button_data(preview, "Send"))
    await bot.telegram.wait_for_request("sendMessage", lambda r: r.chat_id == ADMIN, after=mark)
    # The alert has left and is held: the batch it is about is already stored, provider ids and all.
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    rows = {row.recipient: row for row in await bot.services.db.messages.list_for_job(job.id)}
    for accepted in ("254712345678", "254722000000"):
        assert rows[accepted].status is MessageStatus.SENT, rows[accepted]
        assert rows[accepted].provider_message_id, rows[accepted]
    assert rows["254733000000"].status is MessageStatus.UNKNOWN
    summary = await bot.telegram.wait_for_message(SENDER, is_summary, after=mark)
    assert "Sent: 2" in summary.text and "Unknown (maybe sent, not resent): 1" in summary.text
    assert held.waiting == 1  # the job finished while its alert was still held
    held.release()
    alert = await bot.alert(lambda m: "Outcome unknown" in m.text)
    assert f"bulk job #{job.id}" in alert.text


async def test_a_crash_while_the_alert_is_held_leaves_the_batch_recorded(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    with FakeTelegram() as telegram, TexinFakeServer(unmentioned_numbers={"254733000000"}) as texin:
        environment = process_environment(
            telegram, database, texin, BALANCE_CHECK_INTERVAL="0", DELIVERY_CHECK_INTERVAL="0", LOG_LEVEL="WARNING"
        )
        process = start_bot_process(environment, tmp_path / "bot.log")
        try:
            await telegram.wait_for_request("setMyCommands", timeout=30)
            mark = telegram.mark()
            telegram.send_text(ADMIN, "/bulk 0712345678, 0722000000, 0733000000\nHello")
            preview = await telegram.wait_for_message(ADMIN, lambda m: "preview" in m.text, after=mark, timeout=30)
            telegram.hold("sendMessage", chat_id=ADMIN)  # the progress edits the preview; the alert is held
            mark = telegram.mark()
            telegram.press_button(ADMIN, preview.message_id, button_data(preview, "Send"))
            await telegram.wait_for_request("sendMessage", lambda r: r.chat_id == ADMIN, after=mark, timeout=30)
            process.send_signal(signal.SIGKILL)  # while the bot waits for Telegram to take the alert
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
    async with await open_database(database) as db:
        [job] = await db.jobs.list_for_chat(ADMIN)
        rows = {row.recipient: row for row in await db.messages.list_for_job(job.id)}
    assert [rows[n].status for n in ("254712345678", "254722000000")] == [MessageStatus.SENT] * 2
    assert rows["254712345678"].provider_message_id and rows["254722000000"].provider_message_id
    assert rows["254733000000"].status is MessageStatus.UNKNOWN


async def test_two_confirmations_of_one_retry_start_one_run(bot: BotHarness) -> None:
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000\nHello")
    await bot.press(ADMIN, preview, "Send", predicate=is_summary)
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
    await bot.services.bulk.wait(job.id)  # the summary goes out just before the run ends
    first = await bot.say(ADMIN, f"/retry {job.id}")
    second = await bot.say(ADMIN, f"/retry {job.id}")
    bot.texin.failing_numbers = set()
    bot.texin.latency = 0.3  # the retry is still sending when the second confirmation is handled
    mark = bot.telegram.mark()
    bot.telegram.press_button(ADMIN, first.message_id, button_data(first, "Send again"))
    bot.telegram.press_button(ADMIN, second.message_id, button_data(second, "Send again"))
    refused = await bot.telegram.wait_for_message(ADMIN, lambda m: "already being retried" in m.text, after=mark)
    assert f"#{job.id}" in refused.text
    await bot.telegram.wait_for_message(ADMIN, lambda m: "finished" in m.text, after=mark, timeout=15)
    runs = [m for m in bot.telegram.messages(ADMIN) if m.seq > mark and "Retrying bulk job" in m.text]
    assert len(runs) == 1, [m.describe() for m in runs]
    sends = bot.texin.requests_to("/api/send_bulk_sms") + bot.texin.requests_to("/api/send_sms")
    assert len(sends) == 2  # the job, then one retry of its one failed number
    assert bot.texin.received == {"254712345678": 1, "254722000000": 1}


async def test_deny_cancels_the_chats_running_job_and_nothing_more_appears_there(
    telegram: FakeTelegram, sms254: Sms254FakeServer, database_path: Path
) -> None:
    with TexinFakeServer(latency=0.15) as slow:
        application, settings = await start_bot(
            telegram, slow, sms254, database_path, batch_size=10, bulk_concurrency=1
        )
        async with running(application):
            bot = BotHarness(telegram, slow, sms254, application, settings)
            await bot.services.access.allow(
                by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN
            )
            preview = await bot.say(SENDER, "/bulk " + " ".join(numbers(200)) + "\nHello")
            await bot.press(SENDER, preview, "Send", predicate=lambda m: re.search(r"Sent: [1-9]", m.text) is not None)
            denied = await bot.say(ADMIN, f"/deny {SENDER}", predicate=lambda m: "can no longer use" in m.text)
            [job] = await bot.services.db.jobs.list_for_chat(SENDER)
            assert f"#{job.id}" in denied.text
            told = await bot.alert(lambda m: "lost access" in m.text and f"#{job.id}" in m.text)
            assert told.seq < denied.seq  # one alert naming the job, before the reply
            summary = await bot.alert(lambda m: f"Bulk job #{job.id} stopped" in m.text, timeout=15)
            assert "lost access" in summary.text
            job = await bot.services.db.jobs.get(job.id) or job
            totals = await bot.services.db.jobs.totals(job.id)
            assert job.state is JobState.CANCELLED
            assert totals.cancelled > 0 and totals.pending == 0 and totals.sending == 0
            assert slow.received.total() == totals.sent < 200
            assert all(count == 1 for count in slow.received.values())
            assert f"Sent: {totals.sent:,}" in summary.text
            # Nothing new in the denied chat after the deny was confirmed: no edit, no summary.
            late = [m.describe() for m in telegram.messages(SENDER) if m.seq > denied.seq]
            assert late == []


async def test_a_database_failure_inside_a_running_job_is_told_to_its_chat_and_the_admins(
    bot: BotHarness, database_path: Path
) -> None:
    # A real fault in the bot's own database file: storing any outcome for this number fails.
    with contextlib.closing(sqlite3.connect(database_path)) as raw:
        raw.execute(
            "CREATE TRIGGER test_fault BEFORE UPDATE OF status ON messages"
            " WHEN NEW.recipient = '254722000000' AND OLD.status IN ('pending', 'sending')"
            " AND NEW.status IN ('sent', 'failed', 'unknown')"
            " BEGIN SELECT RAISE(ABORT, 'fault injected by the test'); END"
        )
        raw.commit()
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    line = await bot.press(SENDER, preview, "Send", predicate=lambda m: "internal error" in m.text)
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    assert f"Bulk job #{job.id} stopped because of an internal error" in line.text
    assert "admins have been told" in line.text
    alert = await bot.alert(lambda m: f"bulk job #{job.id}" in m.text and "Error" in m.text)
    assert "fault injected by the test" in alert.text
    chat_lines = [m for m in bot.telegram.messages(SENDER) if "internal error" in m.text]
    assert len(chat_lines) == 1


async def three_recipient_job(db: Database) -> BulkJobRecord:
    """A Texin job of three recipients, stored and not started (the tests start its runner themselves)."""
    return await db.jobs.create(
        NewBulkJob(chat_id=ADMIN, user_id=ADMIN, body="Hi", encoding="GSM-7", segments=1, provider="texin",
                   sender_id="Texin"),
        ["254712000001", "254712000002", "254712000003"],
    )  # fmt: skip


def start_runner(bot: BotHarness, job: BulkJobRecord, *, batch_size: int) -> asyncio.Task[JobTotals]:
    """A job's runner on the bot's own services, one request at a time."""
    runner = JobRunner(
        bot.services.db,
        bot.services.providers.get(ProviderName.TEXIN),
        bot.services.alerts,
        bot.services.balances,
        batch_size=batch_size,
        concurrency=1,
    )
    reporter = reporter_factory(bot.application.bot, bot.services.alerts)(job, "start")
    return asyncio.create_task(runner.run(job, reporter))


@pytest.mark.parametrize("sent_before", [0, 1])
async def test_a_claim_cut_by_shutdown_puts_its_rows_back_to_pending(
    bot: BotHarness, database_path: Path, monkeypatch: pytest.MonkeyPatch, sent_before: int
) -> None:
    """A worker cancelled while its claim waits for the database never sends those rows: they go back to
    ``pending`` (resumed later) instead of staying ``sending`` (turned "maybe sent" at the next start).

    Another process takes SQLite's write lock right before the claim that follows ``sent_before`` batches, so
    that claim waits inside the database thread when the shutdown comes."""
    db = bot.services.db
    job = await three_recipient_job(db)
    bot.texin.latency = 0.3
    other = sqlite3.connect(database_path, timeout=10, isolation_level=None)
    locked = asyncio.Event()
    real_claim = db.jobs.claim_batch
    claims = 0

    async def claim_behind_the_lock(job_id: int, size: int) -> list[ClaimedRow]:
        nonlocal claims
        claims += 1
        if claims == sent_before + 1:
            other.execute("BEGIN IMMEDIATE")
            locked.set()
        return await real_claim(job_id, size)

    monkeypatch.setattr(db.jobs, "claim_batch", claim_behind_the_lock)
    run = start_runner(bot, job, batch_size=1)
    try:
        await asyncio.wait_for(locked.wait(), 10)
        await asyncio.sleep(0.2)  # the claim is queued in the database thread, waiting on the lock
        run.cancel()
        await asyncio.sleep(0.2)
        other.execute("COMMIT")
    finally:
        other.close()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    rows = await db.messages.list_for_job(job.id)
    expected = [MessageStatus.SENT] * sent_before + [MessageStatus.PENDING] * (3 - sent_before)
    assert [row.status for row in rows] == expected
    assert bot.texin.received.total() == sent_before


async def test_a_job_confirmed_while_the_bot_stops_sends_nothing_and_stays_pending(bot: BotHarness) -> None:
    """Review finding: PTB still runs updates already fetched after the stop signal; a bulk Send handled then
    must not start sending outside the shutdown's control. Its rows stay pending and resume at the next start."""
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nOffice closed today")
    await bot.services.bulk.shutdown(grace=0)  # what post_stop does when the stop signal arrives
    await bot.press(SENDER, preview, "Send", predicate=lambda m: "Sending bulk job" in m.text)
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    await bot.services.bulk.wait(job.id)
    totals = await bot.services.db.jobs.totals(job.id)
    assert totals.pending == 2 and totals.sending == 0
    assert bot.texin.received.total() == 0


async def test_an_admin_retry_of_a_denied_chats_job_posts_nothing_in_that_chat(bot: BotHarness) -> None:
    """Review finding: after /deny the bot posts nothing more in that chat, also when an admin retries its job."""
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    await bot.press(SENDER, preview, "Send", predicate=is_summary)
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    await bot.services.bulk.wait(job.id)
    denied = await bot.say(ADMIN, f"/deny {SENDER}", predicate=lambda m: "can no longer use" in m.text)
    bot.texin.failing_numbers = set()
    retry = await bot.say(ADMIN, f"/retry {job.id}")
    await bot.press(ADMIN, retry, "Send again")
    summary = await bot.alert(lambda m: f"Bulk job #{job.id}" in m.text and m.seq > denied.seq, timeout=15)
    assert "Sent: 2" in summary.text
    assert bot.texin.received == {"254712345678": 1, "254722000000": 1}
    assert [m.describe() for m in bot.telegram.messages(SENDER) if m.seq > denied.seq] == []


async def test_deny_answers_at_once_while_a_finished_jobs_summary_waits_for_telegram(bot: BotHarness) -> None:
    """Review finding: the summary of a finished job retries for minutes while Telegram refuses; /deny of its
    chat must not wait behind it."""
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    hold = bot.telegram.hold("sendMessage", chat_id=SENDER)
    try:
        bot.telegram.press_button(SENDER, preview.message_id, button_data(preview, "Send"))
        await bot.telegram.wait_for_request(
            "sendMessage", lambda r: r.params.get("chat_id") == SENDER and "finished" in str(r.params.get("text"))
        )
        denied = await bot.say(ADMIN, f"/deny {SENDER}", predicate=lambda m: "can no longer use" in m.text, timeout=5)
        assert "can no longer use" in denied.text
    finally:
        hold.release()


async def test_a_personalised_job_cut_by_shutdown_leaves_its_unsent_texts_pending(bot: BotHarness) -> None:
    """A personalised job goes out one request per text; cut while the second is out, the first is sent, the second
    maybe sent (unknown), and the third never left: pending (resumed later), not failed and not unknown."""
    db = bot.services.db
    texts = [PersonalText(f"Hi {name}", "GSM-7", 1) for name in ("Amina", "Baraka", "Chebet")]
    job = await db.jobs.create(
        NewBulkJob(chat_id=ADMIN, user_id=ADMIN, body="Hi {name}", encoding="GSM-7", segments=1, provider="texin",
                   sender_id="Texin"),
        ["254712000001", "254712000002", "254712000003"],
        texts=texts,
    )  # fmt: skip
    bot.texin.latency = 0.6
    run = start_runner(bot, job, batch_size=3)
    await wait_until(lambda: bot.texin.received.total() >= 2, 10, "the second text to reach Texin")
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    statuses = [row.status for row in await db.messages.list_for_job(job.id)]
    assert statuses == [MessageStatus.SENT, MessageStatus.UNKNOWN, MessageStatus.PENDING]


async def test_a_number_blocked_while_the_job_runs_is_not_sent(bot: BotHarness) -> None:
    """The claim reads the blocklist in the same statement: a number blocked while earlier batches are out is
    skipped by the batch that would have carried it."""
    db = bot.services.db
    job = await three_recipient_job(db)
    bot.texin.latency = 0.5
    run = start_runner(bot, job, batch_size=1)
    await wait_until(lambda: bot.texin.received.total() >= 1, 10, "the first batch to reach Texin")

    await db.blocklist.add(["254712000002"], reason="STOP", chat_id=ADMIN, user_id=None)
    bot.texin.latency = 0.01
    await asyncio.wait_for(run, 30)

    assert bot.texin.received == {"254712000001": 1, "254712000003": 1}
    rows = {row.recipient: row for row in await db.messages.list_for_job(job.id)}
    assert rows["254712000002"].status is MessageStatus.CANCELLED and rows["254712000002"].error == BLOCKED_ERROR


async def test_a_cancel_that_lands_while_a_retry_starts_keeps_the_job_cancelled(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review finding: the retry reopened the job after its requeue unconditionally, so a Cancel pressed in
    between was undone and the job ended "finished". The requeue reopens it; nothing after may."""
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nHello")
    await bot.press(SENDER, preview, "Send", predicate=is_summary)
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    await bot.services.bulk.wait(job.id)
    bot.texin.failing_numbers = set()
    audit = bot.services.db.audit
    real_record = audit.record
    cancelled: list[bool] = []

    async def cancel_first(action: str, **details: Any) -> None:
        if action == audit_actions.RETRY:  # between the requeue and the launch of the retry
            cancelled.append(
                await bot.services.bulk.cancel(job.id, chat_id=SENDER, user_id=SENDER, caller_role=Role.SENDER)
            )
        await real_record(action, **details)

    monkeypatch.setattr(audit, "record", cancel_first)
    retry = await bot.say(ADMIN, f"/retry {job.id}")
    mark = bot.telegram.mark()
    await bot.press(ADMIN, retry, "Send again")
    summary = await bot.telegram.wait_for_message(SENDER, is_summary, after=mark)
    await bot.services.bulk.wait(job.id)

    after = await bot.services.db.jobs.get(job.id)
    assert cancelled == [True] and after is not None and after.state is JobState.CANCELLED
    assert f"Bulk job #{job.id} cancelled" in summary.text
    assert bot.texin.received == {"254712345678": 1}  # the retried number was cancelled, never sent
