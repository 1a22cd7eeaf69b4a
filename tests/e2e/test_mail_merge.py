"""Personalised bulk from CSV columns end to end: preview, refusals, one request per distinct text, stored bodies."""

from __future__ import annotations

from decimal import Decimal

from storage import MessageStatus
from tests.e2e.harness import SENDER, BotHarness
from tests.fakes.telegram_server import SentMessage

BILLS = (
    b"Name,Phone,Amount\n"
    b"Ann,0712000001,500\n"
    b"Bob,0712000002,500\n"
    b"Ann,0712000003,500\n"  # the same text as the first row: one request for both
    b"Carol,0712000004,\n"  # empty amount: refused
    b"Zo\xc3\xab \xc5\x81ukasz,0712000005,1200\n"  # UCS-2
)
CAPTION = "/bulk Hi {name}, your bill is KES {Amount}. {{ref}} Pay by M-Pesa paybill 123456."


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text


async def test_personalised_preview_counts_units_per_text_and_lists_empty_rows(bot: BotHarness) -> None:
    preview = await bot.upload(SENDER, BILLS, "bills.csv", CAPTION)
    assert "Recipients: 4" in preview.text
    assert "4 different texts" not in preview.text and "3 different texts" in preview.text
    assert "Length: 5 units in all" in preview.text  # 1 + 1 + 1 + 2 (UCS-2 at 60+ characters)
    assert "1–2 SMS parts" in preview.text
    assert "Hi Ann, your bill is KES 500. {ref} Pay by M-Pesa paybill 123456." in preview.text
    assert "+254 712 000 004: empty Amount" in preview.text


async def test_each_recipient_gets_and_stores_their_own_text(bot: BotHarness) -> None:
    preview = await bot.upload(SENDER, BILLS, "bills.csv", CAPTION)
    await bot.press(SENDER, preview, "Send", predicate=is_summary)

    sent: dict[str, str] = {}
    requests = [*bot.texin.requests_to("/api/send_bulk_sms"), *bot.texin.requests_to("/api/send_sms")]
    for request in requests:
        for number in request.body.get("recipients") or [request.body.get("recipient")]:
            sent[number] = request.body["message"]
    assert len(requests) == 3  # Ann's two rows share one request
    assert sent == {
        "254712000001": "Hi Ann, your bill is KES 500. {ref} Pay by M-Pesa paybill 123456.",
        "254712000002": "Hi Bob, your bill is KES 500. {ref} Pay by M-Pesa paybill 123456.",
        "254712000003": "Hi Ann, your bill is KES 500. {ref} Pay by M-Pesa paybill 123456.",
        "254712000005": "Hi Zoë Łukasz, your bill is KES 1200. {ref} Pay by M-Pesa paybill 123456.",
    }
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    rows = await bot.services.db.messages.list_for_job(job.id)
    stored = {row.recipient: (row.body, row.segments, row.status) for row in rows}
    assert stored["254712000002"] == (
        "Hi Bob, your bill is KES 500. {ref} Pay by M-Pesa paybill 123456.",
        1,
        MessageStatus.SENT,
    )
    assert stored["254712000005"][1] == 2
    assert stored["254712000005"][0] == "Hi Zoë Łukasz, your bill is KES 1200. {ref} Pay by M-Pesa paybill 123456."
    assert "254712000004" not in stored


async def test_unknown_placeholder_is_refused_naming_it_and_the_columns(bot: BotHarness) -> None:
    reply = await bot.upload(SENDER, BILLS, "bills.csv", "/bulk Hi {first name}")
    assert "“first name”" in reply.text and "{Name}, {Phone}, {Amount}" in reply.text
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []


async def test_template_with_placeholders_works_with_an_upload(bot: BotHarness) -> None:
    await bot.say(SENDER, "/template save bill Hi {name}, KES {amount} due.")
    preview = await bot.upload(SENDER, BILLS, "bills.csv", "/bulk #bill")
    assert "Hi Ann, KES 500 due." in preview.text and "Recipients: 4" in preview.text


async def test_placeholders_without_a_csv_header_are_refused(bot: BotHarness) -> None:
    typed = await bot.say(SENDER, "/bulk 0712345678\nHi {name}")
    assert "need a CSV file with a header row" in typed.text
    listed = await bot.upload(SENDER, b"0712000001\n0712000002\n", "list.csv", "/bulk Hi {name}")
    assert "need a CSV file with a header row" in listed.text
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []


async def test_literal_braces_without_placeholders_are_sent_as_typed(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/bulk 0712345678\nCode {{A1}} ready")
    assert "Code {{A1}} ready" in preview.text  # no placeholder: the text is not a template, nothing is replaced


async def test_credit_running_out_stops_the_job_and_fails_what_is_left(bot: BotHarness) -> None:
    rows = b"Name,Phone\n" + b"".join(f"P{i},07120000{i:02d}\n".encode() for i in range(1, 10))
    preview = await bot.upload(SENDER, rows, "people.csv", "/bulk Hello {name}")
    bot.texin.credits = Decimal(2)  # two one-part texts, then "insufficient balance"
    summary = await bot.press(SENDER, preview, "Send", predicate=lambda m: "stopped" in m.text)

    assert "not enough SMS balance" in summary.text
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    rows_after = await bot.services.db.messages.list_for_job(job.id)
    assert [row.status for row in rows_after].count(MessageStatus.SENT) == 2
    failed = [row for row in rows_after if row.status is MessageStatus.FAILED]
    assert len(failed) == 7
    # Texts already out when the first refusal came back were refused too; none was asked for after it.
    refused = [row for row in failed if not (row.error or "").startswith("not sent")]
    assert len(refused) < 1 + bot.settings.bulk_concurrency
    assert {row.error for row in failed if row not in refused} == {f"not sent: the job stopped ({refused[0].error})"}
    assert len(bot.texin.messages) == 2
    sends = bot.texin.requests_to("/api/send_sms") + bot.texin.requests_to("/api/send_bulk_sms")
    assert len(sends) == 2 + len(refused)
