"""Reading what people type after /send and /bulk."""

from __future__ import annotations

from dataclasses import dataclass

from bot.formatting import truncate
from bot.phone import InvalidPhoneNumberError, normalise_phone, split_numbers
from bot.providers.types import ProviderName
from bot.services.errors import UserInputError
from bot.services.registry import ProviderRegistry

VIA_PREFIX = "via:"
# Numbers are often typed in groups ("0712 345 678"): join up to this many leading tokens to find one.
_MAX_NUMBER_TOKENS = 4
_NUMBER_PUNCTUATION = str.maketrans("", "", ",;+-()")


@dataclass(frozen=True, slots=True)
class SendArguments:
    provider: ProviderName | None
    number: str
    text: str


def take_provider(args: str, registry: ProviderRegistry) -> tuple[ProviderName | None, str]:
    """A leading ``via:<provider>`` chooses the provider; returns it and the rest of the text."""
    stripped = args.lstrip()
    first, _, rest = stripped.partition(" ")
    first, newline, after_newline = first.partition("\n")
    if not first.lower().startswith(VIA_PREFIX):
        return None, args.strip()
    name = registry.parse_name(first[len(VIA_PREFIX) :])
    remainder = (after_newline + " " + rest) if newline else rest
    return name, remainder.strip()


def parse_send(args: str, registry: ProviderRegistry) -> SendArguments:
    """``[via:x] <number> <message>``; the message keeps its line breaks."""
    provider, rest = take_provider(args, registry)
    if not rest:
        raise UserInputError("Give a number and a message.")
    head, _, body = rest.partition("\n")
    tokens = head.split(" ")
    tokens = [t for t in tokens if t]
    number, used = _leading_number(tokens)
    text = " ".join(tokens[used:])
    if body:
        text = f"{text}\n{body}" if text else body
    text = text.strip()
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
        tokens = lines[index].split()
        count = 0
        while count < len(tokens) and _looks_numeric(tokens[count]):
            count += 1
        numbers = [n for token in tokens[:count] for n in split_numbers(token)]
        lines[index] = " ".join(tokens[count:])
    return numbers, "\n".join(lines[index:]).strip()


def _only_numbers(line: str) -> bool:
    return all(_looks_numeric(token) for token in split_numbers(line))


def _looks_numeric(token: str) -> bool:
    return token.translate(_NUMBER_PUNCTUATION).isdigit()
