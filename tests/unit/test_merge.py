"""Mail merge: placeholders, literal braces, unknown columns, empty values, per-recipient units, and its CPU cost."""

from __future__ import annotations

import time

import pytest

from bot.phone import read_recipients
from bot.services.errors import UserInputError
from bot.services.merge import has_placeholders, parse, personalise, recipients_with_rows
from bot.services.recipient_files import numbers_from_file

HEADER = ["Name", "Phone", "Amount", "Due Date"]


def test_placeholders_are_case_insensitive_and_may_hold_spaces() -> None:
    merge = parse("Hi {name}, pay KES {AMOUNT} by { due  date }.", HEADER)
    assert merge.render(["Wanjiru", "0712345678", "1,200", "5 May"]) == "Hi Wanjiru, pay KES 1,200 by 5 May."


def test_double_braces_are_literal_braces() -> None:
    merge = parse("{{name}} is {Name} }} {{", HEADER)
    assert merge.render(["Otieno", "", "", ""]) == "{name} is Otieno } {"
    assert not has_placeholders("{{not one}}") and has_placeholders("{{x}} {Name}")


def test_unknown_placeholder_is_refused_naming_it_and_the_columns() -> None:
    with pytest.raises(UserInputError) as caught:
        parse("Hi {first name}", HEADER)
    message = str(caught.value)
    assert "“first name”" in message
    assert "{Name}, {Phone}, {Amount}, {Due Date}" in message


def test_rows_with_an_empty_used_value_are_refused_and_listed() -> None:
    merge = parse("Hi {Name}, KES {Amount}", HEADER)
    result = personalise(
        merge,
        ["0712000001", "0712000002", "0712000003"],
        [["Ann", "0712000001", "10", ""], ["", "0712000002", "20", ""], ["Bo", "0712000003", "", "x"]],
    )
    assert result.numbers == ["0712000001"]
    assert result.bodies == ["Hi Ann, KES 10"]
    assert [(row.number, row.reason) for row in result.refused] == [
        ("0712000002", "empty Name"),
        ("0712000003", "empty Amount"),
    ]


def test_units_are_counted_per_recipients_own_text() -> None:
    merge = parse("Hello {Name}, " + "x" * 140, HEADER)
    result = personalise(
        merge,
        ["0712000001", "0712000002", "0712000003"],
        [["Al", "", "", ""], ["A" * 30, "", "", ""], ["Zoë Łukasz", "", "", ""]],  # 1 part, 2 parts, UCS-2
    )
    assert [length.segments for length in result.lengths] == [1, 2, 3]
    assert result.total_units == 6
    assert (result.smallest_parts, result.largest_parts) == (1, 3)
    assert result.sample == "Hello Al, " + "x" * 140


def test_text_over_the_part_limit_is_refused_for_that_row_only() -> None:
    merge = parse("{Name}", HEADER)
    result = personalise(merge, ["0712000001", "0712000002"], [["ok", "", "", ""], ["y" * 2000, "", "", ""]])
    assert result.numbers == ["0712000001"]
    assert result.refused[0].reason.startswith("too long")


def test_file_parser_gives_the_header_and_each_numbers_row() -> None:
    content = b"Name,Phone,Amount\nAnn,0712000001,10\n,,\nBo,0712000002,20\n"
    parsed = numbers_from_file(content, "bills.csv")
    assert parsed.numbers == ["0712000001", "0712000002"]
    assert parsed.header == ["Name", "Phone", "Amount"]
    assert parsed.values == [["Ann", "0712000001", "10"], ["Bo", "0712000002", "20"]]


def test_file_without_a_header_has_no_columns() -> None:
    parsed = numbers_from_file(b"0712000001\n0712000002\n", "list.csv")
    assert parsed.header is None and parsed.values is None


def test_a_100000_row_personalised_csv_previews_in_under_3_seconds_of_cpu() -> None:
    lines = ["Name,Phone,Amount"] + [f"Customer {i},07{i:08d},{i % 5000}" for i in range(100_000)]
    content = "\n".join(lines).encode()
    started = time.process_time()
    parsed = numbers_from_file(content, "big.csv")
    assert parsed.header is not None and parsed.values is not None
    merge = parse("Hi {name}, your bill is KES {amount}.", parsed.header)
    recipients, rows = recipients_with_rows(parsed.numbers, parsed.values)  # what the bulk preview runs
    result = personalise(merge, recipients.valid, rows)
    spent = time.process_time() - started
    assert len(result.numbers) == 100_000 and result.total_units == 100_000
    assert spent < 3.0, f"{spent:.2f} s of CPU"


@pytest.mark.parametrize("written", ["0{}", "{}", "254{}", "+254{}"])
def test_fast_number_check_agrees_with_the_full_check_for_every_mobile_prefix(written: str) -> None:
    nationals = [f"{prefix}{tail}" for prefix in range(1000, 2000) for tail in ("00000", "98765")]
    nationals += [f"{prefix}{tail}" for prefix in range(7000, 8000) for tail in ("00000", "98765")]
    raw = [written.format(national) for national in nationals]
    fast, _ = recipients_with_rows(raw, [[]] * len(raw))
    assert fast == read_recipients(raw)
    assert fast.valid and fast.refused  # both kinds occur: the comparison means something
