"""Kenyan mobile numbers as people type them."""

from __future__ import annotations

import pytest

from bot.phone import InvalidPhoneNumberError, display_phone, normalise_phone, read_recipients, split_numbers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0712345678", "254712345678"),
        ("0112345678", "254112345678"),
        ("254712345678", "254712345678"),
        ("254112345678", "254112345678"),
        ("+254712345678", "254712345678"),
        ("+254 712 345 678", "254712345678"),
        ("0712-345-678", "254712345678"),
        ("0712 345 678", "254712345678"),
        ("00254712345678", "254712345678"),
        ("712345678", "254712345678"),
        (" 0790123456 ", "254790123456"),
    ],
)
def test_accepted_forms_normalise_to_twelve_digits(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason_part"),
    [
        ("", "empty"),
        ("hello", "not a phone number"),
        ("07123", "too short"),
        ("07123456789", "too long"),
        ("0201234567", "not a mobile number"),
        ("+447911123456", "not a Kenyan number"),
        ("0800123456", "not a valid Kenyan number"),
        ("0812345678", "mobile numbers start 07 or 01"),
        ("0712x45678", "not a phone number"),
    ],
)
def test_refusals_carry_a_reason(raw: str, reason_part: str) -> None:
    with pytest.raises(InvalidPhoneNumberError) as caught:
        normalise_phone(raw)
    assert reason_part in caught.value.reason
    assert caught.value.raw == raw


def test_read_recipients_keeps_order_refusals_and_duplicates() -> None:
    result = read_recipients(["0712345678", "0722000000", "+254712345678", "123", "0722000000"])
    assert result.valid == ("254712345678", "254722000000")
    assert [r.raw for r in result.refused] == ["123"]
    assert result.duplicates == ("254712345678", "254722000000")


def test_split_numbers_on_commas_spaces_and_newlines() -> None:
    assert split_numbers("0712345678, 0722000000;0733000000\n0744000000  0755000000") == [
        "0712345678",
        "0722000000",
        "0733000000",
        "0744000000",
        "0755000000",
    ]


def test_display_phone_groups_digits() -> None:
    assert display_phone("254712345678") == "+254 712 345 678"
