"""Property: whatever bytes arrive under a .csv or .txt name, reading them gives numbers or a ``UserInputError``
saying why not, never another exception, and each file costs a bounded amount of CPU."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.errors import UserInputError
from bot.services.recipient_files import FileNumbers, numbers_from_file

FILE_NAMES = st.sampled_from(["numbers.csv", "numbers.txt", "contacts.CSV", "list.TXT", "export.tsv", "numbers"])
CPU_SECONDS_PER_FILE = 1.0

# Cells people (and broken exports) put in files: numbers in every spelling, Excel's mangling, words, junk.
CELLS = st.one_of(
    st.sampled_from(
        [
            "0712345678",
            "+254 722 000 000",
            "254733000000",
            "7.12345678E8",
            "2.54712E+11",
            '="0712345678"',
            "712345678.0",
            "Phone",
            "Mobile No.",
            "MSISDN",
            "Name",
            "",
            " ",
            "-",
            "1" + "0" * 5000 + "e0",
            "9" * 70,
            "1e999999999",
            "0712 345 678",
            '"',
            '""',
            "\ufeff",
        ]
    ),
    st.from_regex(r"[+=\"']?[0-9]{1,14}([.,][0-9]{0,6})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    st.text(max_size=30),
)
SEPARATORS = st.sampled_from([",", ";", "\t", "|", " ", ", "])
NEWLINES = st.sampled_from(["\n", "\r\n", "\r", "\n\n"])
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"])


@st.composite
def table_files(draw: st.DrawFn) -> bytes:
    """Rows of cells, possibly quoted, repeated to make big files cheaply, in one of the encodings people use."""
    separator, newline = draw(SEPARATORS), draw(NEWLINES)
    rows = draw(st.lists(st.lists(CELLS, min_size=1, max_size=6), min_size=1, max_size=8))
    quote = draw(st.booleans())
    lines = [separator.join(f'"{cell}"' if quote else cell for cell in row) for row in rows]
    text = newline.join(lines * draw(st.sampled_from([1, 1, 2, 50, 3000])))
    return text.encode(draw(ENCODINGS), errors="replace")


def read_within_budget(content: bytes, file_name: str) -> None:
    start = time.process_time()
    result: FileNumbers | str
    try:
        result = numbers_from_file(content, file_name)
    except UserInputError as exc:
        result = str(exc)
    used = time.process_time() - start
    if isinstance(result, str):
        assert result.strip(), "a refusal must say why"
    else:
        assert result.numbers and all(isinstance(n, str) and n.strip() for n in result.numbers)
    assert used < CPU_SECONDS_PER_FILE, f"{used:.2f} CPU seconds for {len(content):,} bytes"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=4096), file_name=FILE_NAMES)
def test_any_bytes_give_numbers_or_a_readable_refusal(content: bytes, file_name: str) -> None:
    read_within_budget(content, file_name)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(content=table_files(), file_name=FILE_NAMES)
def test_any_table_of_numbers_and_junk_gives_numbers_or_a_readable_refusal(content: bytes, file_name: str) -> None:
    read_within_budget(content, file_name)


NAMES = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll")), min_size=1, max_size=10)
PHONES = st.sampled_from(["0712345678", "0722000000", "+254 733 000 000", ""])


@given(rows=st.lists(st.tuples(NAMES, PHONES), min_size=1, max_size=30))
def test_every_filled_row_of_a_table_is_counted_with_or_without_a_phone(rows: list[tuple[str, str]]) -> None:
    """A row whose phone cell is empty is one refused number (``row N``), never dropped without a word."""
    if all(not phone for _, phone in rows):
        rows = [*rows, ("Last", "0712345678")]
    content = "\n".join(["Name,Phone", *(f"{name},{phone}" for name, phone in rows)]).encode()
    read = numbers_from_file(content, "people.csv")
    assert len(read.numbers) == len(rows)
    assert read.values is not None and len(read.values) == len(rows)
    for line, ((_, phone), number) in enumerate(zip(rows, read.numbers, strict=True), start=2):
        assert number == (phone or f"row {line}")
