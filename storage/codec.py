"""How Python values are written to SQLite columns and read back.

Timestamps are ISO-8601 text in UTC with microseconds, so they sort as text and read well in a sqlite3 shell.
Money is decimal text, because SQLite's REAL would turn 0.80 into 0.8000000000000000444 and sums would drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

Clock = Callable[[], datetime]
T = TypeVar("T")

# Well under SQLite's limit on parameters per statement (999 before 3.32).
MAX_IN_PARAMETERS = 500


def utc_now() -> datetime:
    return datetime.now(UTC)


def time_to_text(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the clock must return timezone-aware times")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def text_to_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def optional_text_to_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def decimal_to_text(amount: Decimal | None) -> str | None:
    if amount is None:
        return None
    if not amount.is_finite():
        raise ValueError(f"cost must be a finite number, not {amount}")
    return str(amount)


def text_to_decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def placeholders(count: int) -> str:
    """``?, ?, ?`` for an IN list: only the number of markers varies, values stay parameters."""
    if count < 1:
        raise ValueError("an IN list needs at least one value")
    return ", ".join("?" * count)


def chunks(items: Sequence[T], size: int = MAX_IN_PARAMETERS) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_page(limit: int, offset: int) -> None:
    # SQLite reads a negative LIMIT as "no limit": a bug upstream would dump a whole table into a chat.
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must not be negative (got {limit}, {offset})")
