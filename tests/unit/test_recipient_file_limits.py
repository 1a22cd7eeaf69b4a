"""Reading an upload costs little whatever it holds: every limit is checked before the work it bounds, and each
refusal names its limit. Budgets are CPU seconds (``time.process_time``), so a busy machine does not fail them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.phone import normalise_phone
from bot.services.errors import UserInputError
from bot.services.recipient_files import MAX_CELL_CHARS, MAX_LINE_CHARS, check_upload, numbers_from_file

TEN_MB = 10 * 1024 * 1024


@contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    start = time.process_time()
    yield
    used = time.process_time() - start
    assert used < seconds, f"took {used:.2f} CPU seconds, the budget is {seconds}"


def numbers(count: int, start: int = 12_000_000) -> list[str]:
    return [f"07{i:08d}" for i in range(start, start + count)]


def refusal(content: bytes, file_name: str) -> str:
    with pytest.raises(UserInputError) as caught:
        numbers_from_file(content, file_name, max_bytes=TEN_MB)
    return str(caught.value)


@pytest.mark.parametrize("separator", [" ", ","], ids=["spaces", "commas"])
def test_ten_megabytes_of_numbers_on_one_line_are_refused_at_once(separator: str) -> None:
    content = separator.join(numbers(900_000)).encode()
    assert 9_000_000 < len(content) <= TEN_MB
    with cpu_budget(0.5):
        text = refusal(content, "numbers.txt")
    assert f"longer than {MAX_LINE_CHARS:,} characters" in text and "one number per line" in text


def test_nine_hundred_thousand_lines_are_refused_before_any_is_parsed() -> None:
    content = "\n".join(numbers(900_000)).encode()
    with cpu_budget(1.0):
        text = refusal(content, "numbers.txt")
    assert text == "The file has more than 100,000 numbers; split it into smaller files."


def test_many_numbers_on_each_of_few_lines_are_counted_before_they_are_parsed() -> None:
    lines = [" ".join(numbers(15, start=12_000_000 + 15 * i)) for i in range(10_000)]
    with cpu_budget(0.5):
        text = refusal("\n".join(lines).encode(), "numbers.txt")
    assert "more than 100,000 numbers" in text


@pytest.mark.parametrize(
    ("content", "file_name"),
    [
        pytest.param(("1" + "0" * 5000 + "e0\n").encode(), "numbers.txt", id="list"),
        pytest.param(("Name,Phone\nAlice,1" + "0" * 5000 + "e0\n").encode(), "contacts.csv", id="column"),
        pytest.param(("phone\n0712345678\n" + "7" * 500 + "\n").encode(), "contacts.csv", id="long-digits"),
    ],
)
def test_a_huge_scientific_or_long_cell_is_a_readable_refusal(content: bytes, file_name: str) -> None:
    with cpu_budget(0.2):
        text = refusal(content, file_name)
    assert f"is longer than {MAX_CELL_CHARS} characters" in text


def test_lines_of_digits_just_under_the_line_limit_cost_no_quadratic_matching() -> None:
    lines = max(1, TEN_MB // MAX_LINE_CHARS - 1)
    content = ("1" * (MAX_LINE_CHARS - 10) + "x\n").encode() * lines
    with cpu_budget(0.5):
        text = refusal(content, "contacts.csv")
    # Longer than the CSV reader's own field limit too: either refusal is readable and cheap.
    assert f"longer than {MAX_CELL_CHARS} characters" in text or "no separator fits its lines" in text


def test_a_pasted_list_of_twenty_thousand_numbers_on_one_line_is_still_read() -> None:
    line = ", ".join(numbers(20_000))
    assert len(line) < MAX_LINE_CHARS
    result = numbers_from_file(line.encode(), "numbers.txt")
    assert [normalise_phone(n) for n in result.numbers[:2]] == ["254712000000", "254712000001"]
    assert len(result.numbers) == 20_000


def test_upload_limit_is_the_setting_and_named_in_the_refusal() -> None:
    with pytest.raises(UserInputError) as caught:
        check_upload("contacts.csv", "text/csv", 5_242_881, max_bytes=5_242_880)
    assert str(caught.value) == "The file is too big (5 MB); the limit is 5 MB. Split it into smaller files."
    check_upload("contacts.csv", "text/csv", 5_242_880, max_bytes=5_242_880)
    with pytest.raises(UserInputError, match="the limit is 1 KB"):
        numbers_from_file(b"phone\n" + b"0712345678\n" * 100, "contacts.csv", max_bytes=1024)


def test_max_upload_bytes_defaults_to_five_megabytes_and_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def settings() -> Settings:
        return Settings(  # type: ignore[call-arg]
            _env_file=None, telegram_bot_token=SecretStr("1:a"), admin_chat_ids=[1], texin_api_key=SecretStr("k")
        )

    monkeypatch.delenv("MAX_UPLOAD_BYTES", raising=False)
    assert settings().max_upload_bytes == 5_242_880
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1048576")
    assert settings().max_upload_bytes == 1_048_576
