"""Ids typed in commands and carried by buttons: ASCII digits only, and few enough to fit SQLite's integers.

``str.isdigit()`` accepts '²' and '③' (then ``int()`` raises) and ``int()`` accepts '٣' and '1_000'; a 23-digit
number passes both and overflows SQLite. Everything that reads an id from a person goes through here instead.
"""

from __future__ import annotations

import re

# 18 digits stay below 2**63, the largest integer SQLite stores.
_ID = re.compile(r"[0-9]{1,18}")
_CHAT_ID = re.compile(r"-?[0-9]{1,18}")


def parse_id(text: str) -> int | None:
    """A message, job or count number (``12``, ``#12``), or ``None`` when ``text`` is not one."""
    value = text.strip().removeprefix("#")
    return int(value) if _ID.fullmatch(value) else None


def parse_chat_id(text: str) -> int | None:
    """A Telegram chat id; groups have negative ones (``-1001234567890``)."""
    value = text.strip()
    return int(value) if _CHAT_ID.fullmatch(value) else None
