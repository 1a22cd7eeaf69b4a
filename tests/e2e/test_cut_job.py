"""A large job starts sending before all its rows are stored; a crash in between must not resume half a job."""

from __future__ import annotations

from storage import JobState, NewBulkJob
from tests.e2e.harness import SENDER, BotHarness


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
