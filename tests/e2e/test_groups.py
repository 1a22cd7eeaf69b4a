"""Groups: who may press which button, anonymous admins, and a group upgraded to a supergroup taking its role,
bulk jobs and history to its new id (told by Telegram's service messages, or found out from a refused send)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from storage import JobState, Role, audit_actions
from tests.e2e.harness import ADMIN, BotHarness, button_data, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer

GROUP = -100700
ASKER, OTHER = 11, 12
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
GROUP_CHAT = {"id": GROUP, "type": "supergroup", "title": "Ops"}
LONG_TEXT = "word " * 100  # above CONFIRM_ABOVE_UNITS: /send shows a preview


def numbers(count: int) -> list[str]:
    return [f"07{i:08d}" for i in range(count)]


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text or "cancelled" in message.text


async def allow(bot: BotHarness, chat_id: int, role: Role) -> None:
    await bot.services.access.allow(
        by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=chat_id, role=role, caller_role=Role.ADMIN
    )


async def say(bot: BotHarness, text: str, *, anonymous: bool = False, user_id: int = ASKER) -> SentMessage:
    """A member (or an anonymous admin) writes in GROUP; returns the bot's first answer there."""
    mark = bot.telegram.mark()
    kwargs: dict[str, Any] = {"sender_chat": GROUP_CHAT, "from_user": ANONYMOUS_ADMIN} if anonymous else {}
    bot.telegram.send_text(GROUP, text, user_id=user_id, chat_type="supergroup", title="Ops", **kwargs)
    return await bot.telegram.wait_for_message(GROUP, after=mark)


async def press(bot: BotHarness, message: SentMessage, label: str, user_id: int) -> str:
    """``user_id`` presses the button; returns the text of the callback answer it gets."""
    query_id = bot.telegram.press_button(GROUP, message.message_id, button_data(message, label), user_id=user_id)
    answer = await bot.telegram.wait_for_request(
        "answerCallbackQuery", lambda r: r.params["callback_query_id"] == query_id
    )
    return str(answer.params.get("text") or "")


# --- preview buttons -------------------------------------------------------------------------------------------


async def test_an_anonymous_admins_send_preview_may_be_confirmed_by_anyone_in_the_group(bot: BotHarness) -> None:
    await allow(bot, GROUP, Role.SENDER)
    preview = await say(bot, "/send 0712345678 " + LONG_TEXT, anonymous=True)
    mark = bot.telegram.mark()
    await press(bot, preview, "Send", OTHER)
    sent = await bot.telegram.wait_for_message(GROUP, lambda m: "Sent" in m.text, after=mark)
    assert "+254 712 345 678" in sent.text
    assert bot.texin.received == {"254712345678": 1}
    [row] = await bot.services.db.messages.list_for_chat(GROUP)
    assert row.user_id is None  # the placeholder account is nobody: not recorded as the sender


async def test_an_anonymous_admins_bulk_preview_may_be_confirmed_by_anyone_in_the_group(bot: BotHarness) -> None:
    await allow(bot, GROUP, Role.SENDER)
    preview = await say(bot, "/bulk 0712345678, 0722000000\nHello", anonymous=True)
    mark = bot.telegram.mark()
    await press(bot, preview, "Send", OTHER)
    await bot.telegram.wait_for_message(GROUP, is_summary, after=mark)
    assert bot.texin.received == {"254712345678": 1, "254722000000": 1}


async def test_an_anonymous_admins_retry_preview_may_be_confirmed_by_anyone_in_the_group(bot: BotHarness) -> None:
    await allow(bot, GROUP, Role.ADMIN)
    bot.texin.failing_numbers = {"254712345678"}
    preview = await say(bot, "/bulk 0712345678\nHello", user_id=ASKER)
    mark = bot.telegram.mark()
    await press(bot, preview, "Send", ASKER)
    await bot.telegram.wait_for_message(GROUP, is_summary, after=mark)
    [job] = await bot.services.db.jobs.list_for_chat(GROUP)
    await bot.services.bulk.wait(job.id)  # the summary goes out just before the run ends: let it end
    bot.texin.failing_numbers = set()
    retry = await say(bot, f"/retry {job.id}", anonymous=True)
    mark = bot.telegram.mark()
    await press(bot, retry, "Send again", OTHER)
    await bot.telegram.wait_for_message(GROUP, lambda m: "Retrying" in m.text, after=mark)
    await bot.telegram.wait_for_message(GROUP, is_summary, after=mark)
    assert bot.texin.received == {"254712345678": 1}


@pytest.mark.parametrize(
    ("command", "label"), [("/send 0712345678 " + LONG_TEXT, "Send"), ("/bulk 0712345678\nHi", "Cancel")]
)
async def test_a_members_preview_refuses_other_members(bot: BotHarness, command: str, label: str) -> None:
    await allow(bot, GROUP, Role.SENDER)
    preview = await say(bot, command, user_id=ASKER)
    assert "Only the person who asked" in await press(bot, preview, label, OTHER)
    await bot.settle()
    assert bot.texin.requests_to("/api/send_sms") == [] and bot.texin.requests_to("/api/send_bulk_sms") == []
    assert "Cancelled" not in bot.telegram.last_message(GROUP).text


# --- "Cancel the rest" of a running job ----------------------------------------------------------------------


@pytest.fixture
async def slow_bot(telegram: FakeTelegram, sms254: Sms254FakeServer, database_path: Path) -> AsyncIterator[BotHarness]:
    """Batches of 10 that take 0.15 s each, one at a time: a 300-number job runs long enough to be cancelled."""
    with TexinFakeServer(latency=0.15) as texin:
        application, settings = await start_bot(
            telegram, texin, sms254, database_path, batch_size=10, bulk_concurrency=1
        )
        async with running(application):
            yield BotHarness(telegram, texin, sms254, application, settings)


async def start_job(bot: BotHarness, *, anonymous: bool = False) -> SentMessage:
    preview = await say(bot, "/bulk " + " ".join(numbers(300)) + "\nHello", anonymous=anonymous)
    mark = bot.telegram.mark()
    await press(bot, preview, "Send", ASKER)
    return await bot.telegram.wait_for_message(GROUP, lambda m: "Sending bulk job" in m.text, after=mark)


async def test_only_the_member_who_started_a_job_may_cancel_it_in_a_sender_group(slow_bot: BotHarness) -> None:
    bot = slow_bot
    await allow(bot, GROUP, Role.SENDER)
    progress = await start_job(bot)
    refused = await press(bot, progress, "Cancel", OTHER)
    assert "Only the person who started job" in refused
    [job] = await bot.services.db.jobs.list_for_chat(GROUP)
    assert (await bot.services.db.jobs.get(job.id)) is not None
    assert "Stopping" in await press(bot, progress, "Cancel", ASKER)
    await bot.telegram.wait_for_message(GROUP, is_summary, timeout=15)
    stopped = await bot.services.db.jobs.get(job.id)
    assert stopped is not None and stopped.state is JobState.CANCELLED
    [cancel] = [a for a in await bot.services.db.audit.list(limit=50) if a.action == audit_actions.CANCEL]
    assert cancel.actor_user_id == ASKER


@pytest.mark.parametrize("who", ["anonymous admin started it", "admin group"])
async def test_any_member_may_cancel_when_a_chat_started_the_job_or_in_an_admin_group(
    slow_bot: BotHarness, who: str
) -> None:
    bot = slow_bot
    anonymous = who == "anonymous admin started it"
    await allow(bot, GROUP, Role.SENDER if anonymous else Role.ADMIN)
    progress = await start_job(bot, anonymous=anonymous)
    assert "Stopping" in await press(bot, progress, "Cancel", OTHER)
    await bot.telegram.wait_for_message(GROUP, is_summary, timeout=15)
    [job] = await bot.services.db.jobs.list_for_chat(GROUP)
    assert job.state is JobState.CANCELLED


# --- a group upgraded to a supergroup --------------------------------------------------------------------------

OLD_GROUP, SUPERGROUP = -4200, -1004200


async def test_migration_messages_move_role_jobs_and_history_and_the_admins_are_told(bot: BotHarness) -> None:
    await allow(bot, OLD_GROUP, Role.SENDER)
    mark = bot.telegram.mark()
    bot.telegram.send_text(OLD_GROUP, "/send 0712345678 hello", user_id=ASKER, chat_type="group")
    await bot.telegram.wait_for_message(OLD_GROUP, lambda m: "Sent" in m.text, after=mark)

    bot.telegram.migrate_group(OLD_GROUP, SUPERGROUP, user_id=ASKER)
    alert = await bot.alert(lambda m: "supergroup" in m.text)
    await bot.settle()

    assert str(OLD_GROUP) in alert.text and str(SUPERGROUP) in alert.text and "sender" in alert.text
    alerts = [m for m in bot.telegram.messages(ADMIN) if m.seq > mark and "supergroup" in m.text]
    assert [m.text for m in alerts] == [alert.text]  # two service messages, one move, one alert
    assert await bot.services.access.role_of(OLD_GROUP) is None
    assert await bot.services.access.role_of(SUPERGROUP) is Role.SENDER
    assert len(await bot.services.db.messages.list_for_chat(SUPERGROUP)) == 1
    assert bot.telegram.commands({"type": "chat", "chat_id": SUPERGROUP})  # the supergroup has its menu
    assert [a.target for a in await bot.services.db.audit.list() if a.action == audit_actions.MIGRATE] == [
        str(SUPERGROUP)
    ]
    mark = bot.telegram.mark()
    bot.telegram.send_text(SUPERGROUP, "/status", user_id=ASKER, chat_type="supergroup")
    status = await bot.telegram.wait_for_message(SUPERGROUP, after=mark)
    assert "712 345 678" in status.text  # the history moved with it


async def test_a_send_refused_as_migrated_moves_the_chat_and_goes_to_the_supergroup(bot: BotHarness) -> None:
    await allow(bot, OLD_GROUP, Role.SENDER)
    mark = bot.telegram.mark()
    bot.telegram.send_text(OLD_GROUP, "/bulk 0712345678\nHello", user_id=ASKER, chat_type="group")
    preview = await bot.telegram.wait_for_message(OLD_GROUP, after=mark)
    held = bot.telegram.hold("sendMessage", chat_id=OLD_GROUP)  # the job's summary waits here
    mark = bot.telegram.mark()
    bot.telegram.press_button(OLD_GROUP, preview.message_id, button_data(preview, "Send"), user_id=ASKER)
    await bot.telegram.wait_for_request("sendMessage", lambda r: r.chat_id == OLD_GROUP, after=mark)
    # The group is upgraded while the summary is on its way, and the bot missed the service messages.
    bot.telegram.migrate_group(OLD_GROUP, SUPERGROUP, user_id=ASKER, announce=False)
    held.release()

    summary = await bot.telegram.wait_for_message(SUPERGROUP, is_summary, after=mark)
    assert "Bulk job" in summary.text
    await bot.alert(lambda m: "supergroup" in m.text and str(SUPERGROUP) in m.text)
    assert await bot.services.access.role_of(SUPERGROUP) is Role.SENDER
    [job] = await bot.services.db.jobs.list_for_chat(SUPERGROUP)
    assert job.chat_id == SUPERGROUP


async def test_a_member_posting_as_their_own_channel_does_not_make_the_preview_the_groups(bot: BotHarness) -> None:
    """Review finding: only the group itself as ``sender_chat`` (an anonymous admin) makes a preview the chat's;
    a member's personal channel identity must not let any other member confirm the send."""
    await allow(bot, GROUP, Role.SENDER)
    mark = bot.telegram.mark()
    channel = {"id": -1009999999999, "type": "channel", "title": "Someone's channel"}
    channel_bot = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
    bot.telegram.send_text(
        GROUP, "/send 0712345678 " + LONG_TEXT, user_id=ASKER, chat_type="supergroup", title="Ops",
        sender_chat=channel, from_user=channel_bot,
    )  # fmt: skip
    preview = await bot.telegram.wait_for_message(GROUP, after=mark)
    answer = await press(bot, preview, "Send", OTHER)
    assert "Only the person who asked" in answer
    assert bot.texin.received.total() == 0
