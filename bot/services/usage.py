"""The usage report: units and cost per local day and per provider, for one chat or (admins) every chat.

Units are counted the way quotas count them (``storage/quotas.py``): charged units, or the estimate while no
figure is known; failed rows only what a provider said it charged. Days are local calendar days in
``BOT_TIMEZONE``; the storage hands out UTC quarter hours and this module puts each into its day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.localtime import day_bounds, local_day
from bot.services.authorization import require
from bot.services.errors import UserInputError
from storage import Database, Role, UsageBucket

DEFAULT_DAYS = 7
MAX_DAYS = 90


@dataclass(slots=True)
class Tally:
    """Units, cost and message count of one slice (a day, a provider, a chat)."""

    units: int = 0
    messages: int = 0
    cost: Decimal | None = None

    def add(self, bucket: UsageBucket) -> None:
        self.units += bucket.units
        self.messages += bucket.messages
        if bucket.cost is not None:
            self.cost = (self.cost or Decimal(0)) + bucket.cost


@dataclass(slots=True)
class DayUsage:
    day: date
    total: Tally = field(default_factory=Tally)
    by_provider: dict[str, Tally] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UsageReport:
    first_day: date
    last_day: date
    chat_id: int | None  # None: every chat (an admin's report)
    days: list[DayUsage]  # every day of the span, oldest first, empty ones included
    by_provider: dict[str, Tally]
    by_chat: dict[int, Tally]  # what counts against each chat's quota
    total: Tally
    alerts: Tally = field(default_factory=Tally)  # alert SMS: the bot's own, in no chat's line

    @property
    def days_with_data(self) -> int:
        return sum(1 for day in self.days if day.total.messages)


class UsageService:
    def __init__(self, db: Database, *, zone: ZoneInfo, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._zone = zone
        self._clock = clock

    async def report(self, *, chat_id: int, days: int = DEFAULT_DAYS, caller_role: Role | None) -> UsageReport:
        """The last ``days`` local days, today included: this chat's, or every chat's for an admin chat."""
        require(caller_role, "usage")
        if not 1 <= days <= MAX_DAYS:
            raise UserInputError(f"Give a number of days from 1 to {MAX_DAYS}.")
        last = local_day(self._clock(), self._zone)
        first = last - timedelta(days=days - 1)
        start, _ = day_bounds(first, self._zone)
        _, end = day_bounds(last, self._zone)
        scope = None if caller_role is Role.ADMIN else chat_id
        buckets = await self._db.usage.buckets(start, end, chat_id=scope)
        return self._tally(first, last, scope, buckets)

    def _tally(self, first: date, last: date, scope: int | None, buckets: Iterable[UsageBucket]) -> UsageReport:
        days = {first + timedelta(days=n): DayUsage(first + timedelta(days=n)) for n in range((last - first).days + 1)}
        by_provider: defaultdict[str, Tally] = defaultdict(Tally)
        by_chat: defaultdict[int, Tally] = defaultdict(Tally)
        total, alerts = Tally(), Tally()
        for bucket in buckets:
            day = days.get(local_day(bucket.start, self._zone))
            if day is None:  # pragma: no cover - the query's bounds are these days' bounds
                continue
            day.total.add(bucket)
            day.by_provider.setdefault(bucket.provider, Tally()).add(bucket)
            by_provider[bucket.provider].add(bucket)
            (alerts if bucket.outside_quota else by_chat[bucket.chat_id]).add(bucket)
            total.add(bucket)
        return UsageReport(first, last, scope, list(days.values()), dict(by_provider), dict(by_chat), total, alerts)
