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

from bot.phone import InvalidPhoneNumberError, normalise_phone
from bot.services.errors import UserInputError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
SAMPLE_ROWS = 20  # enough to see the layout; each sampled cell costs a phone-number parse per separator
SAMPLE_CELLS = 200  # wide tables fit; a TXT may hold all its numbers on one line

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
_NUMERIC = re.compile(r"[\d\s+\-.,;|()eE'\"=]*\d[\d\s+\-.,;|()eE'\"=]*")
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


@dataclass(frozen=True, slots=True)
class _Layout:
    column: int | None  # None: every cell is a number (a list)
    header: str | None
    skip: int  # header rows before the data


def check_upload(file_name: str | None, mime_type: str | None, size: int | None) -> None:
    """Refuse what cannot be a list of numbers before downloading it."""
    suffix = _suffix(file_name)
    if suffix in SPREADSHEET_SUFFIXES:
        raise UserInputError(f"“{file_name}” is a spreadsheet. Save it as CSV (File → Save as → CSV) and send that.")
    is_text_mime = mime_type is None or mime_type.startswith("text/") or mime_type in TEXT_MIME_TYPES
    if suffix not in TEXT_SUFFIXES or not is_text_mime:
        raise UserInputError(f"“{file_name or 'This file'}” is not a CSV or TXT file of numbers.")
    if size is not None and size > MAX_FILE_BYTES:
        raise UserInputError(_too_big(size))


def numbers_from_file(content: bytes, file_name: str | None) -> FileNumbers:
    """Read the numbers of a CSV or TXT file, or raise ``UserInputError`` saying why the file cannot be used."""
    if len(content) > MAX_FILE_BYTES:
        raise UserInputError(_too_big(len(content)))
    text = _decode(content)
    separators = ",;\t| " if _suffix(file_name) in LIST_SUFFIXES else ",;\t|"
    try:
        delimiter, sample = _choose_delimiter(text, separators)
        if not sample:
            raise UserInputError("The file is empty.")
        layout = _layout(sample)
        rows = _rows(text, delimiter)
        numbers, count = _collect(itertools.islice(rows, layout.skip, None), layout)
    except csv.Error as exc:
        raise UserInputError(f"The file cannot be read as CSV ({exc}).") from None
    if not numbers:
        where = f"in the column “{layout.header}”" if layout.header else "in the file"
        raise UserInputError(f"No numbers found {where}.")
    return FileNumbers(numbers=numbers, column=layout.header, rows=count)


def clean_cell(cell: str) -> str:
    """Undo what spreadsheets do to phone numbers; anything else comes back stripped."""
    value = cell.strip().removeprefix("=").strip().strip("'\"").strip()
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


def _rows(text: str, delimiter: str) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    return (row for row in reader if any(_filled(cell) for cell in row))


def _choose_delimiter(text: str, separators: str) -> tuple[str, list[list[str]]]:
    """The separator under which the first rows hold the most numbers, then a phone header, then even rows."""
    best: tuple[tuple[int, int, int], str, list[list[str]]] | None = None
    for delimiter in separators:
        try:
            sample = list(itertools.islice(_rows(text, delimiter), SAMPLE_ROWS))
        except csv.Error:
            continue  # e.g. a whole line longer than a field may be: not this separator
        rows = [row[:SAMPLE_CELLS] for row in sample]
        widths = Counter(len(row) for row in sample).most_common(1)
        even_rows = widths[0][1] if widths and widths[0][0] > 1 else 0
        has_header = int(bool(rows) and any(_header_rank(cell) is not None for cell in rows[0]))
        phones = sum(_is_phone(item) for row in rows for cell in row for item in _list_items(cell, mixed=False))
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
    if all(_NUMERIC.fullmatch(cell.strip()) for row in sample for cell in row if _filled(cell)):
        return _Layout(column=None, header=None, skip=0)
    return _Layout(column=_numbers_column(sample), header=None, skip=0)


def _is_header(row: list[str]) -> bool:
    """A first row of labels: no number in it, and a phone label or nothing but words."""
    if any(_is_phone(clean_cell(cell)) for cell in row):
        return False
    if any(_header_rank(cell) is not None for cell in row):
        return True
    filled = [cell.strip() for cell in row if _filled(cell)]
    return all(_LETTER.search(cell) and not _NUMERIC.fullmatch(cell) for cell in filled)


def _header_rank(cell: str) -> int | None:
    label = cell.strip().lower()
    return next((rank for rank, pattern in enumerate(HEADER_PATTERNS) if pattern.search(label)), None)


def _phones_in_column(rows: list[list[str]], column: int) -> int:
    return sum(column < len(row) and _is_phone(clean_cell(row[column])) for row in rows)


def _numbers_column(rows: list[list[str]]) -> int:
    """The column holding the most valid numbers, the leftmost on a tie; the first when none holds any."""
    width = max((len(row) for row in rows), default=1)
    counts = [_phones_in_column(rows, column) for column in range(width)]
    return max(range(width), key=lambda column: (counts[column], -column))


def _collect(rows: Iterable[list[str]], layout: _Layout) -> tuple[list[str], int]:
    numbers: list[str] = []
    count = 0
    for row in rows:
        if layout.column is None:
            for cell in row:
                numbers.extend(_list_items(cell, mixed=True))
            count = len(numbers)  # a list is limited by its numbers, a table by its rows
        else:
            count += 1
            value = clean_cell(row[layout.column]) if layout.column < len(row) else ""
            if _filled(value):
                numbers.append(value)
        if count > MAX_ROWS:
            what = "numbers" if layout.column is None else "rows"
            raise UserInputError(f"The file has more than {MAX_ROWS:,} {what}; split it into smaller files.")
    return numbers, count


def _list_items(cell: str, *, mixed: bool) -> list[str]:
    """The numbers in one cell of a list: the cell when it is one number ("0712 345 678", "7,12345678E+08"),
    else its pieces between spaces and, when a list may mix separators (``mixed``), between ``,;|``."""
    value = clean_cell(cell)
    if not _filled(value):
        return []
    if _is_phone(value) or value.endswith(LOST_DIGITS):
        return [value]
    items: list[str] = []
    for piece in _LIST_SEPARATORS.split(value) if mixed else [value]:
        piece = clean_cell(piece)
        if not _filled(piece):
            continue
        if _is_phone(piece) or not any(char.isspace() for char in piece):
            items.append(piece)
        else:
            items.extend(part for part in map(clean_cell, piece.split()) if _filled(part))
    return items


def _filled(cell: str) -> bool:
    """Whether a cell holds anything: "", " " and placeholders like "-" or ";;" do not."""
    return any(char.isalnum() for char in cell)


@functools.lru_cache(maxsize=4096)
def _is_phone(text: str) -> bool:
    try:
        normalise_phone(text)
    except InvalidPhoneNumberError:
        return False
    return True


def _suffix(file_name: str | None) -> str:
    return PurePath(file_name or "").suffix.lower()


def _too_big(size: int) -> str:
    return f"The file is too big ({_size(size)}); the limit is {_size(MAX_FILE_BYTES)}. Split it into smaller files."


def _size(count: int) -> str:
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count:,} bytes"
