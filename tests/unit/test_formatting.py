"""Texts we build for Telegram stay valid HTML and within its length limit."""

from __future__ import annotations

from decimal import Decimal

from bot.formatting import (
    TELEGRAM_TEXT_LIMIT,
    credits,
    esc,
    join_within_limit,
    money,
    telegram_length,
)


def test_esc_neutralises_markup() -> None:
    assert esc("<b>5 & 6</b>") == "&lt;b&gt;5 &amp; 6&lt;/b&gt;"


def test_join_within_limit_keeps_everything_when_it_fits() -> None:
    text = join_within_limit("Head", ["a", "b"], more=lambda n: f"…and {n} more")
    assert text == "Head\na\nb"


def test_join_within_limit_cuts_and_says_how_many_were_left_out() -> None:
    items = [f"0712{i:06d}: not a valid Kenyan number" for i in range(500)]
    text = join_within_limit("Refused:", items, more=lambda n: f"…and {n} more")
    assert telegram_length(text) <= TELEGRAM_TEXT_LIMIT
    shown = text.count("not a valid")
    assert text.endswith(f"…and {500 - shown} more")
    assert 0 < shown < 500


def test_money_and_credits() -> None:
    assert money(Decimal("0.3")) == "KES 0.30"
    assert money(Decimal("1234.5")) == "KES 1,234.50"
    assert money(None) == "not known"
    assert credits(Decimal("8823")) == "8,823"
    assert credits(Decimal("12.5")) == "12.5"
