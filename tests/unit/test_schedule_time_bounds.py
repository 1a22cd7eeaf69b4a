"""Any date a person types in ``at:`` is a time or a clear refusal: never an OverflowError out of datetime."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.schedule_time import due_at
from bot.services.errors import UserInputError

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("0001-01-01T00:00", "has already passed"),
        ("0001-01-01 00:00", "has already passed"),
        ("9999-12-31T23:59", "too far ahead"),
    ],
)
@pytest.mark.parametrize("zone", ["Africa/Nairobi", "Pacific/Kiritimati", "America/Adak"])
def test_the_ends_of_the_calendar_are_refused_in_words(typed: str, says: str, zone: str) -> None:
    with pytest.raises(UserInputError, match=says):
        due_at(typed, NOW, ZoneInfo(zone))


@given(
    day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    zone=st.sampled_from(["Africa/Nairobi", "UTC", "Pacific/Kiritimati", "America/Adak", "Asia/Kathmandu"]),
)
def test_every_date_and_time_is_a_moment_or_a_refusal(day: date, hour: int, minute: int, zone: str) -> None:
    try:
        moment = due_at(f"{day:%Y-%m-%d}T{hour:02d}:{minute:02d}", NOW, ZoneInfo(zone))
    except UserInputError:
        return
    assert moment > NOW and moment.tzinfo is UTC
