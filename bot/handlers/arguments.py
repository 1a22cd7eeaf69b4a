"""Reading what people type after /send and /bulk."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.formatting import truncate
from bot.phone import InvalidPhoneNumberError, normalise_phone, split_numbers
from bot.providers.types import ProviderName
from bot.schedule_time import AT_PREFIX, IN_PREFIX, due_at, due_in
from bot.services.errors import UserInputError
from bot.services.group_audience import is_group_token
from bot.services.registry import ProviderRegistry

VIA_PREFIX = "via:"
# Numbers are often typed in groups ("0712 345 678"): join up to this many leading tokens to find one.
_MAX_NUMBER_TOKENS = 4
_NUMBER_PUNCTUATION = str.maketrans("", "", ",;+-()")
# Words are separated by any space a keyboard makes (tab, no-break space), not only " ".
_WORD = re.compile(r"\S+")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CLOCK_ONLY = re.compile(r"\d{1,2}:\d{2}")


@dataclass(frozen=True, slots=True)
class SendArguments:
    provider: ProviderName | None
    number: str
    text: str
    due: datetime | None = None  # from in:/at:, UTC; None sends now


@dataclass(frozen=True, slots=True)
class Leading:
    """The options before the numbers: ``via:``, ``in:`` / ``at:``, in any order, each at most once."""

    provider: ProviderName | None
    due: datetime | None
    rest: str


def take_leading(args: str, registry: ProviderRegistry, *, now: datetime, zone: ZoneInfo) -> Leading:
    """Peel ``via:x``, ``in:<delay>`` and ``at:<time>`` (``at:2026-12-01 08:00`` takes two words) off the front."""
    rest = args.strip()
    provider: ProviderName | None = None
    due: datetime | None = None
    seen: set[str] = set()
    while (first := _WORD.match(rest)) is not None:
        word = first.group()
        lowered = word.lower()
        end = first.end()
        if lowered.startswith(VIA_PREFIX):
            kind = "via:"
            provider = registry.parse_name(word[len(VIA_PREFIX) :])
        elif lowered.startswith(IN_PREFIX):
            kind = "when"
            due = due_in(word[len(IN_PREFIX) :], now)
        elif lowered.startswith(AT_PREFIX):
            kind = "when"
            value = word[len(AT_PREFIX) :]
            after = _WORD.search(rest, end) if _DATE_ONLY.fullmatch(value) else None
            if after is not None and "\n" not in rest[end : after.start()] and _CLOCK_ONLY.fullmatch(after.group()):
                value, end = f"{value} {after.group()}", after.end()  # the date and the time, on one line
            due = due_at(value, now, zone)
        else:
            break
        if kind in seen:
            raise UserInputError("Give one via: and at most one in: or at: before the numbers.")
        seen.add(kind)
        rest = rest[end:].strip()
    return Leading(provider=provider, due=due, rest=rest.strip())


def take_provider(args: str, registry: ProviderRegistry) -> tuple[ProviderName | None, str]:
    """A leading ``via:<provider>`` chooses the provider; returns it and the rest of the text."""
    stripped = args.strip()
    first = _WORD.match(stripped)
    if first is None or not first.group().lower().startswith(VIA_PREFIX):
        return None, stripped
    name = registry.parse_name(first.group()[len(VIA_PREFIX) :])
    return name, stripped[first.end() :].strip()


def parse_send(
    args: str, registry: ProviderRegistry, *, now: datetime | None = None, zone: ZoneInfo | None = None
) -> SendArguments:
    """``[via:x] [in:… | at:…] <number> <message>``; the message keeps its line breaks. Without ``now`` and
    ``zone`` only ``via:`` is read."""
    if now is None or zone is None:
        provider, rest = take_provider(args, registry)
        due = None
    else:
        leading = take_leading(args, registry, now=now, zone=zone)
        provider, due, rest = leading.provider, leading.due, leading.rest
    if not rest:
        raise UserInputError("Give a number and a message.")
    head = rest.partition("\n")[0]
    words = list(_WORD.finditer(head))
    number, used = _leading_number([word.group() for word in words])
    # The message exactly as typed after the number's last word: its spaces and line breaks are the sender's.
    text = rest[words[used - 1].end() :].strip()
    if not text:
        raise UserInputError("The message is empty: write the text after the number.")
    return SendArguments(provider=provider, number=number, text=text, due=due)


def _leading_number(tokens: list[str]) -> tuple[str, int]:
    """The phone number at the start (possibly typed in groups) and how many tokens it took."""
    if not tokens:
        raise UserInputError("Give a number and a message.")
    first_error: InvalidPhoneNumberError | None = None
    for count in range(1, min(_MAX_NUMBER_TOKENS, len(tokens)) + 1):
        candidate = "".join(tokens[:count])
        if count > 1 and not tokens[count - 1].lstrip("+").replace("-", "").isdigit():
            break
        try:
            normalise_phone(candidate)
        except InvalidPhoneNumberError as exc:
            first_error = first_error or exc
            continue
        return candidate, count
    assert first_error is not None
    raise UserInputError(f"“{truncate(first_error.raw, 40)}” is {first_error.reason}.")


def split_bulk_text(text: str) -> tuple[list[str], str]:
    """Numbers first, then the message: leading lines made only of numbers are the list (commas, spaces or
    line breaks between them); the first line with a word starts the message. On that first line itself,
    leading number tokens still count as numbers (``/bulk 0712345678 Water off tomorrow``)."""
    lines = text.split("\n")
    numbers: list[str] = []
    index = 0
    while index < len(lines) and lines[index].strip() and _only_numbers(lines[index]):
        numbers += split_numbers(lines[index])
        index += 1
    if index < len(lines) and not numbers:
        words = list(_WORD.finditer(lines[index]))
        count = 0
        while count < len(words) and _looks_numeric(words[count].group()):
            count += 1
        numbers = [n for word in words[:count] for n in split_numbers(word.group())]
        if count:
            lines[index] = lines[index][words[count - 1].end() :]  # the message as typed, its spaces kept
    return numbers, "\n".join(lines[index:]).strip()


def _only_numbers(line: str) -> bool:
    return all(_looks_numeric(token) for token in split_numbers(line))


def _looks_numeric(token: str) -> bool:
    """A phone number, or a contact group's ``@name`` (``/bulk @oncall 0712345678``)."""
    return token.translate(_NUMBER_PUNCTUATION).isdigit() or is_group_token(token)
