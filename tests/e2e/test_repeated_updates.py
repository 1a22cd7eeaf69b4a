"""Telegram delivers updates at least once: the same command or button press arriving twice spends once.

The fake Bot API repeats an update it already delivered (``redeliver(..., as_new=True)``: same message, new
update id, which a running bot receives). The repeat must be ignored: no second SMS, no second preview, no
reply at all, and one INFO line in the log, which is also how these tests know the bot has handled it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from bot.handlers.bulk_progress import reporter_factory
from bot.services.requests import DuplicateRequest
from bot.services.sending import SendReport
from storage import BulkJobRecord, MessageStatus, Role
from tests.e2e.harness import ADMIN, SENDER, BotHarness, button_data
from tests.fakes.telegram_server import SentMessage

IGNORED = "ignored a repeated delivery of update"


@pytest.fixture(autouse=True)
def _repeat_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.handlers.repeats")


def ignored(caplog: pytest.LogCaptureFixture, key: str) -> bool:
    return any(IGNORED in record.getMessage() and key in record.getMessage() for record in caplog.records)


async def handled(
    caplog: pytest.LogCaptureFixture, key: str, second_effect: Callable[[], bool], timeout: float = 10.0
) -> None:
    """Wait until the repeat of ``key`` was ignored, or did something visible (which the test then reports)."""
    for _ in range(int(timeout / 0.02)):
        if ignored(caplog, key) or second_effect():
            await asyncio.sleep(0.2)  # let a second effect finish, so the assertions see all of it
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the repeat of {key} had no effect and was not reported as ignored")


def answers_to(bot: BotHarness, query_id: str) -> list[str | None]:
    """The answers to this press, plus a None for every refused answerCallbackQuery (an answer to a press
    Telegram already considers answered)."""
    answered: list[str | None] = [a.text for a in bot.telegram.callback_answers() if a.callback_query_id == query_id]
    return answered + [None for _ in bot.telegram.refusals("answerCallbackQuery")]


async def preview_recorded(bot: BotHarness, key: str) -> None:
    """A command answered with a preview is recorded once the preview is out: a repeat before that moment would
    (rightly) show the preview again, since nothing was spent."""
    for _ in range(500):
        if await bot.services.requests.seen(key):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{key} was never recorded")


def messages_after(bot: BotHarness, chat_id: int, mark: int) -> list[SentMessage]:
    return [message for message in bot.telegram.messages(chat_id) if message.seq > mark]


async def test_the_same_send_delivered_twice_sends_one_sms_and_replies_once(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    mark = bot.telegram.mark()
    message_id = bot.telegram.send_text(SENDER, "/send 0712345678 Server back up")
    reply = await bot.telegram.wait_for_message(SENDER, after=mark)
    assert "Sent" in reply.text

    key = f"msg:{SENDER}:{message_id}"
    await preview_recorded(bot, key)
    bot.telegram.redeliver(bot.telegram.update_id_of(SENDER, message_id=message_id), as_new=True)
    await handled(caplog, key, lambda: len(messages_after(bot, SENDER, mark)) > 1)

    assert bot.texin.received == {"254712345678": 1}
    assert [m.message_id for m in messages_after(bot, SENDER, mark)] == [reply.message_id]
    rows = await bot.services.db.messages.list_for_chat(SENDER)
    assert [row.status for row in rows] == [MessageStatus.SENT]
    assert await bot.services.db.spend_requests.seen(key)
    assert ignored(caplog, key)


async def test_the_same_bulk_command_delivered_twice_shows_one_preview(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    mark = bot.telegram.mark()
    message_id = bot.telegram.send_text(SENDER, "/bulk 0712345678, 0722000000\nOffice closed today")
    preview = await bot.telegram.wait_for_message(SENDER, after=mark)
    assert "Bulk SMS preview" in preview.text

    key = f"msg:{SENDER}:{message_id}"
    await preview_recorded(bot, key)
    bot.telegram.redeliver(bot.telegram.update_id_of(SENDER, message_id=message_id), as_new=True)
    await handled(caplog, key, lambda: len(messages_after(bot, SENDER, mark)) > 1)

    assert [m.message_id for m in messages_after(bot, SENDER, mark)] == [preview.message_id]
    assert ignored(caplog, key)


async def test_a_repeated_bulk_send_press_starts_one_job_and_is_not_answered(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nOffice closed today")
    mark = bot.telegram.mark()
    query_id = bot.telegram.press_button(SENDER, preview.message_id, button_data(preview, "Send"))
    await bot.telegram.wait_for_message(SENDER, lambda m: "finished" in m.text, after=mark)

    bot.telegram.redeliver(bot.telegram.update_id_of(SENDER, query_id=query_id), as_new=True)
    await handled(caplog, f"cbq:{query_id}", lambda: len(answers_to(bot, query_id)) > 1)

    assert bot.texin.received == {"254712345678": 1, "254722000000": 1}
    assert len(await bot.services.db.jobs.list_for_chat(SENDER)) == 1
    assert answers_to(bot, query_id) == ["Starting…"]
    assert ignored(caplog, f"cbq:{query_id}")


async def test_a_repeated_retry_press_requeues_once(bot: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000\nOffice closed today")
    await bot.press(ADMIN, preview, "Send", predicate=lambda m: "finished" in m.text)
    bot.texin.failing_numbers = set()
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
    await bot.services.bulk.wait(job.id)  # the summary goes out just before the job's task ends
    retry_preview = await bot.say(ADMIN, f"/retry {job.id}")
    mark = bot.telegram.mark()
    query_id = bot.telegram.press_button(ADMIN, retry_preview.message_id, button_data(retry_preview, "Send again"))
    await bot.telegram.wait_for_message(ADMIN, lambda m: "finished" in m.text, after=mark)

    bot.telegram.redeliver(bot.telegram.update_id_of(ADMIN, query_id=query_id), as_new=True)
    await handled(caplog, f"cbq:{query_id}", lambda: len(answers_to(bot, query_id)) > 1)

    assert bot.texin.received == {"254712345678": 1, "254722000000": 1}
    assert answers_to(bot, query_id) == ["Retrying…"]
    assert ignored(caplog, f"cbq:{query_id}")


async def test_a_repeated_send_that_needed_a_preview_shows_no_second_preview(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """The preview's Send press spent; the repeated command must not offer a second Send (found in review)."""
    mark = bot.telegram.mark()
    message_id = bot.telegram.send_text(SENDER, "/send 0712345678 " + "Long notice. " * 40)
    preview = await bot.telegram.wait_for_message(SENDER, after=mark)
    assert "Send this SMS?" in preview.text
    await bot.press(SENDER, preview, "Send", predicate=lambda m: "Sent" in m.text)
    after_send = bot.telegram.mark()

    key = f"msg:{SENDER}:{message_id}"
    await preview_recorded(bot, key)
    bot.telegram.redeliver(bot.telegram.update_id_of(SENDER, message_id=message_id), as_new=True)
    await handled(caplog, key, lambda: len(messages_after(bot, SENDER, after_send)) > 0)

    assert messages_after(bot, SENDER, after_send) == []
    assert bot.texin.received == {"254712345678": 1}
    assert ignored(caplog, key)


async def test_a_repeated_retry_command_shows_no_second_preview(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """After the retry ran, a fresh preview of the same command would offer to send the rest again."""
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000\nOffice closed today")
    await bot.press(ADMIN, preview, "Send", predicate=lambda m: "finished" in m.text)
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
    await bot.services.bulk.wait(job.id)
    mark = bot.telegram.mark()
    message_id = bot.telegram.send_text(ADMIN, f"/retry {job.id}")
    retry_preview = await bot.telegram.wait_for_message(ADMIN, after=mark)
    assert "Retry bulk job" in retry_preview.text
    after_preview = bot.telegram.mark()

    key = f"msg:{ADMIN}:{message_id}"
    await preview_recorded(bot, key)
    bot.telegram.redeliver(bot.telegram.update_id_of(ADMIN, message_id=message_id), as_new=True)
    await handled(caplog, key, lambda: len(messages_after(bot, ADMIN, after_preview)) > 0)

    assert messages_after(bot, ADMIN, after_preview) == []
    assert ignored(caplog, key)


async def test_two_deliveries_racing_past_the_first_check_still_send_once(bot: BotHarness) -> None:
    """Updates are handled concurrently: the key stored with the row, not the early look-up, is the guarantee."""
    sending = bot.services.sending
    request = sending.prepare(
        chat_id=SENDER, user_id=SENDER, number="0712345678", text="Gate code 4411", caller_role=Role.SENDER
    )

    results = await asyncio.gather(
        sending.send(request, request_key="msg:2002:77"),
        sending.send(request, request_key="msg:2002:77"),
        return_exceptions=True,
    )

    assert {type(result) for result in results} == {SendReport, DuplicateRequest}, results
    assert bot.texin.received == {"254712345678": 1}
    assert len(await bot.services.db.messages.list_for_chat(SENDER)) == 1


async def test_two_bulk_starts_for_one_press_make_one_job(bot: BotHarness) -> None:
    draft = await bot.services.bulk.prepare(
        chat_id=SENDER,
        user_id=SENDER,
        numbers=["0712345678", "0722000000"],
        text="Office closed today",
        caller_role=Role.SENDER,
    )
    reporter = reporter_factory(bot.application.bot, bot.services.alerts)

    results = await asyncio.gather(
        bot.services.bulk.start(draft, reporter, request_key="cbq:88"),
        bot.services.bulk.start(draft, reporter, request_key="cbq:88"),
        return_exceptions=True,
    )

    assert {type(result) for result in results} == {BulkJobRecord, DuplicateRequest}, results
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    await bot.services.bulk.wait(job.id)
    assert bot.texin.received == {"254712345678": 1, "254722000000": 1}
