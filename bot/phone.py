"""Kenyan mobile numbers: parse what people type, normalise to the 12 digits ``2547…``/``2541…`` providers want.

`phonenumbers` knows the numbering plan (which prefixes are mobile, which lengths are valid); this module only
tidies the input and turns every refusal into a reason a person understands. A plainly written number
(``0712345678``, ``+254712345678``) is checked against that same metadata directly (~1 µs instead of ~25 µs for the
full parse, which dominates reading a 100,000-number list); anything else, and every refusal, takes the full path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberDesc, PhoneNumberType

KENYA_REGION = "KE"
KENYA_COUNTRY_CODE = 254
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
_SEPARATORS = re.compile(r"[\s\-.()/]+")
# Where people separate numbers in a list: commas, semicolons, whitespace (spaces inside one number are not
# supported in lists, only in a single number).
LIST_SEPARATORS = re.compile(r"[,;\s]+")


class InvalidPhoneNumberError(ValueError):
    """The text is not a Kenyan mobile number; ``reason`` says why in plain words."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw}: {reason}")
        self.raw = raw
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RefusedNumber:
    raw: str
    reason: str


@dataclass(frozen=True, slots=True)
class RecipientList:
    """The outcome of reading many numbers: valid ones in input order, refusals, and repeats removed."""

    valid: tuple[str, ...]
    refused: tuple[RefusedNumber, ...]
    duplicates: tuple[str, ...]


def _desc_matcher(desc: PhoneNumberDesc | None) -> Callable[[str], bool]:
    """A national number → matches ``desc`` test, as libphonenumber's own ``_is_number_matching_desc`` does."""
    if desc is None or desc.national_number_pattern is None:
        return lambda national: False
    pattern = re.compile(desc.national_number_pattern)
    lengths = frozenset(desc.possible_length or ())
    return lambda national: (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


def _plain_mobile_check() -> Callable[[str], bool]:
    """True when a national number is valid and of a type we accept, by the same steps as libphonenumber's
    ``number_type``: the general description, then no special type (premium, toll-free, …) before mobile."""
    metadata = PhoneMetadata.metadata_for_region(KENYA_REGION)
    if metadata is None:  # phonenumbers always ships Kenya; without it, everything takes the full path
        return lambda national: False
    general = _desc_matcher(metadata.general_desc)
    special = [
        _desc_matcher(getattr(metadata, kind))
        for kind in ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")
    ]
    mobile = _desc_matcher(metadata.mobile)
    if metadata.same_mobile_and_fixed_line_pattern:  # not Kenya's case; the full path handles it
        return lambda national: False
    return lambda national: general(national) and mobile(national) and not any(test(national) for test in special)


# What people usually type, once separators are gone: the nine national digits after +254, 0 or nothing.
_PLAIN_KENYAN = re.compile(r"(?:\+254|0)?([0-9]{9})")  # ASCII digits only: others take the full parse
_is_plain_mobile = _plain_mobile_check()


def missing_phone(row: int) -> str:
    """What a file's row without a phone number stands as among the numbers: refused, so it is counted."""
    return f"row {row}"


def normalise_phone(raw: str) -> str:
    """Return ``254XXXXXXXXX`` for a Kenyan mobile number, or raise ``InvalidPhoneNumberError``."""
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumberError(raw, "empty")
    if _MISSING.fullmatch(text):
        raise InvalidPhoneNumberError(raw, "no phone number in this row of the file")
    compact = compact_number(text)
    plain = _PLAIN_KENYAN.fullmatch(compact)
    if plain is not None and _is_plain_mobile(plain.group(1)):
        return f"{KENYA_COUNTRY_CODE}{plain.group(1)}"
    return normalise_in_full(raw, compact)


_MISSING = re.compile(r"row \d+")


def compact_number(text: str) -> str:
    """Separators removed; ``00…`` and ``254…`` written as ``+…``."""
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        return "+" + compact[2:]
    if compact.startswith(str(KENYA_COUNTRY_CODE)) and len(compact) > 10:
        return "+" + compact
    return compact


def normalise_in_full(raw: str, compact: str) -> str:
    """The full parse by libphonenumber: every refusal, with its reason, comes from here."""
    digits = compact.removeprefix("+")
    if not digits.isdigit():
        raise InvalidPhoneNumberError(raw, "not a phone number (only digits, spaces, dashes and a leading +)")
    try:
        number = phonenumbers.parse(compact, KENYA_REGION)
    except NumberParseException:
        raise InvalidPhoneNumberError(raw, "not a phone number") from None
    if number.country_code != KENYA_COUNTRY_CODE:
        return _refuse_foreign(raw, number)
    national = str(number.national_number)
    if len(national) < 9:
        raise InvalidPhoneNumberError(raw, "too short: a Kenyan mobile number has 10 digits, like 0712345678")
    if len(national) > 9:
        raise InvalidPhoneNumberError(raw, "too long: a Kenyan mobile number has 10 digits, like 0712345678")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumberError(raw, "not a valid Kenyan number: mobile numbers start 07 or 01, like 0712345678")
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidPhoneNumberError(raw, "not a mobile number (SMS needs a 07… or 01… mobile)")
    return f"{KENYA_COUNTRY_CODE}{national}"


def _refuse_foreign(raw: str, number: phonenumbers.PhoneNumber) -> str:
    region = phonenumbers.region_code_for_number(number)
    where = f" (+{number.country_code}, {region})" if region and region != "ZZ" else ""
    raise InvalidPhoneNumberError(raw, f"not a Kenyan number{where}: only +254 mobiles can be sent to")


def split_numbers(text: str) -> list[str]:
    """Split a pasted list of numbers on commas, semicolons, spaces and newlines."""
    return [part for part in LIST_SEPARATORS.split(text) if part]


def read_recipients(raw_numbers: Iterable[str]) -> RecipientList:
    """Normalise many numbers, keeping input order, one refusal reason each, and dropping repeats."""
    return read_recipients_kept(raw_numbers)[0]


def read_recipients_kept(raw_numbers: Iterable[str]) -> tuple[RecipientList, list[int]]:
    """``read_recipients``, also giving the input position of each valid number (for rows that go with them)."""
    valid: list[str] = []
    positions: list[int] = []
    seen: set[str] = set()
    refused: list[RefusedNumber] = []
    duplicates: list[str] = []
    for position, raw in enumerate(raw_numbers):
        try:
            number = normalise_phone(raw)
        except InvalidPhoneNumberError as exc:
            refused.append(RefusedNumber(raw=raw, reason=exc.reason))
            continue
        if number in seen:
            duplicates.append(number)
            continue
        seen.add(number)
        valid.append(number)
        positions.append(position)
    return RecipientList(valid=tuple(valid), refused=tuple(refused), duplicates=tuple(duplicates)), positions


def display_phone(number: str) -> str:
    """``254712345678`` → ``+254 712 345 678`` for replies that people read."""
    if len(number) == 12 and number.isdigit():
        return f"+{number[:3]} {number[3:6]} {number[6:9]} {number[9:]}"
    return number
