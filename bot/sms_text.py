"""How networks bill a text: GSM-7 or UCS-2 encoding, and the number of segments.

GSM-7 fits 160 septets in one SMS, 153 per part once split (the rest is the concatenation header); the
extension characters ``^{}\\[~]|€`` (and form feed) take two septets and an escape pair is never split across
parts. One character outside GSM-7 switches the whole text to UCS-2: 70 UTF-16 units in one SMS, 67 per part,
and a surrogate pair is never split. Units billed = segments × recipients.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

MAX_SEGMENTS = 10


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SmsLength:
    encoding: Encoding
    characters: int  # what a person counts
    segments: int

    def units(self, recipients: int = 1) -> int:
        return self.segments * recipients


class MessageTextError(ValueError):
    """The text cannot be sent as it is; the message says why and what to do."""


_LIMITS = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}


def _costs(text: str, encoding: Encoding) -> list[int]:
    """Size of each character in the encoding's units (septets or UTF-16 code units)."""
    if encoding is Encoding.GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _part_starts(costs: list[int], single: int, part: int) -> list[int]:
    """Index of the first character of each part (always at least one part, also for an empty text)."""
    if sum(costs) <= single:
        return [0]
    starts, used = [0], 0
    for index, cost in enumerate(costs):
        # A character (escape pair or surrogate pair) never straddles two parts.
        if used + cost > part:
            starts.append(index)
            used = 0
        used += cost
    return starts


def encoding_of(text: str) -> Encoding:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        return Encoding.GSM7
    return Encoding.UCS2


def measure(text: str) -> SmsLength:
    """Encoding and segment count of ``text`` (no limits applied)."""
    encoding = encoding_of(text)
    single, part = _LIMITS[encoding]
    starts = _part_starts(_costs(text, encoding), single, part)
    return SmsLength(encoding=encoding, characters=len(text), segments=len(starts))


def split_parts(text: str) -> list[str]:
    """The parts a network delivers ``text`` in, cut where ``measure`` counts them (one part when it fits)."""
    encoding = encoding_of(text)
    starts = _part_starts(_costs(text, encoding), *_LIMITS[encoding])
    return [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]


def check_message(text: str, max_segments: int = MAX_SEGMENTS) -> SmsLength:
    """Measure a text a user wants to send, refusing an empty one or one longer than ``max_segments``."""
    if not text.strip():
        raise MessageTextError("The message is empty: write the text after the number.")
    length = measure(text)
    if length.segments > max_segments:
        per_part = _LIMITS[length.encoding][1]
        raise MessageTextError(
            f"The message is too long: {length.segments} SMS parts ({length.characters} characters, "
            f"{length.encoding.value}); the limit is {max_segments} parts, about {max_segments * per_part} "
            "characters."
        )
    return length
