"""/usage end to end: units and cost per local day and provider, this chat's or (admins) every chat's, the chart
sent as a photo when three or more days have data, bad input, and a long report kept within one message."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from bot.formatting import TELEGRAM_TEXT_LIMIT, telegram_length
from storage import MessageStatus, open_database
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness
from tests.storage.conftest import FakeClock
from tests.storage.factories import a_message


async def write_rows(path: Path, rows: list[tuple[int, int, str, int, Decimal | None]]) -> None:
    """(chat, days ago, provider, units, cost per row): rows written on those days by a second connection."""
    clock = FakeClock(datetime.now(UTC))
    async with await open_database(path, clock=clock) as db:
        for chat_id, days_ago, provider, units, cost in rows:
            clock.now = datetime.now(UTC) - timedelta(days=days_ago)
            message = a_message(chat_id=chat_id, provider=provider, status=MessageStatus.SENT, units=units, cost=cost)
            await db.messages.add(message)


def is_photo(message: object) -> bool:
    return getattr(message, "photo", None) is not None


async def test_usage_shows_this_chats_units_and_cost_per_day_and_provider_then_a_chart(
    bot: BotHarness, database_path: Path
) -> None:
    await write_rows(
        database_path,
        [
            (SENDER, 0, "texin", 2, Decimal("0.60")),
            (SENDER, 0, "sms254", 1, None),
            (SENDER, 1, "texin", 5, Decimal("1.50")),
            (SENDER, 2, "texin", 3, Decimal("0.90")),
            (SENDER, 20, "texin", 100, None),  # outside the 7 days
            (ADMIN, 0, "texin", 50, None),  # another chat
        ],
    )
    mark = bot.telegram.mark()

    answer = await bot.say(SENDER, "/usage")

    assert "Usage of this chat" in answer.text
    assert "Total: 11 units, KES 3.00" in answer.text
    assert "By provider: 254sms 1 unit; Texin 10 units, KES 3.00" in answer.text
    today = datetime.now(UTC).astimezone(bot.settings.timezone).date()
    assert f"{today:%a %d %b}: 3 units, KES 0.60 (254sms 1, Texin 2)" in answer.text
    assert f"{today - timedelta(days=1):%a %d %b}: 5 units, KES 1.50 (Texin 5)" in answer.text
    assert "100" not in answer.text and "50 units" not in answer.text
    chart = await bot.telegram.wait_for_message(SENDER, is_photo, after=mark)
    assert chart.photo is not None
    image = Image.open(io.BytesIO(chart.photo.content))
    assert (image.format, image.size) == ("PNG", (640, 320))


async def test_admins_see_every_chat_with_a_total_per_chat(bot: BotHarness, database_path: Path) -> None:
    await write_rows(database_path, [(SENDER, 0, "texin", 4, None), (ADMIN, 1, "texin", 6, None)])
    await bot.say(SENDER, "/send 0712345678 Hello")  # 1 more unit, through the bot

    answer = await bot.say(ADMIN, "/usage 3")

    assert "Usage of every chat" in answer.text and "Total: 11 units" in answer.text
    assert f"{ADMIN}: 6 units" in answer.text and f"{SENDER}: 5 units" in answer.text
    assert answer.text.index(f"{ADMIN}: 6 units") < answer.text.index(f"{SENDER}: 5 units")  # largest first


async def test_fewer_than_three_days_with_data_get_the_table_and_no_chart(bot: BotHarness) -> None:
    await bot.say(VIEWER, "/usage")  # nothing yet
    await bot.say(SENDER, "/send 0712345678 Hello")
    answer = await bot.say(SENDER, "/usage 30")
    await bot.settle()
    assert "Total: 1 unit" in answer.text
    assert not any(is_photo(m) for m in bot.telegram.messages(SENDER) + bot.telegram.messages(VIEWER))
    assert "Nothing was sent in these days" in bot.telegram.messages(VIEWER)[-1].text


@pytest.mark.parametrize("argument", ["0", "91", "week", "3 4", "-2"])
async def test_a_bad_number_of_days_is_explained(bot: BotHarness, argument: str) -> None:
    answer = await bot.say(SENDER, f"/usage {argument}")
    assert "Give a number of days from 1 to 90" in answer.text and "Usage: /usage" in answer.text


async def test_a_report_of_many_chats_is_cut_to_one_message_keeping_the_totals(
    bot: BotHarness, database_path: Path
) -> None:
    await write_rows(database_path, [(10_000 + n, n % 90, "texin", 1, None) for n in range(400)])

    answer = await bot.say(ADMIN, "/usage 90")

    assert telegram_length(answer.html) <= TELEGRAM_TEXT_LIMIT
    assert "Total: 400 units" in answer.text and "more lines: ask for fewer days" in answer.text
