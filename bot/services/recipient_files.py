"""Phone numbers from an uploaded CSV or TXT file, as spreadsheets and phones really export them.

More than ``csv.reader`` because people send what Excel, Google Sheets and contact apps produce. The layout is
read from the first rows, by where valid numbers actually are:
- a header row names the phone column (``Phone``, ``Mobile No.``, ``MSISDN``, ``Phone Number``…, any column);
  ``Phone`` wins over ``ID Number``, and a named column that holds no number loses to one that does;
- without a header, a file holding nothing but numbers is a list (one or many per line), and a table is read in
  the column where the numbers are (``Otieno,0712345678``);
- the separator (``,`` ``;`` tab ``|``, and spaces in a TXT) is the one under which numbers are found, so
  ``Otieno, Jane;0712345678`` is split on ``;`` and not inside the name.
Encodings: UTF-8 with or without BOM, UTF-16 (Excel's "Unicode text"), cp1252 (older Excel on Windows).
Numbers Excel mangled are repaired when no digit was lost (``7.12345678E8``, ``712345678.0``, ``="0712345678"``;
a lost leading zero is valid as it is for Kenya) and refused when digits were lost (``2.54712E+11``): sending to
``254712000000`` would reach a stranger.

Work is bounded before it is spent, so a hostile file costs a fraction of a second: the size (checked before
download), the longest line (``MAX_LINE_CHARS``), the lines that can hold numbers (``MAX_ROWS``), the length of a
cell read as a number (``MAX_CELL_CHARS``) and the cells sampled to find the layout (``SAMPLE_ITEMS``).
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath

from bot.formatting import truncate
from bot.phone import InvalidPhoneNumberError, missing_phone, normalise_phone
from bot.services.errors import UserInputError

MAX_FILE_BYTES = 10 * 1024 * 1024  # the most this module reads; uploads are limited by MAX_UPLOAD_BYTES first
MAX_ROWS = 100_000  # rows of a table, or numbers of a list
# A pasted list of 100,000 numbers on one line fits (~1.2 M characters); a 10 MB file on one line does not.
MAX_LINE_CHARS = 1_500_000
MAX_CELL_CHARS = 64  # a phone number, however written ("=\"+254 712 345 678\""), is far shorter
SAMPLE_ROWS = 20  # enough to see the layout; each sampled cell costs a phone-number parse per separator
SAMPLE_CELLS = 200  # wide tables fit; a TXT may hold all its numbers on one line
SAMPLE_ITEMS = 1_000  # numbers parsed per separator while choosing one (a valid one costs ~25 µs)

TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ".text", ""})
LIST_SUFFIXES = frozenset({".txt", ".text", ""})  # where numbers may also be separated by spaces
SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".ods", ".numbers"})
# What phones and desktop systems call a .csv besides text/*.
TEXT_MIME_TYPES = frozenset(
    {"application/csv", "application/x-csv", "application/vnd.ms-excel", "application/octet-stream"}
)
# Header words, best first: "Phone" beats "ID Number" when a file has both.
HEADER_PATTERNS = tuple(
    re.compile(p) for p in (r"phone", r"mobile", r"msisdn", r"\bcell", r"\btel", r"\bsimu\b", r"number")
)
LOST_DIGITS = "(digits lost in Excel)"
NOT_TEXT = "The file is not text: send a CSV or TXT file of numbers."

_SCIENTIFIC = re.compile(r"[+]?\d+([.,]\d+)?[eE][+]?\d+")
_DECIMAL_ZERO = re.compile(r"(\+?\d+)\.0+")
# Checked as "only these characters" plus "a digit somewhere": one pattern doing both backtracks quadratically.
_NUMERIC_CHARS = re.compile(r"[\d\s+\-.,;|()eE'\"=]*")
_DIGIT = re.compile(r"\d")
_LONG_DIGITS = re.compile(r"\d{9,}")  # part of at most one number: a phone number has 9 digits or more
_FILLED_LINE = re.compile(r"^[^\n]*?[^\W_]", re.MULTILINE)  # a line with a letter or digit (see _filled)
_LIST_SEPARATORS = re.compile(r"[,;|\t]+")
_LETTER = re.compile(r"[^\W\d_]")
# Tab, line breaks, form feed and DOS's end-of-file mark occur in text files; other control bytes mean binary.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FileNumbers:
    """Numbers as written in the file (repaired where Excel mangled them); normalised later with all others."""

    numbers: list[str]
    column: str | None  # the header of the column read, when the file had one
    rows: int  # data rows read; for a list, numbers read
    # With a header row: its cells, and each number's whole row (``values[i]`` is the row of ``numbers[i]``),
    # for messages personalised from the other columns.
    header: list[str] | None = None
    values: list[list[str]] | None = None


@dataclass(frozen=True, slots=True)
class _Layout:
    column: int | None  # None: every cell is a number (a list)
    header: str | None
    skip: int  # header rows before the data


def check_upload(
    file_name: str | None, mime_type: str | None, size: int | None, *, max_bytes: int | None = None
) -> None:
    """Refuse what cannot be a list of numbers before downloading it (``max_bytes``: MAX_UPLOAD_BYTES)."""
    suffix = _suffix(file_name)
    if suffix in SPREADSHEET_SUFFIXES:
        raise UserInputError(f"“{file_name}” is a spreadsheet. Save it as CSV (File → Save as → CSV) and send that.")
    is_text_mime = mime_type is None or mime_type.startswith("text/") or mime_type in TEXT_MIME_TYPES
    if suffix not in TEXT_SUFFIXES or not is_text_mime:
        raise UserInputError(f"“{file_name or 'This file'}” is not a CSV or TXT file of numbers.")
    limit = _byte_limit(max_bytes)
    if size is not None and size > limit:
        raise UserInputError(_too_big(size, limit))


def numbers_from_file(content: bytes, file_name: str | None, *, max_bytes: int | None = None) -> FileNumbers:
    """Read the numbers of a CSV or TXT file, or raise ``UserInputError`` saying why the file cannot be used."""
    limit = _byte_limit(max_bytes)
    if len(content) > limit:
        raise UserInputError(_too_big(len(content), limit))
    text = _decode(content)
    _check_lines(text)
    separators = ",;\t| " if _suffix(file_name) in LIST_SUFFIXES else ",;\t|"
    try:
        delimiter, sample = _choose_delimiter(text, separators)
        if not sample:
            raise UserInputError("The file is empty.")
        layout = _layout(sample)
        _check_count(text, layout)
        rows = _rows(text, delimiter)
        values: list[list[str]] | None = [] if layout.skip and layout.column is not None else None
        numbers, count = _collect(itertools.islice(rows, layout.skip, None), layout, values)
    except csv.Error as exc:
        raise UserInputError(f"The file cannot be read as CSV ({exc}).") from None
    if not numbers:
        where = f"in the column “{layout.header}”" if layout.header else "in the file"
        raise UserInputError(f"No numbers found {where}.")
    header = [cell.strip() for cell in sample[0]] if values is not None else None
    return FileNumbers(numbers=numbers, column=layout.header, rows=count, header=header, values=values)


def clean_cell(cell: str) -> str:
    """Undo what spreadsheets do to phone numbers; anything else comes back stripped."""
    value = cell.strip().removeprefix("=").strip().strip("'\"").strip()
    if len(value) > MAX_CELL_CHARS:
        return value  # not a number: never handed to Decimal ("1" + 5,000 zeros + "e0" would be)
    if _SCIENTIFIC.fullmatch(value):
        return _from_scientific(value)
    match = _DECIMAL_ZERO.fullmatch(value)
    if match:
        return match.group(1)
    return value


def _from_scientific(value: str) -> str:
    number = Decimal(value.replace(",", "."))
    exponent = number.as_tuple().exponent
    if number != number.to_integral_value() or not isinstance(exponent, int):
        return value  # not a whole number: left for the refusal
    if exponent > 0:
        # "2.54712E+11": the cell showed 6 digits of 12 and the export wrote what was shown.
        return f"{value} {LOST_DIGITS}"
    return str(int(number))


def _decode(content: bytes) -> str:
    if not content.strip():
        raise UserInputError("The file is empty.")
    try:
        text = content.decode(_utf16(content) or "utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")
        except UnicodeDecodeError:
            raise UserInputError(NOT_TEXT) from None
    if _CONTROL.search(text):
        raise UserInputError(NOT_TEXT)
    if not text.strip():
        raise UserInputError("The file is empty.")
    return text


def _utf16(content: bytes) -> str | None:
    """UTF-16 by its byte-order mark, or without one by the zero high bytes of mostly-ASCII text."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = content[:512]
    if len(head) < 4 or len(head) % 2:
        return None
    half = len(head) // 2
    odd_zeros, even_zeros = head[1::2].count(0), head[0::2].count(0)
    if odd_zeros >= 0.8 * half and even_zeros == 0:
        return "utf-16-le"
    if even_zeros >= 0.8 * half and odd_zeros == 0:
        return "utf-16-be"
    return None


def _check_lines(text: str) -> None:
    """A line longer than any table or pasted list would be: refused before the CSV reader splits it."""
    longest = max(text.replace("\r", "\n").split("\n"), key=len)
    if len(longest) > MAX_LINE_CHARS:
        raise UserInputError(
            f"A line of the file is longer than {MAX_LINE_CHARS:,} characters (it starts “{truncate(longest, 30)}”). "
            "Put one number per line, or split the file."
        )


def _check_count(text: str, layout: _Layout) -> None:
    """Too many numbers is refused before any of them is parsed (a valid one costs ~25 µs): a list has at least
    one number per filled line and per run of 9+ digits, a table one row per filled line. Regular expressions
    count in C; a loop in Python over a million lines would cost more than the limit saves."""
    lines = text.replace("\r", "\n")
    too_many = MAX_ROWS + layout.skip
    if lines.count("\n") + 1 > too_many and len(_FILLED_LINE.findall(lines)) > too_many:
        raise UserInputError(_too_many(layout))
    if layout.column is None and len(_LONG_DIGITS.findall(text)) > MAX_ROWS:
        raise UserInputError(_too_many(layout))


def _rows(text: str, delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    return (row for row in reader if any(_filled(cell) for cell in row))


def _choose_delimiter(text: str, separators: str) -> tuple[str, list[list[str]]]:
    """The separator under which the first rows hold the most numbers, then a phone header, then even rows."""
    best: tuple[tuple[int, int, int], str, list[list[str]]] | None = None
    # The sample rows lie in the head: the reader copies what it is given, once per separator.
    cut = text.find("\n", SAMPLE_ROWS * MAX_LINE_CHARS)
    head = text if cut < 0 else text[:cut]
    for delimiter in separators:
        try:
            sample = list(itertools.islice(_rows(head, delimiter), SAMPLE_ROWS))
        except csv.Error:
            continue  # e.g. a whole line longer than a field may be: not this separator
        rows = [row[:SAMPLE_CELLS] for row in sample]
        widths = Counter(len(row) for row in sample).most_common(1)
        even_rows = widths[0][1] if widths and widths[0][0] > 1 else 0
        has_header = int(bool(rows) and any(_header_rank(cell) is not None for cell in rows[0]))
        items = (item for row in rows for cell in row for item in _list_items(cell, mixed=False))
        phones = sum(_is_phone(item) for item in itertools.islice(items, SAMPLE_ITEMS))
        score = (phones, has_header, even_rows)
        if best is None or score > best[0]:
            best = (score, delimiter, rows)
    if best is None:
        raise UserInputError("The file cannot be read as CSV: no separator fits its lines.")
    return best[1], best[2]


def _layout(sample: list[list[str]]) -> _Layout:
    first, data = sample[0], sample[1:]
    if _is_header(first):
        ranked = sorted((rank, i) for i, cell in enumerate(first) if (rank := _header_rank(cell)) is not None)
        named = [i for _, i in ranked]
        with_numbers = [i for i in named if _phones_in_column(data, i)]
        # The best-named column holding numbers, else the best-named one, else wherever the numbers are.
        column = (with_numbers or named or [_numbers_column(data)])[0]
        return _Layout(column=column, header=first[column].strip() if column < len(first) else None, skip=1)
    if all(_numeric(cell.strip()) for row in sample for cell in row if _filled(cell)):
        return _Layout(column=None, header=None, skip=0)
    return _Layout(column=_numbers_column(sample), header=None, skip=0)


def _is_header(row: list[str]) -> bool:
    """A first row of labels: no number in it, and a phone label or nothing but words."""
    if any(_is_phone(clean_cell(cell)) for cell in row):
        return False
    if any(_header_rank(cell) is not None for cell in row):
        return True
    filled = [cell.strip() for cell in row if _filled(cell)]
    return all(_LETTER.search(cell) and not _numeric(cell) for cell in filled)


def _numeric(cell: str) -> bool:
    """Digits with the punctuation numbers are written with, nothing else."""
    return _NUMERIC_CHARS.fullmatch(cell) is not None and _DIGIT.search(cell) is not None


def _header_rank(cell: str) -> int | None:
    label = cell.strip().lower()
    if len(label) > MAX_CELL_CHARS:
        return None  # a sentence, not a column name
    return next((rank for rank, pattern in enumerate(HEADER_PATTERNS) if pattern.search(label)), None)


def _phones_in_column(rows: list[list[str]], column: int) -> int:
    return sum(column < len(row) and _is_phone(clean_cell(row[column])) for row in rows)


def _numbers_column(rows: list[list[str]]) -> int:
    """The column holding the most valid numbers, the leftmost on a tie; the first when none holds any."""
    width = max((len(row) for row in rows), default=1)
    counts = [_phones_in_column(rows, column) for column in range(width)]
    return max(range(width), key=lambda column: (counts[column], -column))


def _collect(rows: Iterable[list[str]], layout: _Layout, values: list[list[str]] | None) -> tuple[list[str], int]:
    """The numbers and the rows read; with ``values``, also each number's row (cells stripped)."""
    numbers: list[str] = []
    count = 0
    for row in rows:
        if layout.column is None:
            # A list is limited by its numbers, checked one by one: a long row cannot run far past the limit.
            for item in (item for cell in row for item in _list_items(cell, mixed=True)):
                numbers.append(_checked(item))
                if len(numbers) > MAX_ROWS:
                    raise UserInputError(_too_many(layout))
            count = len(numbers)
        else:
            count += 1  # a table by its rows
            if count > MAX_ROWS:
                raise UserInputError(_too_many(layout))
            value = clean_cell(row[layout.column]) if layout.column < len(row) else ""
            if _filled(value):
                numbers.append(_checked(value))
            elif any(_filled(cell) for cell in row):
                numbers.append(missing_phone(layout.skip + count))  # refused later, so the row is counted
            else:
                continue  # a blank line
            if values is not None:
                values.append([cell.strip() for cell in row])
    return numbers, count


def _checked(value: str) -> str:
    if len(value) > MAX_CELL_CHARS:
        raise UserInputError(
            f"“{truncate(value, 30)}” is longer than {MAX_CELL_CHARS} characters: a cell of numbers holds one phone "
            "number (or a few, separated by commas or spaces)."
        )
    return value


def _too_many(layout: _Layout) -> str:
    what = "numbers" if layout.column is None else "rows"
    return f"The file has more than {MAX_ROWS:,} {what}; split it into smaller files."


def _list_items(cell: str, *, mixed: bool) -> Iterator[str]:
    """The numbers in one cell of a list: the cell when it is one number ("0712 345 678", "7,12345678E+08"),
    else its pieces between spaces and, when a list may mix separators (``mixed``), between ``,;|``.
    Lazy, so whoever reads them can stop at a limit before the rest are parsed."""
    value = clean_cell(cell)
    if not _filled(value):
        return
    if _is_phone(value) or value.endswith(LOST_DIGITS):
        yield value
        return
    for piece in _LIST_SEPARATORS.split(value) if mixed else [value]:
        piece = clean_cell(piece)
        if not _filled(piece):
            continue
        if _is_phone(piece) or not any(char.isspace() for char in piece):
            yield piece
        else:
            yield from (part for part in map(clean_cell, piece.split()) if _filled(part))


def _filled(cell: str) -> bool:
    """Whether a cell holds anything: "", " " and placeholders like "-" or ";;" do not."""
    return any(char.isalnum() for char in cell)


@functools.lru_cache(maxsize=4096)
def _is_phone(text: str) -> bool:
    if len(text) > MAX_CELL_CHARS:
        return False
    try:
        normalise_phone(text)
    except InvalidPhoneNumberError:
        return False
    return True


def _suffix(file_name: str | None) -> str:
    return PurePath(file_name or "").suffix.lower()


def _byte_limit(max_bytes: int | None) -> int:
    return MAX_FILE_BYTES if max_bytes is None else min(max_bytes, MAX_FILE_BYTES)


def _too_big(size: int, limit: int) -> str:
    return f"The file is too big ({_size(size)}); the limit is {_size(limit)}. Split it into smaller files."


def _size(count: int) -> str:
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count:,} bytes"
