"""When something last happened, per key, for a bounded number of keys: rate limits that cost no database write.

Used where a write per event would itself be the cost being limited (answering strangers). Forgetting is safe by
design: a key pushed out by newer ones, or lost at a restart, is simply due again once.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Generic, TypeVar

K = TypeVar("K")


class RecentTimes(Generic[K]):
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._times: OrderedDict[K, datetime] = OrderedDict()

    def due(self, key: K, now: datetime, interval: timedelta) -> bool:
        """Whether ``interval`` has passed since ``key`` was last marked (or it never was)."""
        last = self._times.get(key)
        return last is None or now - last >= interval

    def mark(self, key: K, now: datetime) -> None:
        self._times[key] = now
        self._times.move_to_end(key)
        if len(self._times) > self._capacity:
            self._times.popitem(last=False)  # the least recently marked
