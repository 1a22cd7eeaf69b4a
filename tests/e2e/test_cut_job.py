"""A large job starts sending before all its rows are stored: the rest is stored while the first batches go out,
and a crash in between resumes storing from where the rows end: each recipient gets the SMS once."""

from __future__ import annotations

from pathlib import Path

from storage import JobState, MessageOutcome, MessageStatus, NewBulkJob, PersonalText, Role, Unstored, open_database
from tests.e2e.harness import ADMIN, SENDER, BotHarness, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text


async def test_a_personalised_job_larger_than_its_first_batches_sends_each_row_its_own_text_once(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    # Batches of 2, one at a time: 4 rows are stored with the job, the other 26 while it sends.
    application, settings = await start_bot(
        telegram, texin, sms254, database_path, batch_size=2, bulk_batch_size=2, bulk_concurrency=1
    )
    names = [f"Name{i}" for i in range(30)]
    csv = "Name,Phone\n" + "".join(f"{name},07120000{i:02d}\n" for i, name in enumerate(names))
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        await bot.services.access.allow(
            by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN
        )
        preview = await bot.upload(SENDER, csv.encode(), "names.csv", "/bulk Hello {name}")
        await bot.press(SENDER, preview, "Send", predicate=is_summary)
        [job] = await bot.services.db.jobs.list_for_chat(SENDER)
        rows = await bot.services.db.messages.list_for_job(job.id, limit=100)

    sent: dict[str, list[str]] = {}
    for request in [*texin.requests_to("/api/send_bulk_sms"), *texin.requests_to("/api/send_sms")]:
        for number in request.body.get("recipients") or [request.body.get("recipient")]:
            sent.setdefault(number, []).append(request.body["message"])
    expected = {f"2547120000{i:02d}": [f"Hello {name}"] for i, name in enumerate(names)}
    assert sent == expected
    assert job.total_recipients == len(rows) == 30
    assert {row.recipient: [row.body] for row in rows} == expected
    assert all(row.status is MessageStatus.SENT for row in rows)


async def test_a_job_cut_while_its_rows_were_stored_resumes_and_sends_each_row_its_own_text_once(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    job = NewBulkJob(
        chat_id=SENDER, user_id=SENDER, body="Hello {name}", encoding="gsm7", segments=1,
        provider="texin", sender_id="Texin",
    )  # fmt: skip
    numbers = [f"2547{i:08d}" for i in range(50)]
    texts = [PersonalText(f"Hello Name{i}", "gsm7", 1) for i in range(50)]
    # What a crash leaves: the job, its first 20 rows, one more chunk of 10 stored, 20 recipients still unstored.
    async with await open_database(database_path) as db:
        cut = await db.jobs.create(job, numbers, texts=texts, store_first=20)
        assert await db.jobs.add_recipients(cut, Unstored(numbers[20:30], texts[20:30], 0), last=False)

    application, settings = await start_bot(
        telegram, texin, sms254, database_path, batch_size=5, bulk_batch_size=5, bulk_concurrency=1
    )
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        summary = await telegram.wait_for_message(SENDER, is_summary, timeout=30)
        await bot.services.bulk.wait(cut.id)
        rows = await bot.services.db.messages.list_for_job(cut.id, limit=100)
        finished = await bot.services.db.jobs.get(cut.id)
        left = await bot.services.db.jobs.unstored(cut.id)

    sent: dict[str, list[str]] = {}
    for request in [*texin.requests_to("/api/send_bulk_sms"), *texin.requests_to("/api/send_sms")]:
        for number in request.body.get("recipients") or [request.body.get("recipient")]:
            sent.setdefault(number, []).append(request.body["message"])
    assert sent == {number: [text.body] for number, text in zip(numbers, texts, strict=True)}
    assert [row.recipient for row in sorted(rows, key=lambda row: row.id)] == numbers
    assert all(row.status is MessageStatus.SENT for row in rows) and left is None
    assert finished is not None and finished.state is JobState.DONE
    assert f"#{cut.id}" in summary.text and "Sent: 50" in summary.text
    assert not [m for m in telegram.messages(ADMIN) if "was cut" in m.text]


async def test_a_cut_job_whose_stored_rows_were_all_sent_stores_and_sends_the_rest_when_it_resumes(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    job = NewBulkJob(
        chat_id=SENDER, user_id=SENDER, body="Water off tomorrow", encoding="gsm7", segments=1,
        provider="texin", sender_id="Texin",
    )  # fmt: skip
    numbers = [f"2547{i:08d}" for i in range(30)]
    # The crash came after the 4 stored rows were sent, before any more was stored: nothing is pending.
    async with await open_database(database_path) as db:
        cut = await db.jobs.create(job, numbers, store_first=4)
        claimed = await db.jobs.start_sending(await db.jobs.read_ahead(cut.id, 10))
        await db.jobs.record_outcomes(
            [MessageOutcome(row.id, MessageStatus.SENT, provider_message_id=f"p{row.id}") for row in claimed]
        )

    application, settings = await start_bot(
        telegram, texin, sms254, database_path, batch_size=5, bulk_batch_size=5, bulk_concurrency=1
    )
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        summary = await telegram.wait_for_message(SENDER, is_summary, timeout=30)
        totals = await bot.services.db.jobs.totals(cut.id)

    assert dict(texin.received) == {number: 1 for number in numbers[4:]}
    assert totals.sent == 30 and totals.open == 0
    assert "Sent: 30" in summary.text
