"""A logging filter that lets one line of a repeated failure through per window, then says how many it held back.

Something failing in a loop (``accept()`` out of file handles, retried every second by asyncio, with its
traceback) once wrote 360,000 lines. A record equal to one already written in the last ``window`` seconds (same
logger, level, text and exception type) is dropped and counted; the next one after the window carries the count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

WINDOW_SECONDS = 60.0
_MAX_KEYS = 1000  # distinct lines remembered; the oldest are forgotten first

_Key = tuple[str, int, str, str]


class RepeatFilter(logging.Filter):
    """Drops a record repeated within ``window`` seconds; the first after the window says how many were dropped."""

    def __init__(self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._window = window
        self._clock = clock
        self._seen: dict[_Key, tuple[float, int]] = {}  # key → (when last let through, how many held back since)

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, record.levelno, record.getMessage()[:500], error)
        now = self._clock()
        shown = self._seen.get(key)
        if shown is not None and now - shown[0] < self._window:
            self._seen[key] = (shown[0], shown[1] + 1)
            return False
        self._seen.pop(key, None)
        if len(self._seen) >= _MAX_KEYS:
            del self._seen[next(iter(self._seen))]
        self._seen[key] = (now, 0)
        if shown is not None and shown[1]:
            record.msg = f"{record.getMessage()} (and {shown[1]:,} more like it in {self._window:.0f} s, not written)"
            record.args = None
        return True
