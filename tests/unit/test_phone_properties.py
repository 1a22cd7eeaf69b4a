"""Properties of phone normalisation, over any text a person could type or paste."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.phone import InvalidPhoneNumberError, display_phone, normalise_phone

NORMALISED = re.compile(r"254[17][0-9]{8}")
PROPERTY = settings(max_examples=200, deadline=None)

# Random text rarely looks like a number: mix in the pieces numbers are made of (also non-ASCII digits).
NUMBER_PIECES = st.sampled_from(["0", "7", "1", "2", "254", "+", "00", " ", "-", "(", ")", ".", "/", "٣", "０", "²"])
PHONE_LIKE = st.lists(st.one_of(NUMBER_PIECES, st.characters()), max_size=20).map("".join)
# Digit strings of about the right length in every prefix form: fixed lines, short codes, foreign-looking ones.
DIGITS = st.builds(
    lambda lead, digits: lead + digits,
    st.sampled_from(["", "0", "+254", "254", "00254", "+"]),
    st.text(alphabet="0123456789", min_size=7, max_size=11),
)
ANY_TEXT = st.one_of(st.text(), PHONE_LIKE, DIGITS)
# Valid mobile numbers by construction: 07XX and 011X/010X prefixes, the rest any digits.
NATIONAL = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["70", "71", "72", "74", "75", "76", "79", "11", "10"]),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)


def normalised_or_refusal(raw: str) -> str | InvalidPhoneNumberError:
    """Any exception other than the refusal escapes and fails the test."""
    try:
        return normalise_phone(raw)
    except InvalidPhoneNumberError as refusal:
        return refusal


@PROPERTY
@given(ANY_TEXT)
@example("⁰⁷¹²³⁴⁵⁶⁷⁸")  # superscripts pass str.isdigit but are no digits to phonenumbers
@example("２５４７１２３４５６７８")  # full-width digits are digits
@example("+")
@example("00")
@example("0201234567")  # a Nairobi fixed line: valid, but no SMS reaches it
def test_any_text_is_a_normalised_number_or_a_refusal_with_a_reason(raw: str) -> None:
    number = normalised_or_refusal(raw)
    if isinstance(number, InvalidPhoneNumberError):
        assert number.reason and number.raw == raw
        return
    assert NORMALISED.fullmatch(number), (raw, number)
    assert normalise_phone(number) == number


@PROPERTY
@given(NATIONAL)
def test_display_and_local_forms_read_back_as_the_same_number(national: str) -> None:
    try:
        number = normalise_phone("0" + national)
    except InvalidPhoneNumberError:
        return  # a range the numbering plan does not (yet) allocate
    assert normalise_phone(display_phone(number)) == number
    assert normalise_phone("0" + number[3:]) == number  # the local 07…/01… form
    assert normalise_phone("+" + number) == number
