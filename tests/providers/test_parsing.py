"""The small readers for loosely typed provider JSON, and the backoff schedule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.providers.http import RetryPolicy
from bot.providers.parsing import number_key, provider_text, redact, to_decimal, to_int


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.3, Decimal("0.3")),
        (0.1 + 0.2, Decimal("0.30000000000000004")),  # a float is taken as printed, never rounded silently
        (92, Decimal(92)),
        ("0.30", Decimal("0.30")),
        ("KES 0.30", Decimal("0.30")),
        ("92 credits", Decimal(92)),
        ("1,234.50", Decimal("1234.50")),
        ("-5", Decimal(-5)),
        ("n/a", None),
        (None, None),
        (True, None),
        ({"amount": 1}, None),
    ],
)
def test_numbers_are_read_exactly_from_numbers_and_text(value: object, expected: Decimal | None) -> None:
    assert to_decimal(value) == expected


def test_whole_numbers_only_become_ints() -> None:
    assert to_int("3") == 3
    assert to_int(2.0) == 2
    assert to_int("2.5") is None
    assert to_int(None) is None


def test_phone_numbers_in_local_and_international_form_compare_equal() -> None:
    assert number_key("0712345678") == number_key("254712345678") == number_key("+254 712 345 678")
    assert number_key("254712345678") != number_key("254712345679")


def test_provider_text_hides_secrets_before_shortening_so_none_is_cut_in_half() -> None:
    key = "k3y-SECRET-abcdef"
    text = "x" * 190 + key + " trailing words"

    shown = provider_text(text, [key])

    assert len(shown) == 200
    assert shown.endswith("…")
    assert "k3y" not in shown
    assert provider_text(f"bad key {key}", [key]) == "bad key ***"


def test_redaction_hides_longer_secrets_first_and_short_ones_only_as_whole_words() -> None:
    assert redact("user admin key admin-key-1", ["admin", "admin-key-1"]) == "user *** key ***"
    assert redact("user bob blocked", ["bob"]) == "user *** blocked"
    assert redact("bobsleigh by bob.", ["bob"]) == "bobsleigh by ***."
    assert redact("user=bob&key=k", ["bob"]) == "user=***&key=k"
    assert redact("a user", ["a"]) == "*** user"
    assert redact("banana", ["a", ""]) == "banana"


def test_backoff_doubles_up_to_the_cap_and_jitter_only_shortens() -> None:
    policy = RetryPolicy(attempts=5, base_delay=0.5, max_delay=1.5, jitter=0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 1.5, 1.5]

    jittered = RetryPolicy(base_delay=1.0, jitter=0.5)
    pauses = [jittered.delay(1) for _ in range(50)]
    assert all(0.5 <= p <= 1.0 for p in pauses)
    assert len(set(pauses)) > 1


@pytest.mark.parametrize(("attempts", "base_delay", "jitter"), [(0, 0.5, 0.1), (3, -1.0, 0.1), (3, 0.5, 1.5)])
def test_retry_policy_refuses_nonsense(attempts: int, base_delay: float, jitter: float) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(attempts=attempts, base_delay=base_delay, jitter=jitter)
