"""/bulk from an uploaded CSV/TXT file end to end: the preview counts what the file really holds, Send delivers
exactly those numbers, and every file the bot cannot use is refused in words before anything is sent."""

from __future__ import annotations

import pytest

from bot.services import recipient_files
from tests.e2e.harness import SENDER, VIEWER, BotHarness
from tests.fakes.telegram_server import SentMessage

A, B, C = "254712345678", "254722000000", "254733000000"
CAPTION = "/bulk Water off tomorrow 8-12"


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text


async def send_and_summarise(bot: BotHarness, preview: SentMessage) -> SentMessage:
    return await bot.press(SENDER, preview, "Send", predicate=is_summary)


async def assert_nothing_sent(bot: BotHarness) -> None:
    assert bot.texin.requests_to("/api/send_bulk_sms") == []
    assert bot.sms254.requests_to("/version1/sendsms") == []
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []


def table(header: str, rows: list[tuple[str, str]], separator: str = ",") -> str:
    return "\n".join([header, *(separator.join(row) for row in rows)]) + "\n"


PEOPLE = [("Alice", "0712345678"), ("Bob", "0722000000"), ("Carol", "0733000000")]

QUIRKS = [
    pytest.param("contacts.csv", ("\ufeff" + table("Phone,Name", [(n, p) for p, n in PEOPLE])).encode(), id="utf8-bom"),
    pytest.param(
        "contacts.txt",
        table("Name\tMobile", PEOPLE, "\t").replace("\n", "\r\n").encode("utf-16"),
        id="utf16-unicode-text-export",
    ),
    pytest.param("contacts.csv", table("Name;Number", PEOPLE, ";").encode(), id="semicolon"),
    pytest.param("contacts.tsv", table("Name\tMSISDN", PEOPLE, "\t").encode(), id="tab"),
    pytest.param(
        "contacts.csv",
        b'Name,Town,Phone Number\n"Otieno, Jane","Nairobi, KE",0712345678\n'
        b'"Kamau, Paul",Thika,"0722 000 000"\n"Wanjiru, Ann","Eldoret, KE","+254 733 000 000"\n',
        id="quoted-fields-with-commas",
    ),
    pytest.param(
        "contacts.csv",
        b"Name,Email,mobile\nA,a@x.ke,0712345678\nB,b@x.ke,0722000000\nC,c@x.ke,0733000000\n",
        id="third-column",
    ),
    pytest.param("numbers.csv", b"0712345678\n0722000000\n0733000000\n", id="no-header-first-column"),
    pytest.param("numbers.csv", table("Alice,0712345678", PEOPLE[1:]).encode(), id="no-header-number-column"),
    pytest.param(
        "export.csv", b"msisdn\n7.12345678E8\n2.54722000000E11\n7.33000000E+08\n2.54712345678E11\n", id="scientific"
    ),
    pytest.param("export.csv", b"phone\n712345678.0\n722000000\n733000000.00\n", id="decimal-and-lost-zero"),
    pytest.param(
        "numbers.csv", b"phone\r\n\r\n0712345678\r\n\r\n\r\n0722000000\r\n0733000000\r\n\r\n", id="crlf-blank"
    ),
    pytest.param("numbers.txt", b"0712345678\n0722000000\n\n0733000000", id="txt-one-per-line"),
    pytest.param("numbers.txt", b"0712345678, 0722000000,\n0733000000;", id="txt-commas"),
    pytest.param(
        "contacts.csv",
        "Name,Phone\nJosé Café,0712345678\nRenée – Ngong,0722000000\nÅsa,0733000000\n".encode("cp1252"),
        id="cp1252-names",
    ),
]


@pytest.mark.parametrize(("file_name", "content"), QUIRKS)
async def test_each_export_quirk_previews_and_delivers_exactly_the_numbers_in_the_file(
    bot: BotHarness, file_name: str, content: bytes
) -> None:
    preview = await bot.upload(SENDER, content, file_name, CAPTION)
    assert f"Recipients: 3 from {file_name}" in preview.text, preview.text
    assert "Refused" not in preview.text
    assert "Water off tomorrow 8-12" in preview.text
    summary = await send_and_summarise(bot, preview)
    assert "Sent: 3" in summary.text
    assert bot.texin.received == {A: 1, B: 1, C: 1}


async def test_numbers_excel_rounded_are_refused_and_never_sent_to_the_rounded_number(bot: BotHarness) -> None:
    content = b"Name,Phone\nAlice,2.54712345678E+11\nBob,2.54722E+11\nCarol,7.33E+08\n"
    preview = await bot.upload(SENDER, content, "export.csv", CAPTION)
    assert "Recipients: 1 from export.csv" in preview.text
    assert "Refused: 2 numbers" in preview.text
    assert "2.54722E+11 (digits lost in Excel)" in preview.text and "7.33E+08 (digits lost in Excel)" in preview.text
    await send_and_summarise(bot, preview)
    assert bot.texin.received == {A: 1}  # not 254722000000 nor 254733000000, which are someone else's


async def test_upload_preview_counts_refusals_and_duplicates_and_send_skips_both(bot: BotHarness) -> None:
    content = table(
        "Name,Phone",
        [
            ("Alice", "0712345678"),
            ("Alice again", "+254 712 345 678"),
            ("Alice (Excel)", "712345678"),
            ("Typo", "07123"),
            ("Abroad", "+447911123456"),
            ("Landline", "0201234567"),
            ("Bob", "0722000000"),
            ("No number", ""),
        ],
    ).encode()
    preview = await bot.upload(SENDER, content, "contacts.csv", CAPTION)
    text = preview.text
    assert "Recipients: 2 from contacts.csv" in text
    assert "Refused: 4 numbers" in text and "Duplicates removed: 2" in text
    assert "row 9: no phone number" in text  # counted, not dropped
    assert "07123: too short" in text and "+447911123456: not a Kenyan number" in text
    assert "0201234567: not a mobile number" in text
    assert "× 2 recipients = 2 units" in text
    assert bot.texin.requests_to("/api/send_bulk_sms") == []
    summary = await send_and_summarise(bot, preview)
    assert "Sent: 2" in summary.text and "Refused before sending: 4" in summary.text
    assert bot.texin.received == {A: 1, B: 1}


async def test_upload_of_many_rows_sends_each_number_once_in_batches(bot: BotHarness) -> None:
    numbers = [f"07{i:08d}" for i in range(12_000_000, 12_000_250)]
    content = ("Name,Phone\n" + "".join(f"Person {i},{n}\n" for i, n in enumerate(numbers))).encode()
    preview = await bot.upload(SENDER, content, "members.csv", CAPTION)
    assert "Recipients: 250 from members.csv" in preview.text
    await send_and_summarise(bot, preview)
    assert bot.texin.received == {"254" + n[1:]: 1 for n in numbers}
    assert len(bot.texin.requests_to("/api/send_bulk_sms")) == 3  # batches of 100


async def test_caption_can_choose_the_provider(bot: BotHarness) -> None:
    preview = await bot.upload(SENDER, b"0712345678\n0722000000\n", "numbers.txt", "/bulk via:254sms Hello")
    assert "Recipients: 2 from numbers.txt" in preview.text and "254sms" in preview.text
    await send_and_summarise(bot, preview)
    assert bot.sms254.received == {A: 1, B: 1}
    assert bot.texin.received == {}


# --- the reply forms --------------------------------------------------------------------------------------


async def test_bulk_as_a_reply_to_an_uploaded_document_reads_that_document(bot: BotHarness) -> None:
    document = bot.telegram.send_document(SENDER, table("Name;Phone", PEOPLE, ";").encode(), "team.csv")
    await bot.settle()  # the bot's answer to the bare file comes first
    preview = await bot.say(SENDER, "/bulk Meeting moved to 10:00", reply_to_message_id=document)
    assert "Recipients: 3 from team.csv" in preview.text and "Meeting moved to 10:00" in preview.text
    await send_and_summarise(bot, preview)
    assert bot.texin.received == {A: 1, B: 1, C: 1}
    [body] = [r.body for r in bot.texin.requests_to("/api/send_bulk_sms")]
    assert "Meeting moved to 10:00" in str(body)


async def test_bulk_as_a_reply_to_a_message_of_numbers_reads_those_numbers(bot: BotHarness) -> None:
    numbers = bot.telegram.send_text(SENDER, "0712345678, 0722000000\n0733000000 0712345678 07123")
    preview = await bot.say(SENDER, "/bulk Gate code changed", reply_to_message_id=numbers)
    text = preview.text
    assert "Recipients: 3 from the message you replied to" in text
    assert "Refused: 1 number" in text and "Duplicates removed: 1" in text
    assert "Gate code changed" in text
    await send_and_summarise(bot, preview)
    assert bot.texin.received == {A: 1, B: 1, C: 1}


async def test_numbers_typed_in_a_reply_win_over_the_message_replied_to(bot: BotHarness) -> None:
    other = bot.telegram.send_text(SENDER, "Please tell the night shift, and 0799000000 too")
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000\nShift starts at 18:00", reply_to_message_id=other)
    assert "Recipients: 2" in preview.text and "from" not in preview.text
    assert "Shift starts at 18:00" in preview.text and "Refused" not in preview.text
    await send_and_summarise(bot, preview)
    assert bot.texin.received == {A: 1, B: 1}


async def test_a_reply_starting_with_a_small_number_still_reads_the_replied_numbers(bot: BotHarness) -> None:
    numbers = bot.telegram.send_text(SENDER, "0712345678\n0722000000")
    preview = await bot.say(SENDER, "/bulk 10 minutes to closing", reply_to_message_id=numbers)
    assert "Recipients: 2 from the message you replied to" in preview.text
    assert "10 minutes to closing" in preview.text


async def test_bulk_as_a_reply_to_a_spreadsheet_is_refused_without_downloading_it(bot: BotHarness) -> None:
    document = bot.telegram.send_document(
        SENDER,
        b"PK\x03\x04 not really",
        "team.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    await bot.settle()  # the bot's answer to the bare file comes first
    reply = await bot.say(SENDER, "/bulk Hello", reply_to_message_id=document)
    assert "is a spreadsheet" in reply.text and "CSV" in reply.text
    assert bot.telegram.requests("getFile") == []
    await assert_nothing_sent(bot)


async def test_caption_without_a_message_asks_for_the_message(bot: BotHarness) -> None:
    reply = await bot.upload(SENDER, b"0712345678\n", "numbers.txt", "/bulk")
    assert "The message is empty: write it after /bulk." in reply.text
    await assert_nothing_sent(bot)


async def test_a_viewer_cannot_bulk_from_a_file_and_it_is_not_downloaded(bot: BotHarness) -> None:
    reply = await bot.upload(VIEWER, b"0712345678\n", "numbers.txt", CAPTION)
    assert "/bulk is not for" in reply.text
    assert bot.telegram.requests("getFile") == []
    assert bot.texin.requests_to("/api/send_bulk_sms") == []


# --- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "mime_type", "content", "words"),
    [
        pytest.param(
            "contacts.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            b"PK\x03\x04\x14\x00\x06\x00",
            "“contacts.xlsx” is a spreadsheet. Save it as CSV",
            id="xlsx",
        ),
        pytest.param("scan.pdf", "application/pdf", b"%PDF-1.7", "“scan.pdf” is not a CSV or TXT file", id="pdf"),
        pytest.param("numbers.csv", "image/png", b"\x89PNG", "“numbers.csv” is not a CSV or TXT file", id="image-mime"),
    ],
)
async def test_non_text_files_are_refused_before_download(
    bot: BotHarness, file_name: str, mime_type: str, content: bytes, words: str
) -> None:
    reply = await bot.upload(SENDER, content, file_name, CAPTION, mime_type=mime_type)
    assert words in reply.text
    assert bot.telegram.requests("getFile") == []
    await assert_nothing_sent(bot)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", recipient_files.NOT_TEXT, id="binary-as-csv"),
        pytest.param(b"", "The file is empty.", id="empty"),
        pytest.param(b"\xef\xbb\xbf\r\n\r\n", "The file is empty.", id="bom-and-blank-lines"),
        pytest.param(b"Name,Phone\n", "No numbers found in the column “Phone”.", id="header-only"),
        pytest.param(
            b"Name,Email\nAlice,alice@example.com\n", "None of the numbers can be used", id="no-number-column"
        ),
        pytest.param(
            b"phone\n07123\n0800123456\n+447911123456\n2.54712E+11\n",
            "None of the numbers can be used",
            id="no-valid-number",
        ),
    ],
)
async def test_files_without_usable_numbers_are_refused_and_nothing_is_sent(
    bot: BotHarness, content: bytes, words: str
) -> None:
    reply = await bot.upload(SENDER, content, "contacts.csv", CAPTION, mime_type="application/octet-stream")
    assert words in reply.text
    await assert_nothing_sent(bot)


async def test_no_valid_number_lists_each_reason(bot: BotHarness) -> None:
    reply = await bot.upload(SENDER, b"phone\n07123\n2.54712E+11\n", "contacts.csv", CAPTION)
    assert "07123: too short" in reply.text
    assert "2.54712E+11 (digits lost in Excel)" in reply.text


async def test_file_above_the_size_limit_is_refused_before_download(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recipient_files, "MAX_FILE_BYTES", 1024)
    content = b"phone\n" + b"0712345678\n" * 200
    reply = await bot.upload(SENDER, content, "contacts.csv", CAPTION)
    assert "The file is too big (2.2 KB); the limit is 1 KB." in reply.text
    assert bot.telegram.requests("getFile") == []
    await assert_nothing_sent(bot)


async def test_file_with_too_many_rows_is_refused(bot: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recipient_files, "MAX_ROWS", 5)
    rows = [(f"P{i}", f"07{i:08d}") for i in range(12_000_000, 12_000_006)]
    reply = await bot.upload(SENDER, table("Name,Phone", rows).encode(), "contacts.csv", CAPTION)
    assert "The file has more than 5 rows; split it into smaller files." in reply.text
    await assert_nothing_sent(bot)
    exactly = await bot.upload(SENDER, table("Name,Phone", rows[:5]).encode(), "contacts.csv", CAPTION)
    assert "Recipients: 5 from contacts.csv" in exactly.text
