"""Logging for the process: one format, secrets masked in every line, httpx's request lines kept off INFO.

httpx logs every request URL at INFO, and Telegram's token is part of those URLs: its logger stays at WARNING
(python-telegram-bot's examples do the same). The masking formatter is the second line of defence, for
tracebacks that quote a URL or a request. python-telegram-bot's own traceback when its start-up call fails is
dropped: ``bot.cli`` says it in one line. A failure repeated in a loop is written once a minute
(``bot/log_repeats.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.log_repeats import RepeatFilter


class RedactingFormatter(logging.Formatter):
    def __init__(self, redact: Callable[[str], str], fmt: str) -> None:
        super().__init__(fmt)
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class StartupAbortFilter(logging.Filter):
    """Drops PTB's "Network Retry Loop (Bootstrap …): … Aborting." record and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("telegram"):
            return True
        text = record.getMessage()
        return not (text.startswith("Network Retry Loop (Bootstrap") and "Aborting" in text)


def configure_logging(level: str, redact: Callable[[str], str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(redact, "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(StartupAbortFilter())
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # uvicorn writes no access log here (bot/web/server.py); its other INFO lines are noise next to ours.
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
