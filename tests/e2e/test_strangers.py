"""Strangers cost nothing: one refusal per ten minutes (``/start`` may show the chat id once a minute), one audit
row, and the admins hear of many new intruders in one folded message, not one each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import audit_actions
from tests.e2e.harness import ADMIN, STRANGER, BotHarness, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def stranger_bot(
    telegram: FakeTelegram,
    texin: TexinFakeServer,
    sms254: Sms254FakeServer,
    database_path: Path,
    clock: Clock,
) -> AsyncIterator[BotHarness]:
    application, settings = await start_bot(telegram, texin, sms254, database_path, clock=clock)
    async with running(application):
        yield BotHarness(telegram, texin, sms254, application, settings)


async def settled(bot: BotHarness) -> None:
    """Every update sent so far has been fetched by the bot and fully handled."""
    for _ in range(1000):
        if not bot.telegram.pending_updates():
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError(f"updates never fetched: {bot.telegram.pending_updates()}")
    await asyncio.wait_for(bot.application.update_queue.join(), timeout=10)


def refusals_to(bot: BotHarness, chat_id: int) -> list[SentMessage]:
    return [m for m in bot.telegram.messages(chat_id) if "not on its list" in m.text]


async def refused_audit_rows(bot: BotHarness) -> int:
    return sum(a.action == audit_actions.REFUSED for a in await bot.services.db.audit.list(limit=100))


def intruder_alerts(bot: BotHarness) -> list[SentMessage]:
    return [m for m in bot.telegram.messages(ADMIN) if "refused" in m.text.lower()]


async def test_a_stranger_sending_five_commands_gets_one_refusal_and_one_audit_row(
    stranger_bot: BotHarness, clock: Clock
) -> None:
    bot = stranger_bot
    for text in ["/send 0712345678 hi", "/bulk 0712345678\nhi", "/balance", "/status", "/history"]:
        bot.telegram.send_text(STRANGER, text)
    await settled(bot)
    [refusal] = refusals_to(bot, STRANGER)
    assert str(STRANGER) in refusal.text
    assert await refused_audit_rows(bot) == 1
    assert len(intruder_alerts(bot)) == 1

    clock.now += timedelta(minutes=10)  # the next window: answered, audited once more
    for _ in range(3):
        bot.telegram.send_text(STRANGER, "/balance")
    await settled(bot)
    assert len(refusals_to(bot, STRANGER)) == 2
    assert await refused_audit_rows(bot) == 2
    assert len(intruder_alerts(bot)) == 1  # the admins hear of a chat once an hour
    assert bot.texin.requests == [] and bot.sms254.requests == []


async def test_start_twice_within_a_minute_is_answered_once_and_again_a_minute_later(
    stranger_bot: BotHarness, clock: Clock
) -> None:
    bot = stranger_bot
    first = await bot.say(STRANGER, "/start")
    assert str(STRANGER) in first.text
    bot.telegram.send_text(STRANGER, "/start")
    await settled(bot)
    assert len(refusals_to(bot, STRANGER)) == 1

    clock.now += timedelta(seconds=61)
    again = await bot.say(STRANGER, "/start")
    assert str(STRANGER) in again.text
    bot.telegram.send_text(STRANGER, "/send 0712345678 hi")  # only /start may re-show the id within ten minutes
    await settled(bot)
    assert len(refusals_to(bot, STRANGER)) == 2
    assert await refused_audit_rows(bot) == 1


async def test_thirty_stranger_groups_make_at_most_two_intruder_alerts_with_the_count(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, settings = await start_bot(telegram, texin, sms254, database_path, alert_fold_window=1.0)
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        groups = [-100_500_000 - n for n in range(30)]
        for n, group in enumerate(groups):
            telegram.send_text(group, "/start", chat_type="supergroup", user_id=7_000 + n)
        await settled(bot)
        assert all(len(refusals_to(bot, group)) == 1 for group in groups)  # each group still learns its id
        folded = await bot.alert(lambda m: "29 more refused chats" in m.text, timeout=10)
    alerts = intruder_alerts(bot)
    assert len(alerts) == 2, [m.text for m in alerts]
    assert "and 9 more" in folded.text  # 20 ids named, the rest counted
    named = [g for g in groups if any(f"<code>{g}</code>" in m.html for m in alerts)]
    assert len(named) == 21


async def test_intruders_folded_at_shutdown_are_still_told(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, settings = await start_bot(telegram, texin, sms254, database_path, alert_fold_window=600)
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        for n in range(3):
            telegram.send_text(-100_600_000 - n, "/start", chat_type="group", user_id=8_000 + n)
        await settled(bot)
        assert len(intruder_alerts(bot)) == 1
    [folded] = [m for m in intruder_alerts(bot) if "2 more refused chats" in m.text]
    assert "in the last 10 min" in folded.text
