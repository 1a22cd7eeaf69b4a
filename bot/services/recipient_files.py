"""Phone numbers from an uploaded CSV or TXT file, as spreadsheets really export them.

CSV: the phone column is found by its header (phone, number, msisdn, mobile, also as part of a longer header such
as "Phone Number") or else the first column is used; a header row that holds no number is skipped. Handled: a
byte-order mark, UTF-16 exports, ``;``/tab/``|`` separators, quoted fields, and numbers Excel mangled: ``7.12345678E8``
(scientific notation), ``712345678.0`` and ``712345678`` (leading zero lost; valid as it is for Kenya).
TXT: numbers separated by newlines, commas, semicolons or spaces.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from bot.phone import InvalidPhoneNumberError, normalise_phone
from bot.services.errors import UserInputError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
TEXT_SUFFIXES = {".csv", ".txt", ".tsv", ".text", ""}
SPREADSHEET_SUFFIXES = {".xlsx", ".xls", ".ods", ".numbers"}
PHONE_HEADERS = ("phone", "number", "msisdn", "mobile")
_SCIENTIFIC = re.compile(r"^[+]?\d+(\.\d+)?[eE][+]?\d+$")
_TRAILING_ZERO_DECIMAL = re.compile(r"^(\+?\d+)\.0+$")
_TXT_SEPARATORS = re.compile(r"[,;\t\r\n|]+")


@dataclass(frozen=True, slots=True)
class FileNumbers:
    numbers: list[str]  # raw cells, already un-mangled; normalising happens with every other number
    column: str | None  # the header used, when there was one
    rows: int


def check_upload(file_name: str | None, mime_type: str | None, size: int | None) -> None:
    """Refuse what cannot be a list of numbers before downloading it."""
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix in SPREADSHEET_SUFFIXES:
        raise UserInputError(f"“{file_name}” is a spreadsheet. Save it as CSV (File → Save as → CSV) and send that.")
    is_text_mime = (
        mime_type is None
        or mime_type.startswith("text/")
        or mime_type
        in {
            "application/csv",
            "application/vnd.ms-excel",  # what some systems call a .csv
            "application/octet-stream",
        }
    )
    if suffix not in TEXT_SUFFIXES or not is_text_mime:
        raise UserInputError(f"“{file_name or 'this file'}” is not a CSV or TXT file of numbers.")
    if size is not None and size > MAX_FILE_BYTES:
        raise UserInputError(
            f"The file is too big ({size / 1_048_576:.1f} MB); the limit is {MAX_FILE_BYTES // 1_048_576} MB."
        )


def numbers_from_file(content: bytes, file_name: str | None) -> FileNumbers:
    if len(content) > MAX_FILE_BYTES:
        raise UserInputError(f"The file is too big; the limit is {MAX_FILE_BYTES // 1_048_576} MB.")
    text = _decode(content)
    if PurePath(file_name or "").suffix.lower() == ".txt":
        return _from_txt(text)
    return _from_csv(text)


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")  # older Excel on Windows
        except UnicodeDecodeError:
            raise UserInputError("The file is not text: send a CSV or TXT file of numbers.") from None
    if "\x00" in text:
        raise UserInputError("The file is not text: send a CSV or TXT file of numbers.")
    if not text.strip():
        raise UserInputError("The file is empty.")
    return text


def clean_cell(cell: str) -> str:
    """Undo what spreadsheets do to phone numbers; anything else is returned stripped."""
    value = cell.strip().strip("'\"").strip()
    if _SCIENTIFIC.match(value):
        try:
            return str(int(Decimal(value)))
        except (InvalidOperation, ValueError):
            return value
    match = _TRAILING_ZERO_DECIMAL.match(value)
    if match:
        return match.group(1)
    return value


def _limit_rows(count: int) -> None:
    if count > MAX_ROWS:
        raise UserInputError(f"The file has more than {MAX_ROWS:,} rows; split it into smaller files.")


def _from_txt(text: str) -> FileNumbers:
    pieces = [clean_cell(p) for p in _TXT_SEPARATORS.split(text)]
    numbers: list[str] = []
    for piece in pieces:
        if not piece:
            continue
        if " " in piece and not _is_phone(piece):
            numbers.extend(part for part in piece.split() if part)
        else:
            numbers.append(piece)
        _limit_rows(len(numbers))
    return FileNumbers(numbers=numbers, column=None, rows=len(numbers))


def _from_csv(text: str) -> FileNumbers:
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # a single column has no separator to find
    reader = csv.reader(io.StringIO(text), dialect)
    first = next(reader, None)
    while first is not None and not any(cell.strip() for cell in first):
        first = next(reader, None)
    if first is None:
        raise UserInputError("The file is empty.")
    column_index, header = _find_column(first)
    numbers: list[str] = []
    if header is None:
        numbers.append(clean_cell(first[column_index]) if column_index < len(first) else "")
    rows = 1
    for row in reader:
        rows += 1
        _limit_rows(rows - (0 if header is None else 1))
        if not any(cell.strip() for cell in row):
            continue
        numbers.append(clean_cell(row[column_index]) if column_index < len(row) else "")
    numbers = [n for n in numbers if n]
    return FileNumbers(numbers=numbers, column=header, rows=rows)


def _find_column(first_row: list[str]) -> tuple[int, str | None]:
    """(column index, header text) — header ``None`` when the first row is already data."""
    lowered = [cell.strip().lower() for cell in first_row]
    for wanted in PHONE_HEADERS:
        for index, cell in enumerate(lowered):
            if cell == wanted:
                return index, first_row[index].strip()
    for wanted in PHONE_HEADERS:
        for index, cell in enumerate(lowered):
            if wanted in cell:
                return index, first_row[index].strip()
    for index, cell in enumerate(first_row):
        if _is_phone(clean_cell(cell)):
            return index, None  # no header: the first column that holds a number
    return 0, first_row[0].strip() or "(first column)"


def _is_phone(text: str) -> bool:
    try:
        normalise_phone(text)
    except InvalidPhoneNumberError:
        return False
    return True
