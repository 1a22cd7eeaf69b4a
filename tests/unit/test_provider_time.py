"""Providers' timestamps in /status: shown in BOT_TIMEZONE when they name their zone, as they came otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.handlers.status import provider_time
from bot.localtime import show_local

NAIROBI = ZoneInfo("Africa/Nairobi")
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(MOMENTS)
def test_a_utc_or_offset_time_is_shown_in_the_bots_zone(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    assert provider_time(f"{moment:%Y-%m-%d %H:%M:%S} UTC", NAIROBI) == show_local(moment, NAIROBI)
    assert provider_time(moment.isoformat(), NAIROBI) == show_local(moment, NAIROBI)


@given(MOMENTS)
def test_a_time_without_a_zone_is_left_as_it_came(moment: datetime) -> None:
    text = f"{moment:%Y-%m-%d %H:%M:%S}"
    assert provider_time(text, NAIROBI) == text


@given(st.text(max_size=40))
def test_any_text_comes_back_as_a_string(text: str) -> None:
    assert isinstance(provider_time(text, NAIROBI), str)
