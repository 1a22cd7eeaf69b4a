"""A failure logged in a loop is written once per window, and the next line after it says how many were held."""

from __future__ import annotations

import io
import logging

from bot.log_repeats import RepeatFilter


def test_a_repeated_failure_is_written_once_per_window_with_the_count() -> None:
    now = [0.0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RepeatFilter(window=60, clock=lambda: now[0]))
    log = logging.getLogger("tests.repeats")
    log.addHandler(handler)
    log.propagate = False
    try:
        for second in range(3600):  # an hour of accept() failing every second, with its traceback
            now[0] = float(second)
            try:
                raise OSError(24, "Too many open files")
            except OSError:
                log.exception("socket.accept() out of system resource")
            if second % 600 == 0:
                log.error("another failure %d", second)  # different lines are not held back
    finally:
        log.removeHandler(handler)
    lines = [line for line in stream.getvalue().splitlines() if "socket.accept()" in line]
    assert len(lines) == 60
    assert "(and 59 more like it in 60 s, not written)" in lines[1]
    assert stream.getvalue().count("another failure") == 6
