"""``@name`` tokens in /bulk's recipient list: read as recipients, never as the start of the message."""

from __future__ import annotations

from bot.handlers.arguments import split_bulk_text
from bot.services.group_audience import is_group_token


def test_groups_and_numbers_on_the_first_line_then_the_message() -> None:
    assert split_bulk_text("@oncall @Managers 0712345678\nServer down") == (
        ["@oncall", "@Managers", "0712345678"],
        "Server down",
    )


def test_a_group_then_the_message_on_the_same_line() -> None:
    assert split_bulk_text("@oncall Water off tomorrow") == (["@oncall"], "Water off tomorrow")


def test_group_token_shape() -> None:
    assert is_group_token("@on-call_2")
    assert not is_group_token("@") and not is_group_token("oncall") and not is_group_token("@bad.name")
    assert not is_group_token("@" + "a" * 33)
