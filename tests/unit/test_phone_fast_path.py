"""The plain-number fast path answers exactly as libphonenumber's full parse does, for every national prefix."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.phone import InvalidPhoneNumberError, compact_number, normalise_in_full, normalise_phone


def answer(normalise: object, raw: str) -> str:
    assert callable(normalise)
    try:
        return str(normalise(raw))
    except InvalidPhoneNumberError as refusal:
        return f"refused: {refusal.reason}"


def in_full(raw: str) -> str:
    text = raw.strip()
    return normalise_phone(raw) if not text else normalise_in_full(raw, compact_number(text))


def test_every_three_digit_prefix_in_every_plain_form_agrees_with_the_full_parse() -> None:
    checked = accepted = 0
    for prefix in range(1000):
        for tail in ("000000", "345678", "999999"):
            national = f"{prefix:03d}{tail}"
            for raw in (f"0{national}", f"+254{national}", f"254{national}", national, f"+254 {national[:3]}-{tail}"):
                fast = answer(normalise_phone, raw)
                assert fast == answer(in_full, raw), raw
                checked += 1
                accepted += not fast.startswith("refused")
    assert checked == 15_000
    assert 0 < accepted < checked  # both branches were exercised: mobiles accepted, other ranges refused


@given(st.text(alphabet="0123456789+-() .", max_size=18))
def test_any_typed_number_gets_the_full_parses_answer(raw: str) -> None:
    assert answer(normalise_phone, raw) == answer(in_full, raw)


@given(st.from_regex(r"(\+254|254|0)?[0-9]{9}", fullmatch=True))
def test_any_plain_number_gets_the_full_parses_answer(raw: str) -> None:
    assert answer(normalise_phone, raw) == answer(in_full, raw)


@given(st.text(alphabet=st.characters(categories=["Nd"]) | st.sampled_from("+ -"), min_size=9, max_size=14))
def test_digits_of_any_script_give_the_full_parses_ascii_answer(raw: str) -> None:
    fast = answer(normalise_phone, raw)
    assert fast == answer(in_full, raw)
    assert fast.startswith("refused") or fast.isascii()  # one number, one spelling: blocklist and repeats match


def test_arabic_indic_and_fullwidth_digits_are_the_same_number() -> None:
    assert normalise_phone("07١٢٣٤٥٦٧٨") == normalise_phone("07１２３４５６７８") == "254712345678"
