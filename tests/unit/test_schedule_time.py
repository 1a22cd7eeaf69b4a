"""Reading in:/at: for scheduled sends: examples of each form and refusal; properties (no crash, round trips)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.config import Settings
from bot.handlers.arguments import parse_send, take_leading
from bot.localtime import show_local
from bot.providers.types import ProviderName
from bot.schedule_time import MAX_AHEAD, due_at, due_in, parse_duration, until_text
from bot.services.errors import UserInputError
from bot.services.registry import ProviderRegistry, build_registry
from tests.fakes.texin_server import TexinFakeServer

NAIROBI = ZoneInfo("Africa/Nairobi")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # 15:00 in Nairobi
PROPERTY = settings(max_examples=300, deadline=None)


@pytest.fixture(scope="module")
def registry() -> Iterator[ProviderRegistry]:
    with TexinFakeServer() as texin:
        built = build_registry(
            Settings(  # type: ignore[call-arg]
                _env_file=None,
                telegram_bot_token=SecretStr("1:x"),
                admin_chat_ids=[1],
                texin_api_key=SecretStr(texin.api_key),
                texin_base_url=texin.base_url,
            )
        )
        yield built
        asyncio.run(built.aclose())


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1D2H", timedelta(days=1, hours=2)),
    ],
)
def test_delays(typed: str, expected: timedelta) -> None:
    assert parse_duration(typed) == expected


@pytest.mark.parametrize("typed", ["", "10", "m", "10x", "0m", "30m1h", "-5m", "61d", "1h 5m", "1.5h"])
def test_bad_delays_are_refused_with_the_forms_to_use(typed: str) -> None:
    with pytest.raises(UserInputError) as refused:
        parse_duration(typed)
    assert "in:" in str(refused.value) or "ahead" in str(refused.value)


def test_a_clock_time_later_today_is_today_and_an_earlier_one_tomorrow() -> None:
    assert show_local(due_at("18:30", NOW, NAIROBI), NAIROBI) == "2026-11-28 18:30 EAT"
    assert show_local(due_at("08:00", NOW, NAIROBI), NAIROBI) == "2026-11-29 08:00 EAT"
    assert show_local(due_at("15:00", NOW, NAIROBI), NAIROBI) == "2026-11-29 15:00 EAT"  # now is not "later"


def test_a_date_and_time_in_either_form() -> None:
    expected = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert due_at("2026-12-01T08:00", NOW, NAIROBI) == expected
    assert due_at("2026-12-01 08:00", NOW, NAIROBI) == expected


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("2026-11-27 08:00", "has already passed"),
        ("2027-06-01 08:00", "too far ahead"),
        ("2026-02-30 08:00", "not a date of the calendar"),
        ("25:00", "not a time"),
        ("2026-12-01T8", "not a time of day"),
        ("tomorrow", "not a time"),
    ],
)
def test_bad_times_are_refused_saying_why(typed: str, says: str) -> None:
    with pytest.raises(UserInputError) as refused:
        due_at(typed, NOW, NAIROBI)
    assert says in str(refused.value)


def test_a_local_time_the_clocks_skip_is_refused_by_name() -> None:
    now = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
    with pytest.raises(UserInputError) as refused:
        due_at("2027-03-28 02:30", now, BERLIN)
    assert "does not exist in Europe/Berlin" in str(refused.value)


def test_until_text() -> None:
    assert until_text(timedelta(hours=2, minutes=5, seconds=29)) == "in 2 h 5 min"
    assert until_text(timedelta(minutes=59, seconds=59, milliseconds=990)) == "in 1 h"  # in:1h, answered just after
    assert until_text(timedelta(seconds=45)) == "in 45 s"
    assert until_text(timedelta(days=3, hours=4)) == "in 3 days 4 h"


def test_options_come_in_any_order_with_via(registry: ProviderRegistry) -> None:
    for typed in ("in:10m via:texin 0712345678 Hi", "via:texin in:10m 0712345678 Hi"):
        leading = take_leading(typed, registry, now=NOW, zone=NAIROBI)
        assert (leading.provider, leading.due, leading.rest) == (
            ProviderName.TEXIN,
            NOW + timedelta(minutes=10),
            "0712345678 Hi",
        )
    spaced = parse_send("at:2026-12-01 08:00 0712345678 Hi", registry, now=NOW, zone=NAIROBI)
    assert (spaced.due, spaced.number, spaced.text) == (datetime(2026, 12, 1, 5, 0, tzinfo=UTC), "0712345678", "Hi")


def test_two_times_are_refused(registry: ProviderRegistry) -> None:
    with pytest.raises(UserInputError, match="at most one in: or at:"):
        take_leading("in:10m at:18:00 0712345678 Hi", registry, now=NOW, zone=NAIROBI)


def test_without_a_clock_in_and_at_stay_part_of_the_message(registry: ProviderRegistry) -> None:
    with pytest.raises(UserInputError):
        parse_send("in:10m 0712345678 Hi", registry)  # the old reading: "in:10m" is no number


# Properties.

T = TypeVar("T")


def read_or_refusal(call: Callable[[], T]) -> T | UserInputError:
    """The value, or the refusal a person would read; any other exception escapes and fails the test."""
    try:
        return call()
    except UserInputError as refusal:
        return refusal


@PROPERTY
@given(typed=st.text(max_size=12) | st.from_regex(r"\d{0,3}[dhms]?\d{0,3}[dhms]?", fullmatch=True))
def test_any_delay_text_is_read_or_refused_with_a_message(typed: str) -> None:
    delay = read_or_refusal(lambda: parse_duration(typed))
    if isinstance(delay, UserInputError):
        assert str(delay).strip()
        return
    assert timedelta(0) < delay <= MAX_AHEAD


@PROPERTY
@given(days=st.integers(0, 59), hours=st.integers(0, 23), minutes=st.integers(0, 59), seconds=st.integers(0, 59))
def test_a_delay_written_back_reads_the_same(days: int, hours: int, minutes: int, seconds: int) -> None:
    delay = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    written = "".join(f"{n}{unit}" for n, unit in parts if n)
    if not written:
        return
    assert parse_duration(written) == delay
    assert due_in(written, NOW) - NOW == delay


ZONES = st.sampled_from([NAIROBI, BERLIN, ZoneInfo("America/New_York"), ZoneInfo("UTC")])


@PROPERTY
@given(
    ahead=st.integers(61, 59 * 24 * 60),  # minutes from now
    zone=ZONES,
    now=st.datetimes(datetime(2026, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
)
def test_a_due_time_shown_to_people_reads_back_as_the_same_moment(ahead: int, zone: ZoneInfo, now: datetime) -> None:
    now = now.replace(second=0, microsecond=0)
    moment = now + timedelta(minutes=ahead)
    shown = show_local(moment, zone)  # "2026-12-01 08:00 EAT"
    typed = " ".join(shown.split()[:2])
    try:
        read = due_at(typed, now, zone)
    except UserInputError:
        # Only the repeated hour when clocks go back reads as its first occurrence; never a refusal otherwise.
        raise AssertionError(f"{typed} in {zone.key} was refused") from None
    assert read == moment or (read < moment and moment - read <= timedelta(hours=1))


@PROPERTY
@given(typed=st.text(max_size=25), zone=ZONES)
def test_any_at_text_is_read_or_refused_with_a_message(typed: str, zone: ZoneInfo) -> None:
    moment = read_or_refusal(lambda: due_at(typed, NOW, zone))
    if isinstance(moment, UserInputError):
        assert str(moment).strip()
        return
    assert NOW < moment <= NOW + MAX_AHEAD
