"""Properties of SMS length: segments derived here independently, from the encodings as networks send them.

UCS-2 texts are split the way grapheme-aware senders (Android's SmsMessage, Twilio's calculator) split them: whole
extended grapheme clusters (``regex``'s ``\\X`` over the whole text, UAX #29) per part, so the oracle below walks
UTF-16 units cluster by cluster; only a cluster longer than a part is cut, between code points.
"""

from __future__ import annotations

import math

import regex
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.sms_text import Encoding, cut_to_parts, measure, split_parts

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
TRICKY = st.sampled_from(["a", " ", "€", "{", "\f", "ж", "😀", "ú", "\n", "\r", ESC, "\u200d", "\u0301", "\ufe0f"])
CHARS = st.one_of(TRICKY, ANY_CHAR)
# Clusters of several code points or UTF-16 units: flag, skin tone, ZWJ family, keycap, VS16, combining acute,
# Hangul jamo, Devanagari conjunct (GB9c), Scotland's tag sequence, CR LF, and one cluster longer than a part.
CLUSTERS = [
    "🇰🇪",
    "👍🏽",
    "👨\u200d👩\u200d👧\u200d👦",
    "1\ufe0f\u20e3",
    "\u2764\ufe0f",
    "e\u0301",
    "\u1100\u1161\u11a8",
    "\u0915\u094d\u0937",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "\r\n",
    "😀",
    "a" + "\u0301" * 70,
]
PIECE = st.one_of(st.sampled_from(CLUSTERS), CHARS)
# Long texts around the part boundaries, where escape pairs, surrogate pairs and clusters matter.
TEXT = st.one_of(
    st.text(CHARS, max_size=40),
    st.lists(PIECE, max_size=30).map("".join),
    st.builds(
        lambda filler, length, tail: filler * length + "".join(tail),
        st.sampled_from(["a", "€", "ж", "😀", "🇰🇪", "e\u0301"]),
        st.integers(min_value=15, max_value=340),
        st.lists(PIECE, max_size=12),
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


def clusters_of(text: str) -> list[str]:
    clusters: list[str] = regex.findall(r"\X", text)
    return clusters


def ucs2_parts(text: str) -> list[int]:
    """UTF-16 sizes of the parts: whole clusters per part; one longer than a part starts a part and is cut."""
    single, part = LIMITS[Encoding.UCS2]
    if len(utf16_stream(text)) <= single:
        return [len(utf16_stream(text))]
    sizes = [0]
    for cluster in clusters_of(text):
        units = len(utf16_stream(cluster))
        if units > part:
            if sizes[-1]:
                sizes.append(0)
            sizes[-1:] = parts_of(utf16_stream(cluster), part, part, lambda unit: 0xD800 <= unit <= 0xDBFF)
        elif sizes[-1] + units > part:
            sizes.append(units)
        else:
            sizes[-1] += units
    return sizes


def real_parts(text: str) -> tuple[Encoding, list[int]]:
    """Encoding and part sizes (septets or UTF-16 units) of ``text``."""
    septets = gsm7_stream(text)
    if septets is not None:
        return Encoding.GSM7, parts_of(septets, *LIMITS[Encoding.GSM7], lambda unit: unit == ESC)
    return Encoding.UCS2, ucs2_parts(text)


def size_in(encoding: Encoding, text: str) -> int:
    return len(gsm7_stream(text) or []) if encoding is Encoding.GSM7 else len(utf16_stream(text))


@PROPERTY
@given(TEXT)
@example("a" * 152 + "{")  # the escape pair would straddle parts 1 and 2
@example("ж" * 66 + "😀" + "ж")  # the surrogate pair would straddle parts 1 and 2
@example("a" * 160 + "ж")  # one character switches 160 septets to UCS-2: 161 units, 3 parts
@example("a" * 65 + "👍🏽" + "a" * 65)  # the examples: 3, 3 and 75 parts
@example("🇰🇪" * 33)
@example("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f" * 297)
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
@given(TEXT)
@example("ж" * 66 + "🇰🇪" + "ж" * 66)
def test_never_fewer_parts_than_whole_clusters_need(text: str) -> None:
    """The lower bound that matters for money: no part holds more than 67 units of whole clusters."""
    length = measure(text)
    clusters = clusters_of(text)
    assert length.characters == len(clusters)  # what a reader sees: 👍🏽 is one character
    if length.encoding is Encoding.UCS2:
        total, (single, part) = len(utf16_stream(text)), LIMITS[Encoding.UCS2]
        # Greedy packing of whole clusters is the fewest parts any sender keeping clusters whole can use.
        assert length.segments >= len(ucs2_parts(text))
        assert length.segments >= (1 if total <= single else math.ceil(total / part))


@PROPERTY
@given(TEXT, CHARS)
def test_appending_a_character_never_lowers_the_count(text: str, char: str) -> None:
    assert measure(text + char).segments >= measure(text).segments


@PROPERTY
@given(TEXT)
@example("a" * 152 + "€" + "a" * 200)
@example("😀" * 40)
@example("ж" * 60 + "👨\u200d👩\u200d👧\u200d👦" + "ж" * 70)
@example("ж" * 10 + "a" + "\u0301" * 130)
def test_split_parts_rebuild_the_text_and_never_cut_a_pair_or_cluster(text: str) -> None:
    encoding, sizes = real_parts(text)
    single, part = LIMITS[encoding]
    parts = split_parts(text)
    assert "".join(parts) == text
    assert len(parts) == measure(text).segments
    # Sizes in the whole text's encoding (one UCS-2 character makes every part UCS-2): the same cuts as the
    # independent split above, which moves a pair's first half to the next part.
    assert [size_in(encoding, p) for p in parts] == sizes
    assert all(size_in(encoding, p) <= (single if len(parts) == 1 else part) for p in parts)
    if encoding is Encoding.UCS2 and len(parts) > 1:
        # Every cut is a cluster boundary of the whole text, unless it falls inside a cluster too long for a part.
        boundaries, position, oversized = {0}, 0, set[int]()
        for cluster in clusters_of(text):
            if len(utf16_stream(cluster)) > part:
                oversized.update(range(position + 1, position + len(cluster)))
            position += len(cluster)
            boundaries.add(position)
        cut = 0
        for piece in parts[:-1]:
            cut += len(piece)
            assert cut in boundaries or cut in oversized


@PROPERTY
@given(st.text(ANY_CHAR, max_size=700) | st.text(alphabet="🔥👨‍👩‍👧‍👦a{", max_size=400), st.integers(1, 3))
@example("🔥👨‍👩‍👧‍👦" * 70, 2)
def test_a_cut_fits_its_parts_and_is_the_texts_start_between_whole_characters(text: str, parts: int) -> None:
    cut = cut_to_parts(text, parts)
    assert measure(cut).segments <= parts
    if cut != text:
        kept = cut.removesuffix("…").removesuffix("...")
        assert text.startswith(kept) and cut != kept
        ends = {m.end() for m in regex.finditer(r"\X", text)} | {0}
        assert len(kept) in ends or len(kept.rstrip()) != len(kept)
