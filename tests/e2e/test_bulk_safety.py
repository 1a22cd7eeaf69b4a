"""Bulk jobs that never lose results: outcomes stored before anyone is told, one run per retry, /deny stopping a
chat's jobs, and an internal error reported to the job's own chat."""

from __future__ import annotations

from storage import MessageStatus
from tests.e2e.harness import ADMIN, SENDER, BotHarness, button_data
from tests.fakes.telegram_server import SentMessage


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


async def test_two_confirmations_of_one_retry_start_one_run(bot: BotHarness) -> None:
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000\nHello")
    await bot.press(ADMIN, preview, "Send", predicate=is_summary)
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
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
