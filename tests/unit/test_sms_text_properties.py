"""Properties of SMS length: segments derived here independently, from the encodings as networks send them."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.sms_text import Encoding, measure, split_parts

PROPERTY = settings(max_examples=150, deadline=None)

# 3GPP TS 23.038, the default alphabet in code order 0x00–0x7F (0x1B is the escape to the extension table).
ESC = "\x1b"
GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION_TABLE = "\f^{}\\[~]|€"
assert len(GSM7_TABLE) == 128

# Surrogates (category Cs) cannot stand alone in a message that arrived as UTF-8 or JSON from Telegram.
ANY_CHAR = st.characters(exclude_categories=["Cs"])
TRICKY = st.sampled_from(["a", " ", "€", "{", "\f", "ж", "😀", "ú", "\n", ESC])
CHARS = st.one_of(TRICKY, ANY_CHAR)
# Long texts around the part boundaries, where escape and surrogate pairs matter.
TEXT = st.one_of(
    st.text(CHARS, max_size=40),
    st.builds(
        lambda filler, length, tail: filler * length + tail,
        st.sampled_from(["a", "€", "ж", "😀"]),
        st.integers(min_value=60, max_value=340),
        st.text(CHARS, max_size=12),
    ),
)


def gsm7_stream(text: str) -> list[str] | None:
    """The septets sent for ``text``, or None when it needs UCS-2."""
    septets: list[str] = []
    for char in text:
        if char in GSM7_EXTENSION_TABLE:
            septets += [ESC, char]
        elif char in GSM7_TABLE and char != ESC:
            septets.append(char)
        else:
            return None
    return septets


def utf16_stream(text: str) -> list[int]:
    data = text.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def parts_of(stream: list[str] | list[int], single: int, part: int, starts_pair: object) -> list[int]:
    """Lengths of the parts: full parts, except that a pair's first half moves to the next part."""
    assert callable(starts_pair)
    if len(stream) <= single:
        return [len(stream)]
    sizes, start = [], 0
    while start < len(stream):
        end = min(start + part, len(stream))
        if end < len(stream) and starts_pair(stream[end - 1]):
            end -= 1
        sizes.append(end - start)
        start = end
    return sizes


LIMITS = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}


def real_parts(text: str) -> tuple[Encoding, list[int]]:
    """Encoding and part sizes (septets or UTF-16 units) of ``text``."""
    septets = gsm7_stream(text)
    if septets is not None:
        return Encoding.GSM7, parts_of(septets, *LIMITS[Encoding.GSM7], lambda unit: unit == ESC)
    units = utf16_stream(text)
    return Encoding.UCS2, parts_of(units, *LIMITS[Encoding.UCS2], lambda unit: 0xD800 <= unit <= 0xDBFF)


def size_in(encoding: Encoding, text: str) -> int:
    return len(gsm7_stream(text) or []) if encoding is Encoding.GSM7 else len(utf16_stream(text))


@PROPERTY
@given(TEXT)
@example("a" * 152 + "{")  # the escape pair would straddle parts 1 and 2
@example("ж" * 66 + "😀" + "ж")  # the surrogate pair would straddle parts 1 and 2
@example("a" * 160 + "ж")  # one character switches 160 septets to UCS-2: 161 units, 3 parts
def test_segments_match_the_parts_networks_send(text: str) -> None:
    encoding, sizes = real_parts(text)
    single, part = LIMITS[encoding]
    length = measure(text)
    assert length.encoding is encoding
    assert length.segments == len(sizes)
    total = sum(sizes)
    assert length.segments >= (1 if total <= single else math.ceil(total / part))
    assert length.units(3) == 3 * length.segments


@PROPERTY
@given(TEXT, CHARS)
def test_appending_a_character_never_lowers_the_count(text: str, char: str) -> None:
    assert measure(text + char).segments >= measure(text).segments


@PROPERTY
@given(TEXT)
@example("a" * 152 + "€" + "a" * 200)
@example("😀" * 40)
def test_split_parts_rebuild_the_text_and_never_cut_a_pair(text: str) -> None:
    encoding, sizes = real_parts(text)
    single, part = LIMITS[encoding]
    parts = split_parts(text)
    assert "".join(parts) == text
    assert len(parts) == measure(text).segments
    # Sizes in the whole text's encoding (one UCS-2 character makes every part UCS-2): the same cuts as the
    # independent split above, which moves a pair's first half to the next part.
    assert [size_in(encoding, p) for p in parts] == sizes
    assert all(size_in(encoding, p) <= (single if len(parts) == 1 else part) for p in parts)
