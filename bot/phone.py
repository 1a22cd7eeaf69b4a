"""Kenyan mobile numbers: parse what people type, normalise to the 12 digits ``2547…``/``2541…`` providers want.

`phonenumbers` knows the numbering plan (which prefixes are mobile, which lengths are valid); this module only
tidies the input and turns every refusal into a reason a person understands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

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


def normalise_phone(raw: str) -> str:
    """Return ``254XXXXXXXXX`` for a Kenyan mobile number, or raise ``InvalidPhoneNumberError``."""
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumberError(raw, "empty")
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif compact.startswith(str(KENYA_COUNTRY_CODE)) and len(compact) > 10:
        compact = "+" + compact
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
        raise InvalidPhoneNumberError(raw, "not a valid Kenyan number")
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


def read_recipients_kept(
    raw_numbers: Iterable[str], normalise: Callable[[str], str] = normalise_phone
) -> tuple[RecipientList, list[int]]:
    """``read_recipients``, also giving the input position of each valid number (for rows that go with them),
    with the normaliser a caller may speed up."""
    valid: list[str] = []
    positions: list[int] = []
    seen: set[str] = set()
    refused: list[RefusedNumber] = []
    duplicates: list[str] = []
    for position, raw in enumerate(raw_numbers):
        try:
            number = normalise(raw)
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
