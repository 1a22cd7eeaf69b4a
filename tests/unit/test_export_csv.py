"""/export files are safe to open in a spreadsheet: no cell runs as a formula, and the CSV still reads back whole."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

from bot.services.history import EXPORT_COLUMNS, HistoryService
from storage import MessageStatus, NewMessage, Role, open_database

GROUP_CHAT = -1001234567890  # groups and supergroups have negative ids
DANGEROUS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", '=1+2,"quoted",\nnext line']
HARMLESS = ['Hello, "friends"\nsee you at 3pm', "50% off; 'quoted'", "a=b", " =not first"]


def message(body: str, *, error: str | None = None, provider_message_id: str | None = None) -> NewMessage:
    return NewMessage(
        chat_id=GROUP_CHAT,
        user_id=7,
        provider="texin",
        recipient="254712345678",
        body=body,
        encoding="gsm7",
        segments=1,
        units=1,
        status=MessageStatus.FAILED,
        provider_message_id=provider_message_id,
        cost=Decimal("-0.50"),
        error=error,
    )


async def exported_rows(tmp_path: Path, messages: list[NewMessage]) -> list[dict[str, str]]:
    async with await open_database(tmp_path / "smsrelay.db") as db:
        for new in messages:
            await db.messages.add(new)
        export = await HistoryService(db).export_chat(GROUP_CHAT, caller_role=Role.SENDER)
    assert export.rows == len(messages)
    # newline="" as the csv module asks: quoted cells keep their own line breaks (and a lone \r).
    reader = csv.reader(io.StringIO(export.content.decode("utf-8-sig"), newline=""))
    header, *rows = list(reader)
    assert tuple(header) == EXPORT_COLUMNS
    return [dict(zip(header, row, strict=True)) for row in rows]


async def test_cells_that_would_run_as_formulas_are_prefixed_and_the_rest_read_back_unchanged(tmp_path: Path) -> None:
    rows = await exported_rows(tmp_path, [message(body) for body in DANGEROUS + HARMLESS])
    assert [row["body"] for row in rows] == ["'" + body for body in DANGEROUS] + HARMLESS


async def test_provider_words_are_neutralised_too_but_our_own_numbers_stay_numbers(tmp_path: Path) -> None:
    [row] = await exported_rows(tmp_path, [message("hi", error="-ERR =cmd|' /C calc'!A0", provider_message_id="@id-1")])
    assert row["error"] == "'-ERR =cmd|' /C calc'!A0"
    assert row["provider_message_id"] == "'@id-1"
    # A negative chat id (a group) and a negative amount are numbers a spreadsheet reads as numbers.
    assert row["chat_id"] == str(GROUP_CHAT)
    assert row["cost"] == "-0.50"
