"""Reading ``in:<duration>`` and ``at:<time>`` from /send and /bulk, and saying a due time back to people.

What people type is local wall-clock time in ``BOT_TIMEZONE``; what comes out is an aware UTC moment. A local time
that does not exist (the hour skipped when clocks go forward) is refused by name rather than silently moved; an
ambiguous one (the hour repeated when clocks go back) is read as its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.localtime import show_local
from bot.services.errors import UserInputError

IN_PREFIX = "in:"
AT_PREFIX = "at:"
# Far enough for "next month's reminder", near enough that a typo in the year is caught.
MAX_AHEAD = timedelta(days=60)

_DURATION = re.compile(r"(?:(\d{1,5})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?(?:(\d{1,7})s)?")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](.+)")

DURATION_HELP = "Write the delay like in:90s, in:10m, in:2h, in:1d or in:1h30m."
AT_HELP = "Write the time like at:18:30, at:2026-12-01T08:00 or at:2026-12-01 08:00."


def is_schedule_token(word: str) -> bool:
    lowered = word.lower()
    return lowered.startswith(IN_PREFIX) or lowered.startswith(AT_PREFIX)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``10m``, ``2h``, ``1d``, ``1h30m`` (units in the order d h m s, each at most once)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None or not any(match.groups()):
        raise UserInputError(f"“{text[:20]}” is not a delay. {DURATION_HELP}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    if days > MAX_AHEAD.days:  # before building a timedelta that may not fit
        raise UserInputError(_too_far())
    delay = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if delay <= timedelta(0):
        raise UserInputError(f"The delay must be more than zero. {DURATION_HELP}")
    if delay > MAX_AHEAD:
        raise UserInputError(_too_far())
    return delay


def due_in(text: str, now: datetime) -> datetime:
    """``now`` plus the typed delay."""
    return now + parse_duration(text)


def due_at(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """``18:30`` (today, or tomorrow when it has passed), ``2026-12-01T08:00`` or ``2026-12-01 08:00``; UTC."""
    value = text.strip()
    clock = _CLOCK.fullmatch(value)
    if clock is not None:
        wanted = time(int(clock.group(1)), int(clock.group(2)))
        today = now.astimezone(zone).date()
        for day in (today, today + timedelta(days=1)):
            moment = _local_moment(day, wanted, zone)
            if moment > now:
                return moment
        raise UserInputError(f"{wanted:%H:%M} does not come in the next two days in {zone.key}.")  # pragma: no cover
    both = _DATE_TIME.fullmatch(value)
    if both is None:
        raise UserInputError(f"“{value[:30]}” is not a time. {AT_HELP}")
    day = _read_date(both.group(1))
    today = now.astimezone(zone).date()
    # Before building the moment: year 1 or 9999 minus the zone's offset is out of datetime's range.
    if day < today - timedelta(days=1):
        raise UserInputError(f"{day:%Y-%m-%d} has already passed.")
    if day > today + MAX_AHEAD + timedelta(days=1):
        raise UserInputError(_too_far())
    clock = _CLOCK.fullmatch(both.group(2))
    if clock is None:
        raise UserInputError(f"“{both.group(2)[:10]}” is not a time of day (HH:MM). {AT_HELP}")
    moment = _local_moment(day, time(int(clock.group(1)), int(clock.group(2))), zone)
    if moment <= now:
        raise UserInputError(f"{show_local(moment, zone)} has already passed.")
    if moment - now > MAX_AHEAD:
        raise UserInputError(_too_far())
    return moment


def _read_date(text: str) -> date:
    match = _DATE.fullmatch(text)
    if match is None:
        raise UserInputError(f"“{text[:12]}” is not a date (YYYY-MM-DD). {AT_HELP}")
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise UserInputError(f"{text} is not a date of the calendar.") from None


def _local_moment(day: date, wanted: time, zone: ZoneInfo) -> datetime:
    """The UTC moment of a local wall-clock time; refuses one the zone skips (clocks going forward)."""
    local = datetime.combine(day, wanted, tzinfo=zone)
    moment = local.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise UserInputError(
            f"{day:%Y-%m-%d} {wanted:%H:%M} does not exist in {zone.key}: the clocks skip that hour. Pick another time."
        )
    return moment


def _too_far() -> str:
    return f"That is too far ahead: schedules go at most {MAX_AHEAD.days} days ahead."


def until_text(delta: timedelta) -> str:
    """``in 2 h 5 min``, ``in 45 s``, ``in 3 days 4 h``: how far away a due time is, to the nearest minute (the
    reply to ``in:1h`` is written a few milliseconds later: "in 1 h", not "in 59 min")."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"in {seconds} s"
    minutes = (seconds + 30) // 60
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"in {hours} h {minutes} min" if minutes else f"in {hours} h"
    days, hours = divmod(hours, 24)
    word = "day" if days == 1 else "days"
    return f"in {days} {word} {hours} h" if hours else f"in {days} {word}"


def when_text(due: datetime, now: datetime, zone: ZoneInfo) -> str:
    """``2026-12-01 08:00 EAT (in 2 h 5 min)``."""
    return f"{show_local(due, zone)} ({until_text(due - now)})"
