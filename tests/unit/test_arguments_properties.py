"""Properties of reading /send and /bulk arguments: any text gives a result or a refusal with a message."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.config import Settings
from bot.handlers.arguments import parse_send, split_bulk_text, take_provider
from bot.phone import InvalidPhoneNumberError, normalise_phone
from bot.services.errors import UserInputError
from bot.services.registry import ProviderRegistry, build_registry
from bot.sms_text import MessageTextError
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.texin_server import TexinFakeServer

PROPERTY = settings(max_examples=200, deadline=None)
REFUSALS = (UserInputError, InvalidPhoneNumberError, MessageTextError)

# What people type after /send and /bulk, in pieces, joined by every kind of space and line break.
PIECES = st.sampled_from(
    [
        "via:texin", "via:254sms", "VIA:Sms254", "via:", "via:nope", "0712345678", "0712", "345", "678",
        "+254", "712", "254712345678", "07123", "-", "+", "(", ")", ",", ";", "hello", "Water off", "😀", "€",
        "0712-345-678", "٠٧١٢٣٤٥٦٧٨",
    ]
)  # fmt: skip
SPACES = st.sampled_from([" ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u2028", "\x85", "\x0b", ",", ""])
ARGS = st.one_of(
    st.text(),
    st.lists(st.tuples(PIECES | st.text(max_size=3), SPACES), max_size=10).map(
        lambda pairs: "".join(piece + space for piece, space in pairs)
    ),
)


T = TypeVar("T")


def result_or_refusal(call: Callable[[], T]) -> T | Exception:
    """The result, or the refusal the user would read; any other exception escapes and fails the test."""
    try:
        return call()
    except REFUSALS as refusal:
        return refusal


@pytest.fixture(scope="module", params=["both providers", "texin only"])
def registry(request: pytest.FixtureRequest) -> Iterator[ProviderRegistry]:
    """The production registry, its clients pointed at the loopback fakes (parsing never calls them)."""
    with TexinFakeServer() as texin, Sms254FakeServer() as sms254:
        values: dict[str, Any] = {"texin_api_key": SecretStr(texin.api_key), "texin_base_url": texin.base_url}
        if request.param == "both providers":
            values.update(
                sms254_username=sms254.username,
                sms254_api_key=SecretStr(sms254.api_key),
                sms254_send_url=sms254.send_url,
                sms254_credits_url=sms254.credits_url,
            )
        settings_ = Settings(  # type: ignore[call-arg]
            _env_file=None, telegram_bot_token=SecretStr("1:x"), admin_chat_ids=[1], **values
        )
        built = build_registry(settings_)
        yield built
        asyncio.run(built.aclose())


@PROPERTY
@given(args=ARGS)
@example(args="via:texin\n0712345678 hi")
@example(args="0712 345 678\nline two")
def test_send_arguments_are_parsed_or_refused_with_a_message(registry: ProviderRegistry, args: str) -> None:
    parsed = result_or_refusal(lambda: parse_send(args, registry))
    if isinstance(parsed, Exception):
        assert str(parsed).strip()
        return
    assert parsed.provider is None or parsed.provider in registry.names
    assert normalise_phone(parsed.number)
    assert parsed.text and parsed.text == parsed.text.strip()


@PROPERTY
@given(args=ARGS)
def test_a_provider_prefix_is_taken_or_refused_with_a_message(registry: ProviderRegistry, args: str) -> None:
    taken = result_or_refusal(lambda: take_provider(args, registry))
    if isinstance(taken, Exception):
        assert str(taken).strip()
        return
    provider, rest = taken
    assert provider is None or provider in registry.names
    assert rest == rest.strip()
    if provider is None:
        assert rest == args.strip()


@PROPERTY
@given(text=ARGS)
@example(text="0712345678, 0722000000\nWater off\n0733000000")
def test_bulk_text_splits_into_numbers_and_a_message(text: str) -> None:
    numbers, message = split_bulk_text(text)
    assert all(number and number == number.strip() for number in numbers)
    assert message == message.strip()


# A message whose first word cannot be read as part of a number, and the ways people write a number.
# (Commas and semicolons alone separate numbers: a "word" of only those is no message. A first word starting with
# "@" names a contact group, like /bulk @oncall: that is a recipient too, refused by name when no group has it.)
WORD = st.text(st.characters(exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]), min_size=1, max_size=8).filter(
    lambda word: (
        word.strip(",;") != ""
        and not word.translate(str.maketrans("", "", ",;+-()")).isdigit()
        and not word.startswith("@")
    )
)
MESSAGE = st.builds(lambda first, rest: first + rest, WORD, st.text(st.characters(exclude_categories=["Cs"])))
NUMBER = st.sampled_from(["0712345678", "0712 345 678", "+254712345678", "254 712 345 678", "0110123456"])
SEPARATOR = st.sampled_from([" ", "   ", "\t", "\u00a0", " \t "])


@PROPERTY
@given(number=NUMBER, separator=SEPARATOR, message=MESSAGE)
@example(number="0712345678", separator=" ", message="Meet at  10:00,   gate B")  # spaces kept as typed
@example(number="0712345678", separator="\t", message="hi")  # any space after the number, not only " "
@example(number="0712345678", separator=" ", message=": \n0")  # the first line's trailing space too
def test_send_keeps_the_message_exactly_as_typed(
    registry: ProviderRegistry, number: str, separator: str, message: str
) -> None:
    parsed = parse_send(f"via:texin{separator}{number}{separator}{message}", registry)
    assert normalise_phone(parsed.number) == normalise_phone(number)
    assert parsed.text == message.strip()


@PROPERTY
@given(
    numbers=st.lists(st.sampled_from(["0712345678", "0722000000", "+254733000000", "0110123456"]), min_size=1),
    separator=SEPARATOR,
    on_own_line=st.booleans(),
    message=MESSAGE,
)
@example(numbers=["0712345678"], separator=" ", on_own_line=False, message="Water  off\ttomorrow")
def test_bulk_keeps_every_number_and_the_message_exactly_as_typed(
    numbers: list[str], separator: str, on_own_line: bool, message: str
) -> None:
    text = ", ".join(numbers) + ("\n" if on_own_line else separator) + message
    assert split_bulk_text(text) == (numbers, message.strip())
