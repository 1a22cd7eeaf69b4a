"""Local time for people: what they type and read is in ``BOT_TIMEZONE``, what is stored is UTC.

Storage keeps aware UTC datetimes (``storage/codec.py``); these helpers convert at the edges, so a "day" for
quotas and ``/usage`` is the local calendar day, not UTC's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """``moment`` (aware) as wall-clock time in ``zone``."""
    return moment.astimezone(zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar day in ``zone`` that contains ``moment``."""
    return moment.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC start (inclusive) and end (exclusive) of the local calendar ``day``; DST days are 23 or 25 h long."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def show_local(moment: datetime, zone: ZoneInfo) -> str:
    """``2026-12-01 08:00 EAT``: the form replies use for a local time."""
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or zone.key}"
