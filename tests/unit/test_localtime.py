"""Local days and times in BOT_TIMEZONE: the edges between stored UTC and what people read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, load_settings
from bot.localtime import day_bounds, local_day, show_local

NAIROBI = ZoneInfo("Africa/Nairobi")


def test_a_nairobi_day_starts_at_21_utc_the_day_before() -> None:
    start, end = day_bounds(date(2026, 12, 1), NAIROBI)
    assert start == datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 1, 21, 0, tzinfo=UTC)


def test_late_utc_evening_is_already_tomorrow_in_nairobi() -> None:
    assert local_day(datetime(2026, 11, 30, 22, 30, tzinfo=UTC), NAIROBI) == date(2026, 12, 1)


def test_a_dst_day_is_23_hours_long() -> None:
    start, end = day_bounds(date(2026, 3, 29), ZoneInfo("Europe/Berlin"))
    assert (end - start).total_seconds() == 23 * 3600


def test_shown_with_the_zone_abbreviation() -> None:
    assert show_local(datetime(2026, 12, 1, 5, 0, tzinfo=UTC), NAIROBI) == "2026-12-01 08:00 EAT"


def test_bot_timezone_defaults_to_nairobi_and_refuses_unknown_zones() -> None:
    base = {"_env_file": None, "telegram_bot_token": "1:x", "admin_chat_ids": "1", "texin_api_key": "k"}
    assert load_settings(**base).timezone.key == "Africa/Nairobi"
    with pytest.raises(ConfigError) as refused:
        load_settings(**base, bot_timezone="Mars/Olympus")
    assert refused.value.problems == [
        "BOT_TIMEZONE: unknown time zone 'Mars/Olympus'; use an IANA name such as Africa/Nairobi"
    ]
