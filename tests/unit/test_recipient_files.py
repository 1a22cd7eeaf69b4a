"""Reading numbers from uploaded files: every export quirk people send, and every refusal, on real bytes."""

from __future__ import annotations

import pytest

from bot.phone import InvalidPhoneNumberError, normalise_phone
from bot.services import recipient_files
from bot.services.errors import UserInputError
from bot.services.recipient_files import LOST_DIGITS, check_upload, clean_cell, numbers_from_file

THREE = ["254712345678", "254722000000", "254733000000"]


def normalised(content: bytes, file_name: str = "contacts.csv") -> list[str]:
    return [normalise_phone(number) for number in numbers_from_file(content, file_name).numbers]


def refusal(content: bytes, file_name: str = "contacts.csv") -> str:
    with pytest.raises(UserInputError) as caught:
        numbers_from_file(content, file_name)
    return str(caught.value)


# --- encodings and line endings ----------------------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_header() -> None:
    result = numbers_from_file("\ufeffphone\n0712345678\n0722000000\n".encode(), "contacts.csv")
    assert result.column == "phone"
    assert result.numbers == ["0712345678", "0722000000"]


def test_excel_unicode_text_export_in_utf16_with_tabs_and_crlf() -> None:
    content = "Name\tPhone\r\nZoë Wanjiru\t0712345678\r\nOtieno\t0722000000\r\n".encode("utf-16")
    assert content.startswith(b"\xff\xfe")
    result = numbers_from_file(content, "contacts.txt")
    assert result.column == "Phone"
    assert result.numbers == ["0712345678", "0722000000"]


def test_utf16_without_byte_order_mark_is_still_read() -> None:
    assert normalised("0712345678\n0722000000\n".encode("utf-16-le"), "list.txt") == THREE[:2]


def test_cp1252_names_in_other_columns_do_not_stop_the_numbers() -> None:
    content = "Name,Phone\nJosé Café – Ngong Rd,0712345678\nRenée,0722000000\n".encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    assert normalised(content) == THREE[:2]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_any_line_ending_with_blank_lines_between(newline: str) -> None:
    lines = ["phone", "0712345678", "", "   ", "0722000000", "", "0733000000", "", ""]
    assert normalised(newline.join(lines).encode()) == THREE


# --- separators and quoting --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "file_name"),
    [
        (b"Name;Mobile\nAlice;0712345678\nBob;0722000000\nCarol;0733000000\n", "contacts.csv"),
        (b"Name\tMobile\nAlice\t0712345678\nBob\t0722000000\nCarol\t0733000000\n", "contacts.tsv"),
        (b"Name|Mobile\nAlice|0712345678\nBob|0722000000\nCarol|0733000000\n", "contacts.csv"),
        (b"Name\tMobile\nAlice\t0712345678\nBob\t0722000000\nCarol\t0733000000\n", "contacts.txt"),
    ],
    ids=["semicolon", "tab", "pipe", "tab-in-txt"],
)
def test_separator_is_detected(content: bytes, file_name: str) -> None:
    assert normalised(content, file_name) == THREE


def test_semicolon_file_whose_names_hold_unquoted_commas() -> None:
    content = b"Otieno, Jane;0712345678\nKamau, Paul;0722000000\nWanjiru, Ann;0733000000\n"
    assert normalised(content) == THREE


def test_quoted_fields_holding_commas_quotes_and_line_breaks() -> None:
    content = (
        b"Name,Address,Phone Number\n"
        b'"Otieno, Jane","Box 12, Nairobi",0712345678\n'
        b'"Kamau ""KP"" Paul","Line one\nLine two","0722 000 000"\n'
        b'"Wanjiru, Ann",,"+254 733 000 000"\n'
    )
    result = numbers_from_file(content, "contacts.csv")
    assert result.column == "Phone Number"
    assert [normalise_phone(n) for n in result.numbers] == THREE
    assert result.rows == 3


# --- which column ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["phone", "Number", "MSISDN", "mobile", "Phone Number", "Mobile No.", "Tel", "Simu"])
@pytest.mark.parametrize("position", [0, 1, 3])
def test_phone_column_is_found_by_its_header_in_any_column(header: str, position: int) -> None:
    labels = ["Name", "Email", "Town"]
    labels.insert(position, header)
    rows = [",".join(labels)]
    for name, number in zip(["Alice", "Bob", "Carol"], ["0712345678", "0722000000", "0733000000"], strict=True):
        cells = [name, f"{name.lower()}@example.com", "Nairobi"]
        cells.insert(position, number)
        rows.append(",".join(cells))
    result = numbers_from_file("\n".join(rows).encode(), "contacts.csv")
    assert result.column == header
    assert [normalise_phone(n) for n in result.numbers] == THREE


def test_phone_header_wins_over_an_id_number_column() -> None:
    content = b"Name,ID Number,Mobile No.\nAlice,12345678,0712345678\nBob,23456789,0722000000\n"
    result = numbers_from_file(content, "contacts.csv")
    assert result.column == "Mobile No."
    assert result.numbers == ["0712345678", "0722000000"]


def test_a_named_column_without_numbers_loses_to_one_with_numbers() -> None:
    content = b"Phone (office),Mobile\n,0712345678\n,0722000000\n"
    result = numbers_from_file(content, "contacts.csv")
    assert result.column == "Mobile"
    assert result.numbers == ["0712345678", "0722000000"]


def test_unknown_header_is_skipped_and_the_column_holding_numbers_is_read() -> None:
    content = b"Jina,Contact\nAlice,0712345678\nBob,0722000000\nCarol,0733000000\n"
    result = numbers_from_file(content, "contacts.csv")
    assert result.column == "Contact"
    assert [normalise_phone(n) for n in result.numbers] == THREE


def test_no_header_single_column_keeps_the_first_row() -> None:
    assert normalised(b"0712345678\n0722000000\n0733000000\n") == THREE


def test_no_header_reads_the_first_column_holding_a_number() -> None:
    content = b"Alice,0712345678,Nairobi\nBob,0722000000,Mombasa\nCarol,0733000000,Kisumu\n"
    result = numbers_from_file(content, "contacts.csv")
    assert result.column is None
    assert [normalise_phone(n) for n in result.numbers] == THREE


def test_an_invalid_number_in_the_first_row_is_kept_to_be_refused_not_taken_for_a_header() -> None:
    assert numbers_from_file(b"07123\n0712345678\n", "list.csv").numbers == ["07123", "0712345678"]


def test_one_row_of_numbers_in_a_csv_is_a_list() -> None:
    assert normalised(b"0712345678,0722000000,0733000000\n") == THREE


# --- what Excel does to numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("7.12345678E8", "712345678"),
        ("7.12345678E+08", "712345678"),
        ("7.1234567800e8", "712345678"),
        ("2.54712345678E11", "254712345678"),
        ("2.54712345678E+11", "254712345678"),
        ("7,12345678E+08", "712345678"),
        ("712345678.0", "712345678"),
        ("254712345678.00", "254712345678"),
        ("712345678", "712345678"),
        ("'0712345678", "0712345678"),
        ('="0712345678"', "0712345678"),
        ('  "0712 345 678"  ', "0712 345 678"),
        ("Alice", "Alice"),
    ],
)
def test_clean_cell_undoes_spreadsheet_damage(cell: str, expected: str) -> None:
    assert clean_cell(cell) == expected


@pytest.mark.parametrize("cell", ["7.12345678E8", "2.54712345678E11", "712345678.0", "712345678", '="0712345678"'])
def test_repaired_cells_are_the_same_kenyan_number(cell: str) -> None:
    assert normalise_phone(clean_cell(cell)) == "254712345678"


@pytest.mark.parametrize("cell", ["2.54712E+11", "7.12E8", "7E8"])
def test_scientific_notation_that_lost_digits_is_refused_never_rounded_to_a_strangers_number(cell: str) -> None:
    cleaned = clean_cell(cell)
    assert LOST_DIGITS in cleaned
    with pytest.raises(InvalidPhoneNumberError):
        normalise_phone(cleaned)


def test_excel_mangled_column_reads_as_the_intended_numbers() -> None:
    content = b"MSISDN\n7.12345678E8\n2.54722000000E11\n733000000.0\n744000000\n2.54755E+11\n"
    numbers = numbers_from_file(content, "export.csv").numbers
    assert [normalise_phone(n) for n in numbers[:4]] == [*THREE, "254744000000"]
    assert numbers[4] == f"2.54755E+11 {LOST_DIGITS}"


# --- TXT -----------------------------------------------------------------------------------------------


def test_txt_with_one_number_per_line() -> None:
    assert normalised(b"0712345678\r\n0722000000\r\n\r\n0733000000", "numbers.txt") == THREE


def test_txt_with_commas_semicolons_and_spaces_between_numbers() -> None:
    content = b"0712345678, 0722000000;0733000000\n0744000000 0755000000\n0766 000 000\n"
    assert normalised(content, "numbers.txt") == [*THREE, "254744000000", "254755000000", "254766000000"]


def test_txt_that_is_really_a_table_with_a_header_reads_the_phone_column() -> None:
    result = numbers_from_file(b"Name,Phone\nAlice,0712345678\nBob,0722000000\n", "contacts.txt")
    assert result.column == "Phone"
    assert result.numbers == ["0712345678", "0722000000"]


def test_txt_of_names_and_numbers_separated_by_spaces_reads_the_numbers() -> None:
    assert normalised(b"Alice 0712345678\nBob 0722000000\nCarol 0733000000\n", "contacts.txt") == THREE


# --- refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"  \r\n\n\t", b"\xef\xbb\xbf", b"\xff\xfe", b",,,\n;;\n"],
    ids=["zero-bytes", "whitespace", "bom-only", "utf16-bom-only", "separators-only"],
)
def test_empty_file_is_refused(content: bytes) -> None:
    assert "empty" in refusal(content)


def test_header_without_rows_says_which_column_was_empty() -> None:
    assert refusal(b"Name,Phone\n\n") == "No numbers found in the column “Phone”."


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml",
        bytes(range(256)),
        b"0712345678\n\x01\x02\x03\x04\n",
    ],
    ids=["png", "xlsx-zip", "every-byte", "control-bytes"],
)
def test_binary_content_is_refused_as_not_text(content: bytes) -> None:
    assert refusal(content) == recipient_files.NOT_TEXT


def test_file_above_the_size_limit_is_refused_naming_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recipient_files, "MAX_FILE_BYTES", 2048)
    content = b"phone\n" + b"0712345678\n" * 200
    assert len(content) > 2048
    assert refusal(content) == "The file is too big (2.2 KB); the limit is 2 KB. Split it into smaller files."
    assert numbers_from_file(content[:2048], "contacts.csv").rows > 0


def test_real_file_of_100001_rows_is_refused_and_100000_rows_accepted() -> None:
    rows = [f"Person {i},07{i:08d}" for i in range(100_001)]
    content = ("Name,Phone\n" + "\n".join(rows)).encode()
    assert refusal(content) == "The file has more than 100,000 rows; split it into smaller files."
    accepted = numbers_from_file(("Name,Phone\n" + "\n".join(rows[:-1])).encode(), "contacts.csv")
    assert accepted.rows == 100_000 and len(accepted.numbers) == 100_000


def test_blank_lines_do_not_count_as_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recipient_files, "MAX_ROWS", 3)
    assert normalised(b"phone\n\n0712345678\n\n\n0722000000\n\n0733000000\n\n") == THREE
    assert "more than 3 rows" in refusal(b"phone\n0712345678\n0722000000\n0733000000\n0744000000\n")


def test_a_list_is_limited_by_its_numbers_even_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recipient_files, "MAX_ROWS", 3)
    assert "more than 3 numbers" in refusal(b"0712345678,0722000000,0733000000,0744000000", "list.txt")


# --- before download -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "mime_type"),
    [
        ("contacts.csv", "text/csv"),
        ("contacts.CSV", "text/comma-separated-values"),
        ("contacts.csv", "application/vnd.ms-excel"),
        ("contacts.csv", "application/octet-stream"),
        ("numbers.txt", "text/plain"),
        ("numbers", None),
        (None, None),
    ],
)
def test_text_uploads_pass_the_check(file_name: str | None, mime_type: str | None) -> None:
    check_upload(file_name, mime_type, 1024)


@pytest.mark.parametrize(
    ("file_name", "mime_type", "words"),
    [
        ("contacts.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "is a spreadsheet"),
        ("contacts.xls", "application/vnd.ms-excel", "Save it as CSV"),
        ("contacts.ods", "application/vnd.oasis.opendocument.spreadsheet", "is a spreadsheet"),
        ("contacts.pdf", "application/pdf", "not a CSV or TXT file"),
        ("photo.jpg", "image/jpeg", "not a CSV or TXT file"),
        ("contacts.csv", "image/png", "not a CSV or TXT file"),
    ],
)
def test_other_uploads_are_refused_before_download(file_name: str, mime_type: str, words: str) -> None:
    with pytest.raises(UserInputError, match=words):
        check_upload(file_name, mime_type, 1024)


def test_size_known_from_telegram_is_refused_before_download() -> None:
    with pytest.raises(UserInputError) as caught:
        check_upload("contacts.csv", "text/csv", 15 * 1024 * 1024)
    assert str(caught.value) == "The file is too big (15 MB); the limit is 10 MB. Split it into smaller files."
    check_upload("contacts.csv", "text/csv", recipient_files.MAX_FILE_BYTES)


def test_semicolon_list_keeps_comma_decimal_scientific_numbers_whole() -> None:
    numbers = numbers_from_file(b"7,12345678E+08;2,54722000000E+11\n7,33E+08\n", "list.csv").numbers
    assert numbers == ["712345678", "254722000000", f"7,33E+08 {LOST_DIGITS}"]


def test_spaced_numbers_in_a_mixed_list_stay_whole() -> None:
    content = b"0744 000 000, 0755 000 000;0712345678\n"
    assert normalised(content, "list.txt") == ["254744000000", "254755000000", "254712345678"]
