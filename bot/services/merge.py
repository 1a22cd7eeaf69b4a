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
from bot.phone import (
    RecipientList,
    RefusedNumber,
    display_phone,
    read_recipients_kept,
)
from bot.services.errors import UserInputError
from bot.sms_text import MAX_SEGMENTS, SmsLength, is_blank, measure
from storage import PersonalText

# "{{" and "}}" first, so "{{name}}" is the literal text "{name}"; a placeholder holds no brace or line break.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]+)\}")
_SPACES = re.compile(r"\s+")


def _key(name: str) -> str:
    return _SPACES.sub(" ", name.strip()).casefold()


@dataclass(frozen=True, slots=True)
class FileColumns:
    """An uploaded CSV's header and each number's row, in the order of the numbers."""

    header: Sequence[str]
    values: Sequence[Sequence[str]]


@dataclass(frozen=True, slots=True)
class MergeText:
    """A message split into literal pieces and column indexes: ``pieces[i]`` is a str or a column index."""

    pieces: tuple[str | int, ...]
    placeholders: dict[int, str]  # column index → the placeholder as first written, in order of first use

    def render(self, row: Sequence[str]) -> str:
        return "".join(
            piece if isinstance(piece, str) else row[piece] if piece < len(row) else "" for piece in self.pieces
        )


# Texts rendered before (a scheduled mail merge keeps each recipient's text): one column, used whole.
OWN_TEXT = MergeText((0,), {0: "text"})


def has_placeholders(text: str) -> bool:
    return any(match.group(1) is not None for match in _TOKEN.finditer(text))


def literal_braces(text: str) -> str:
    """A text without placeholders as it is sent: ``{{`` → ``{`` and ``}}`` → ``}``."""
    return _TOKEN.sub(lambda match: match.group()[0], text)


def placeholder_names(text: str) -> list[str]:
    """The placeholders of ``text`` as written (``{Name}``), each once, in order; ``{{`` and ``}}`` are none."""
    names = [f"{{{match.group(1)}}}" for match in _TOKEN.finditer(text) if match.group(1) is not None]
    return list(dict.fromkeys(names))


def no_columns_refusal(typed: str, text: str) -> str:
    """Why a text with placeholders cannot go without a CSV: a template needs one; typed braces may be literal."""
    names = truncate(", ".join(placeholder_names(text)), 200)
    if typed.strip() != text.strip():
        template = truncate(typed.strip(), 40)
        return (
            f"Template {template} has placeholders ({names}): it needs a CSV with those columns. "
            f"Upload the file with the caption /bulk {template}."
        )
    return (
        f"{names}: braces are placeholders, filled from a CSV's columns, and there is no CSV here. "
        "For literal braces write {{ and }} ({{code}} sends {code}); to fill them, use /bulk with a CSV."
    )


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

    def without(self, numbers: frozenset[str]) -> Personalised:
        """The same texts less those of ``numbers`` (opted out since the file was written)."""
        keep = [index for index, number in enumerate(self.numbers) if number not in numbers]
        return Personalised(
            numbers=[self.numbers[i] for i in keep],
            bodies=[self.bodies[i] for i in keep],
            lengths=[self.lengths[i] for i in keep],
            refused=self.refused,
        )

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

    def texts(self) -> list[PersonalText]:
        """What each kept recipient's message row stores."""
        return [
            PersonalText(body, length.encoding.value, length.segments)
            for body, length in zip(self.bodies, self.lengths, strict=True)
        ]


def personalise(
    merge: MergeText, numbers: Sequence[str], rows: Sequence[Sequence[str]], *, max_segments: int = MAX_SEGMENTS
) -> Personalised:
    """Render every row; a row with an empty used value, or a text over ``max_segments`` parts, is refused."""
    used = list(merge.placeholders)
    measured: dict[str, SmsLength] = {}
    result = Personalised()
    for number, row in zip(numbers, rows, strict=True):
        empty = [index for index in used if index >= len(row) or is_blank(row[index])]
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


def recipients_with_rows(
    numbers: Sequence[str], rows: Sequence[Sequence[str]]
) -> tuple[RecipientList, list[Sequence[str]]]:
    """``read_recipients`` that keeps each valid number's row beside it (a repeated number keeps its first row)."""
    if len(numbers) != len(rows):
        raise ValueError(f"{len(numbers)} numbers but {len(rows)} rows")
    recipients, positions = read_recipients_kept(numbers)
    return recipients, [rows[position] for position in positions]


def without_refused_rows(recipients: RecipientList, personal: Personalised) -> RecipientList:
    """The recipients that get a text; rows refused for their values join the refused numbers, with the reason."""
    extra = tuple(RefusedNumber(raw=display_phone(row.number), reason=row.reason) for row in personal.refused)
    return RecipientList(
        valid=tuple(personal.numbers), refused=recipients.refused + extra, duplicates=recipients.duplicates
    )
