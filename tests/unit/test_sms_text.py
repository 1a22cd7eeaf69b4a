"""Segment counting the way networks bill it."""

from __future__ import annotations

import pytest

from bot.sms_text import Encoding, MessageTextError, check_message, measure


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a", Encoding.GSM7, 1),
        ("a" * 160, Encoding.GSM7, 1),
        ("a" * 161, Encoding.GSM7, 2),
        ("a" * 306, Encoding.GSM7, 2),
        ("a" * 307, Encoding.GSM7, 3),
        ("€" * 80, Encoding.GSM7, 1),  # 160 septets
        ("€" * 81, Encoding.GSM7, 2),
        ("a" * 152 + "{" + "a" * 10, Encoding.GSM7, 2),  # escape pair moves whole to part 2
        ("a" * 152 + "{" + "a" * 152, Encoding.GSM7, 3),
        ("Habari 😀", Encoding.UCS2, 1),
        ("ж" * 70, Encoding.UCS2, 1),
        ("ж" * 71, Encoding.UCS2, 2),
        ("ж" * 134, Encoding.UCS2, 2),
        ("ж" * 135, Encoding.UCS2, 3),
        ("ж" * 66 + "😀" + "ж" * 10, Encoding.UCS2, 2),  # surrogate pair not split
        ("Server back up", Encoding.GSM7, 1),
        ("Ñandu à ü é", Encoding.GSM7, 1),
        ("Ñandú", Encoding.UCS2, 1),  # ú is not in GSM-7
    ],
)
def test_measure_counts_encoding_and_segments(text: str, encoding: Encoding, segments: int) -> None:
    length = measure(text)
    assert length.encoding is encoding
    assert length.segments == segments


def test_units_are_segments_times_recipients() -> None:
    assert measure("a" * 200).units(7) == 14


def test_surrogate_pair_at_part_boundary_starts_new_part() -> None:
    # 134 UTF-16 units would fit two parts of 67 if the emoji could be cut in half; it cannot, so three parts.
    length = measure("ж" * 66 + "😀" + "ж" * 66)
    assert length.segments == 3


def test_empty_message_is_refused() -> None:
    with pytest.raises(MessageTextError, match="empty"):
        check_message("   ")


def test_message_over_ten_parts_is_refused_with_the_limit() -> None:
    with pytest.raises(MessageTextError, match="11 SMS parts"):
        check_message("a" * (153 * 10 + 1))
    assert check_message("a" * 153 * 10).segments == 10
