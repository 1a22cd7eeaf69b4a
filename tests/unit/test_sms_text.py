"""Segment counting the way networks bill it."""

from __future__ import annotations

import pytest

from bot.services.merge import parse, personalise
from bot.sms_text import Encoding, MessageTextError, check_message, measure, split_parts


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


# Grapheme-aware boundaries. Each cluster below is several code points (or UTF-16 units) that a reader sees as one
# character; grapheme-aware senders move it whole to the next part. Filler "ж" is one unit and its own cluster.
# For a boundary B (67, 134, 201 units: the end of part 1, 2, 3) and a cluster of u units:
# - "ends at B": "ж" * (B - u) + cluster + "ж" * 67 → the cluster ends exactly at B, every part is full:
#   B/67 + 1 parts.
# - "straddles B": one more ж in front, one fewer behind (same B + 67 units). Cut between code points, that is
#   B/67 + 1 full parts again; moved whole, the part before B keeps 68 - u units and the cluster opens the next
#   one, which then holds u + 66 > 67 units: B/67 + 2 parts.
BOUNDARY_CLUSTERS = {
    "flag 🇰🇪 (two regional indicators, GB12)": "🇰🇪",  # 4 units
    "skin tone 👍🏽 (emoji + modifier, GB9)": "👍🏽",  # 4 units
    "ZWJ family (GB11)": "👨\u200d👩\u200d👧\u200d👦",  # 11 units
    "keycap 1️⃣ (digit + VS16 + U+20E3)": "1\ufe0f\u20e3",  # 3 units
    "heart ❤️ with VS16": "\u2764\ufe0f",  # 2 units, both in the BMP
    "e + combining acute": "e\u0301",  # 2 units
    "Hangul jamo L V T (GB6, GB7)": "\u1100\u1161\u11a8",  # 3 units
    "Devanagari conjunct क्ष (GB9c)": "\u0915\u094d\u0937",  # 3 units
    "Scotland flag (tag sequence)": "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # 14 units
}
BOUNDARY_CASES = [
    pytest.param(name, cluster, boundary, shift, id=f"{name}-{shift}-{boundary}")
    for name, cluster in BOUNDARY_CLUSTERS.items()
    for boundary in (67, 134, 201)
    for shift in ("ends at", "straddles")
]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(("name", "cluster", "boundary", "shift"), BOUNDARY_CASES)
def test_a_cluster_at_a_part_boundary_moves_whole_to_the_next_part(
    name: str, cluster: str, boundary: int, shift: str
) -> None:
    size = utf16_units(cluster)
    before = boundary - size + (shift == "straddles")
    text = "ж" * before + cluster + "ж" * (boundary + 67 - before - size)
    assert utf16_units(text) == boundary + 67
    length = measure(text)
    assert length.encoding is Encoding.UCS2
    assert length.characters == boundary + 67 - size + 1
    parts = split_parts(text)
    if shift == "ends at":
        assert length.segments == boundary // 67 + 1
        assert [utf16_units(part) for part in parts] == [67] * length.segments  # all full, the last one too
    else:
        assert length.segments == boundary // 67 + 2
        # Full parts up to the one before B, which keeps 68 - u; the cluster opens a full part; u - 1 ж spill over.
        expected = [67] * (boundary // 67 - 1) + [68 - size, 67, size - 1]
        assert [utf16_units(part) for part in parts] == expected
        assert sum(cluster in part for part in parts) == 1  # whole, in one part
    assert "".join(parts) == text


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 65 + "👍🏽" + "a" * 65, 3),  # 134 units; 👍🏽 would straddle units 66–69
        ("🇰🇪" * 33, 3),  # 16 flags (64 units) per part
        ("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f" * 297, 75),  # 4 flags (56 units) per part
    ],
)
def test_the_issues_examples_are_quoted_like_grapheme_aware_senders(text: str, segments: int) -> None:
    assert measure(text).segments == segments


def test_a_cluster_longer_than_a_part_opens_a_part_and_is_cut_between_code_points() -> None:
    # 101 units in one cluster: nothing else fits, so it starts part 2 and fills 67, then 34 units.
    text = "ж" * 10 + "a" + "\u0301" * 100
    assert [utf16_units(part) for part in split_parts(text)] == [10, 67, 34]
    assert measure(text).characters == 11


def test_characters_count_what_a_reader_sees() -> None:
    assert measure("👍🏽").characters == 1
    assert measure("Habari 🇰🇪 1\ufe0f\u20e3").characters == 10  # "Habari " 7, flag, space, keycap
    assert measure("Line one\r\nLine two").characters == 17  # CR LF is one line break


@pytest.mark.parametrize(
    "text", ["\u200b", "\ufeff", "\u2060", "\u200c", "\u200d", " \u200b\n\ufeff\t", "\u3164", "\u200e\u200f"]
)
def test_invisible_only_text_is_empty(text: str) -> None:
    with pytest.raises(MessageTextError, match="empty"):
        check_message(text)


def test_visible_text_with_invisible_characters_is_not_empty() -> None:
    assert check_message("\u200bHi\u200d").segments == 1


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("a" * 1531, "hold the first 1,530 characters of this text (GSM-7: 153 per part"),
        ("{" * 766, "hold the first 760 characters of this text (GSM-7"),  # 76 escape pairs a part
        ("ж" * 671, "hold the first 670 characters of this text (UCS-2: 67 units per part"),
        ("🇰🇪" * 200, "hold the first 160 characters of this text (UCS-2"),  # 16 flags a part
    ],
)
def test_too_long_hint_uses_the_texts_own_encoding_and_capacity(text: str, hint: str) -> None:
    with pytest.raises(MessageTextError, match="too long") as caught:
        check_message(text)
    assert hint in str(caught.value)
    assert "about" not in str(caught.value)  # no more "about 1,530 / 670 characters" whatever the text


def test_a_mail_merge_value_of_invisible_characters_is_an_empty_value() -> None:
    merge = parse("Hi {Name}", ["Name", "Phone"])
    result = personalise(merge, ["0712000001", "0712000002"], [["Ann", ""], ["\u200b\u2060", ""]])
    assert result.numbers == ["0712000001"]
    assert [(row.number, row.reason) for row in result.refused] == [("0712000002", "empty Name")]
