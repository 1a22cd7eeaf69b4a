"""Mail merge: a bulk message with ``{column}`` placeholders, filled per recipient from the uploaded CSV's row.

Placeholders name a header cell, case-insensitive, spaces allowed (``{Due Date}``); ``{{`` and ``}}`` write
literal braces. A placeholder that is no column is refused before anything is stored, naming it and the columns.
A row with an empty value for a used placeholder is refused (listed in the preview), never sent with a hole in it:
"Hi , your bill is KES ." is worse than no SMS. Units are counted per recipient's own text; identical texts are
measured once, so 100,000 rows cost one render and a dictionary lookup each.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.formatting import truncate
from bot.services.errors import UserInputError
from bot.sms_text import MAX_SEGMENTS, SmsLength, measure

# "{{" and "}}" first, so "{{name}}" is the literal text "{name}"; a placeholder holds no brace or line break.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]+)\}")
_SPACES = re.compile(r"\s+")


def _key(name: str) -> str:
    return _SPACES.sub(" ", name.strip()).casefold()


@dataclass(frozen=True, slots=True)
class MergeText:
    """A message split into literal pieces and column indexes: ``pieces[i]`` is a str or a column index."""

    pieces: tuple[str | int, ...]
    placeholders: dict[int, str]  # column index → the placeholder as first written, in order of first use

    def render(self, row: Sequence[str]) -> str:
        return "".join(
            piece if isinstance(piece, str) else row[piece] if piece < len(row) else "" for piece in self.pieces
        )


def has_placeholders(text: str) -> bool:
    return any(match.group(1) is not None for match in _TOKEN.finditer(text))


def parse(text: str, header: Sequence[str]) -> MergeText:
    """Split ``text`` on its placeholders; ``UserInputError`` names an unknown one and the columns there are."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        if cell.strip():
            columns.setdefault(_key(cell), index)
    pieces: list[str | int] = []
    used: dict[int, str] = {}
    position = 0
    for match in _TOKEN.finditer(text):
        pieces.append(text[position : match.start()])
        position = match.end()
        name = match.group(1)
        if name is None:
            pieces.append(match.group()[0])  # "{{" → "{", "}}" → "}"
            continue
        column = columns.get(_key(name))
        if column is None:
            known = ", ".join(f"{{{cell.strip()}}}" for cell in header if cell.strip())
            raise UserInputError(
                f"The file has no column “{truncate(name.strip(), 40)}” for {{{truncate(name.strip(), 40)}}}. "
                f"Columns: {truncate(known, 600)}. Write {{{{ and }}}} for literal braces."
            )
        pieces.append(column)
        used.setdefault(column, name.strip())
    pieces.append(text[position:])
    return MergeText(tuple(piece for piece in pieces if piece != ""), used)


@dataclass(frozen=True, slots=True)
class RefusedRow:
    number: str
    reason: str  # "empty: Amount" or "too long: 11 SMS parts"


@dataclass(slots=True)
class Personalised:
    """Each kept number's own text, what was refused, and the counts the preview shows."""

    numbers: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    lengths: list[SmsLength] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)

    @property
    def total_units(self) -> int:
        return sum(length.segments for length in self.lengths)

    @property
    def smallest_parts(self) -> int:
        return min((length.segments for length in self.lengths), default=0)

    @property
    def largest_parts(self) -> int:
        return max((length.segments for length in self.lengths), default=0)

    @property
    def sample(self) -> str | None:
        return self.bodies[0] if self.bodies else None

    @property
    def distinct_texts(self) -> int:
        return len(set(self.bodies))


def personalise(
    merge: MergeText, numbers: Sequence[str], rows: Sequence[Sequence[str]], *, max_segments: int = MAX_SEGMENTS
) -> Personalised:
    """Render every row; a row with an empty used value, or a text over ``max_segments`` parts, is refused."""
    used = list(merge.placeholders)
    measured: dict[str, SmsLength] = {}
    result = Personalised()
    for number, row in zip(numbers, rows, strict=True):
        empty = [index for index in used if index >= len(row) or not row[index]]
        if empty:
            names = ", ".join(merge.placeholders[index] for index in empty)
            result.refused.append(RefusedRow(number, f"empty {names}"))
            continue
        body = merge.render(row)
        length = measured.get(body)
        if length is None:
            length = measured[body] = measure(body)
        if length.segments > max_segments:
            result.refused.append(RefusedRow(number, f"too long: {length.segments} SMS parts"))
            continue
        result.numbers.append(number)
        result.bodies.append(body)
        result.lengths.append(length)
    return result
