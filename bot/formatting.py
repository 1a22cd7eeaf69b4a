"""HTML for Telegram that Telegram accepts: escaped, and never over its 4,096-character limit.

Lengths are measured on the HTML source in UTF-16 code units, which is never less than what Telegram counts
after parsing entities, so a text that fits here fits there.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.localtime import show_local

TELEGRAM_TEXT_LIMIT = 4096
# Room kept for a closing line ("…and 312 more") and for markup added around a body.
SAFE_TEXT_LIMIT = 3900


def esc(value: object) -> str:
    """Escape any user or provider text for HTML parse mode."""
    return html.escape(str(value), quote=False)


def telegram_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int) -> str:
    """Cut plain text (before escaping) to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def join_within_limit(
    head: str,
    items: Sequence[str],
    *,
    more: Callable[[int], str],
    limit: int = SAFE_TEXT_LIMIT,
    separator: str = "\n",
) -> str:
    """``head`` followed by as many ``items`` as fit, then ``more(left_out)`` if some did not."""
    text = head
    used = telegram_length(text)
    for index, item in enumerate(items):
        piece = separator + item
        size = telegram_length(piece)
        reserve = telegram_length(separator + more(len(items) - index))
        if used + size + (reserve if index < len(items) - 1 else 0) > limit:
            return text + separator + more(len(items) - index)
        text += piece
        used += size
    return text


def money(amount: Decimal | None, currency: str = "KES") -> str:
    if amount is None:
        return "not known"
    return f"{currency} {amount.quantize(Decimal('0.01')):,}"


def credits(amount: Decimal) -> str:
    """Credits without a pointless ``.00`` (providers count whole SMS units)."""
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount:,}"


def credit_units(amount: Decimal) -> str:
    """``1 unit``, ``12 units``, ``2.5 units``: a balance in words."""
    return f"{credits(amount)} {'unit' if amount == 1 else 'units'}"


def when(moment: datetime, zone: ZoneInfo) -> str:
    """``moment`` as people read it: local time in ``zone`` (``BOT_TIMEZONE``) with the zone's name."""
    return show_local(moment, zone)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"
