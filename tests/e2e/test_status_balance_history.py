"""/status, /balance, /history and /export end to end."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from storage import MessageStatus, Role
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness


async def sent_message_id(bot: BotHarness, chat_id: int, command: str) -> int:
    reply = await bot.say(chat_id, command)
    assert "Sent" in reply.text, reply.text
    [latest] = await bot.services.db.messages.list_for_chat(chat_id, limit=1)
    return latest.id


async def test_status_asks_texin_and_stores_the_new_state(bot: BotHarness) -> None:
    our_id = await sent_message_id(bot, SENDER, "/send 0712345678 hello")
    provider_id = next(iter(bot.texin.messages))
    bot.texin.set_status(provider_id, "delivered", delivered_at="2026-11-23 12:00:05")
    reply = await bot.say(SENDER, f"/status {our_id}")
    assert f"Message #{our_id}: delivered" in reply.text
    assert "Texin says: delivered" in reply.text and "2026-11-23 12:00:05" in reply.text
    assert bot.texin.requests_to("/api/check_status")[-1].body["message_id"] == provider_id
    stored = await bot.services.db.messages.get(our_id)
    assert stored is not None and stored.status is MessageStatus.DELIVERED


async def test_status_by_the_providers_message_id(bot: BotHarness) -> None:
    await sent_message_id(bot, SENDER, "/send 0712345678 hello")
    provider_id = next(iter(bot.texin.messages))
    reply = await bot.say(SENDER, f"/status {provider_id}")
    assert "+254 712 345 678" in reply.text and "Texin says: sent" in reply.text


async def test_status_of_a_254sms_message_answers_from_our_record_and_says_so(bot: BotHarness) -> None:
    our_id = await sent_message_id(bot, SENDER, "/send via:sms254 0712345678 hello")
    reply = await bot.say(SENDER, f"/status {our_id}")
    assert "254sms has no status call" in reply.text
    assert f"#{our_id}: sent" in reply.text
    assert bot.sms254.requests_to("/version1/sendsms") and len(bot.sms254.requests) == 1


async def test_status_when_texin_fails_shows_our_record_and_the_reason(bot: BotHarness) -> None:
    our_id = await sent_message_id(bot, SENDER, "/send 0712345678 hello")
    bot.texin.fail_next("http500", count=5)
    reply = await bot.say(SENDER, f"/status {our_id}")
    assert f"#{our_id}: sent" in reply.text and "Could not ask Texin" in reply.text


async def test_status_alone_lists_this_chats_latest_messages(bot: BotHarness) -> None:
    await sent_message_id(bot, SENDER, "/send 0712345678 first")
    await sent_message_id(bot, SENDER, "/send 0722000000 second")
    reply = await bot.say(SENDER, "/status")
    lines = reply.text.splitlines()
    assert "Latest messages" in lines[0]
    assert "second" in lines[1] and "first" in lines[2]  # latest first


async def test_status_of_another_chats_message_is_not_found_for_senders(bot: BotHarness) -> None:
    our_id = await sent_message_id(bot, ADMIN, "/send 0712345678 admin only")
    assert "No message" in (await bot.say(SENDER, f"/status {our_id}")).text
    assert f"#{our_id}" in (await bot.say(VIEWER, f"/status {our_id}")).text  # viewers read the team's messages
    assert f"#{our_id}" in (await bot.say(ADMIN, f"/status {our_id}")).text
    assert "No message" in (await bot.say(VIEWER, "/status 999")).text


async def test_balance_shows_every_provider(bot: BotHarness) -> None:
    reply = await bot.say(VIEWER, "/balance")
    assert "Texin: 1,000 units" in reply.text
    assert "KES 300.00 at KES 0.30/unit" in reply.text
    assert "254sms: 1,000 units" in reply.text


async def test_one_failing_provider_never_hides_the_other(bot: BotHarness) -> None:
    bot.sms254.fail_next("http500", count=10)
    reply = await bot.say(VIEWER, "/balance")
    assert "Texin: 1,000 units" in reply.text
    assert "254sms: ⚠️" in reply.text


async def test_a_slow_provider_does_not_hold_the_other_back(bot: BotHarness) -> None:
    bot.texin.fail_next("timeout", count=10)  # every retry of Texin's balance hangs past the timeout
    reply = await bot.say(VIEWER, "/balance", timeout=20)
    assert "254sms: 1,000 units" in reply.text
    assert "Texin: ⚠️" in reply.text


async def test_history_lists_messages_and_jobs_of_this_chat_and_all_for_admins(bot: BotHarness) -> None:
    await sent_message_id(bot, SENDER, "/send 0712345678 from sender")
    await sent_message_id(bot, ADMIN, "/send 0722000000 from admin")
    preview = await bot.say(SENDER, "/bulk 0733000000, 0744000000\nBulk hello")
    await bot.press(SENDER, preview, "Send", predicate=lambda m: "finished" in m.text)
    mine = await bot.say(SENDER, "/history")
    assert "from sender" in mine.text and "from admin" not in mine.text
    assert "Bulk jobs" in mine.text and "2/2 sent" in mine.text
    everyone = await bot.say(ADMIN, "/history 5")
    assert "all chats" in everyone.text and "from sender" in everyone.text and "from admin" in everyone.text
    assert "Give a number" in (await bot.say(SENDER, "/history lots")).text


async def test_export_returns_a_csv_whose_rows_match_the_database(bot: BotHarness) -> None:
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000, 0733000000\nExported")
    await bot.press(SENDER, preview, "Send", predicate=lambda m: "finished" in m.text)
    [job] = await bot.services.db.jobs.list_for_chat(SENDER)
    reply = await bot.say(SENDER, f"/export {job.id}")
    assert reply.document is not None and reply.document.file_name == f"smsrelay-job-{job.id}.csv"
    rows = list(csv.DictReader(io.StringIO(reply.document.content.decode("utf-8-sig"))))
    stored = await bot.services.db.messages.list_for_job(job.id)
    assert [(r["id"], r["recipient"], r["status"], r["error"]) for r in rows] == [
        (str(m.id), m.recipient, m.status.value, m.error or "") for m in stored
    ]
    assert {r["status"] for r in rows} == {"sent", "failed"}

    whole_chat = await bot.say(SENDER, "/export")
    assert whole_chat.document is not None
    assert whole_chat.document.content.decode("utf-8-sig").count("\n") == 1 + 3


async def test_export_of_another_chats_job_is_refused(bot: BotHarness) -> None:
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000\nAdmin job")
    await bot.press(ADMIN, preview, "Send", predicate=lambda m: "finished" in m.text)
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
    reply = await bot.say(SENDER, f"/export {job.id}")
    assert "another chat" in reply.text and reply.document is None


async def test_chats_asking_at_once_share_one_call_per_provider(bot: BotHarness) -> None:
    chats = [9001 + index for index in range(10)]
    for chat_id in chats:
        await bot.services.access.allow(
            by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=chat_id, role=Role.VIEWER, caller_role=Role.ADMIN
        )
    mark = bot.telegram.mark()
    for chat_id in chats:
        bot.telegram.send_text(chat_id, "/balance")
    for chat_id in chats:
        reply = await bot.telegram.wait_for_message(chat_id, after=mark)
        assert "Texin: 1,000 units" in reply.text and "254sms: 1,000 units" in reply.text
    assert len(bot.texin.requests_to("/api/get_balance")) == 1
    assert len(bot.sms254.requests_to("/version1/credits")) == 1


async def test_a_recent_balance_is_reused_and_a_send_refreshes_it(bot: BotHarness) -> None:
    await bot.say(VIEWER, "/balance")
    bot.texin.credits = Decimal(500)  # spent elsewhere: not seen until the answer is older than its limit
    again = await bot.say(VIEWER, "/balance")
    assert "Texin: 1,000 units" in again.text
    assert len(bot.texin.requests_to("/api/get_balance")) == 1
    await sent_message_id(bot, SENDER, "/send 0712345678 hello")  # Texin reports the balance after the send
    after_send = await bot.say(VIEWER, "/balance")
    assert "Texin: 499 units" in after_send.text
    assert len(bot.texin.requests_to("/api/get_balance")) == 1
