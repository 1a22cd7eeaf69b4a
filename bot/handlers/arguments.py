"""Reading what people type after /send and /bulk."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.formatting import truncate
from bot.phone import InvalidPhoneNumberError, normalise_phone, split_numbers
from bot.providers.types import ProviderName
from bot.services.errors import UserInputError
from bot.services.group_audience import is_group_token
from bot.services.registry import ProviderRegistry

VIA_PREFIX = "via:"
# Numbers are often typed in groups ("0712 345 678"): join up to this many leading tokens to find one.
_MAX_NUMBER_TOKENS = 4
_NUMBER_PUNCTUATION = str.maketrans("", "", ",;+-()")
# Words are separated by any space a keyboard makes (tab, no-break space), not only " ".
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class SendArguments:
    provider: ProviderName | None
    number: str
    text: str


def take_provider(args: str, registry: ProviderRegistry) -> tuple[ProviderName | None, str]:
    """A leading ``via:<provider>`` chooses the provider; returns it and the rest of the text."""
    stripped = args.strip()
    first = _WORD.match(stripped)
    if first is None or not first.group().lower().startswith(VIA_PREFIX):
        return None, stripped
    name = registry.parse_name(first.group()[len(VIA_PREFIX) :])
    return name, stripped[first.end() :].strip()


def parse_send(args: str, registry: ProviderRegistry) -> SendArguments:
    """``[via:x] <number> <message>``; the message keeps its line breaks."""
    provider, rest = take_provider(args, registry)
    if not rest:
        raise UserInputError("Give a number and a message.")
    head = rest.partition("\n")[0]
    words = list(_WORD.finditer(head))
    number, used = _leading_number([word.group() for word in words])
    # The message exactly as typed after the number's last word: its spaces and line breaks are the sender's.
    text = rest[words[used - 1].end() :].strip()
    if not text:
        raise UserInputError("The message is empty: write the text after the number.")
    return SendArguments(provider=provider, number=number, text=text)


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
