"""A large job starts sending before all its rows are stored: the rest is stored while the first batches go out,
and a crash in between must not resume half a job."""

from __future__ import annotations

from pathlib import Path

from storage import JobState, MessageStatus, NewBulkJob, Role
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


async def test_a_job_cut_while_its_rows_were_stored_is_reported_and_never_resumed(bot: BotHarness) -> None:
    db = bot.services.db
    job = NewBulkJob(
        chat_id=SENDER, user_id=SENDER, body="Water off tomorrow", encoding="gsm7", segments=1,
        provider="texin", sender_id="Texin",
    )  # fmt: skip
    # What a crash leaves: the job and its first rows stored, the rest only ever in the dead process's memory.
    cut = await db.jobs.create(job, [f"2547{i:08d}" for i in range(50)], store_first=20)

    assert await bot.services.bulk.recover_after_restart() == []

    alert = await bot.alert(lambda m: f"#{cut.id} was cut" in m.text)
    assert "20 of 50 stored" in alert.text and "will not resume" in alert.text
    told = await bot.telegram.wait_for_message(SENDER, lambda m: f"#{cut.id} was cut" in m.text)
    assert told.text == alert.text
    stored = await db.jobs.get(cut.id)
    assert stored is not None and stored.state is JobState.FAILED
    assert await db.jobs.with_pending_work() == [] and await db.jobs.list_unfinished() == []
    assert bot.texin.requests == []
