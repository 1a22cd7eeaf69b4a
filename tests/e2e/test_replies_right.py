"""Issue 25, "Replies that are right": local times, honest previews and refusals, plural words, roles."""

from __future__ import annotations

import re

from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness

UTC_TIME = re.compile(r"\d{2}:\d{2} UTC")


def local_times_only(text: str) -> None:
    assert "EAT" in text, text
    assert UTC_TIME.search(text) is None, text


async def test_times_in_replies_are_in_bot_timezone(bot: BotHarness) -> None:
    await bot.say(SENDER, "/send 0712345678 Server back up")
    stored = (await bot.services.status.latest(chat_id=SENDER, limit=1))[0]
    local_times_only((await bot.say(SENDER, f"/status {stored.id}")).text)
    preview = await bot.say(SENDER, "/bulk 0712345678 0722000000\nhello all")
    await bot.press(SENDER, preview, "Send", predicate=lambda m: "finished" in m.text)
    history = (await bot.say(SENDER, "/history")).text
    assert "Bulk jobs" in history
    local_times_only(history)
    local_times_only((await bot.say(ADMIN, "/chats")).text)
    await bot.say(SENDER, "/block 0722111222 asked to stop")
    local_times_only((await bot.say(ADMIN, "/blocked")).text)
    await bot.say(SENDER, "/template save outage Power is out until 18:00")
    local_times_only((await bot.say(SENDER, "/template show outage")).text)


async def test_retry_of_a_finished_job_leaves_its_old_progress_message_alone(bot: BotHarness) -> None:
    bot.texin.failing_numbers = {"254722000000"}
    preview = await bot.say(ADMIN, "/bulk 0712345678, 0722000000, 0733000000\nRetry me")
    await bot.press(ADMIN, preview, "Send", predicate=lambda m: "finished" in m.text)
    [job] = await bot.services.db.jobs.list_for_chat(ADMIN)
    await bot.services.bulk.wait(job.id)
    bot.texin.failing_numbers = set()
    retry_preview = await bot.say(ADMIN, f"/retry {job.id}")
    await bot.press(
        ADMIN, retry_preview, "Send again", predicate=lambda m: "finished" in m.text and "Sent: 3" in m.text
    )
    await bot.services.bulk.wait(job.id)
    first_run = next(m for m in bot.telegram.messages(ADMIN) if m.message_id == preview.message_id)
    assert "Interrupted" not in first_run.text and "Done" in first_run.text


async def test_a_bulk_over_the_quota_says_so_and_offers_no_send(bot: BotHarness) -> None:
    await bot.services.db.quotas.set_override(SENDER, 2, by_chat_id=ADMIN)
    preview = await bot.say(SENDER, "/bulk 0712345678, 0722000000, 0733000000\nHello")
    assert "Over the daily quota" in preview.text
    markup = preview.reply_markup or {}
    assert not any("Send" in b["text"] for row in markup.get("inline_keyboard", []) for b in row)


async def test_quota_reached_is_said_only_when_it_is_reached(bot: BotHarness) -> None:
    await bot.services.db.quotas.set_override(SENDER, 2, by_chat_id=ADMIN)
    answer = await bot.say(SENDER, "/send 0712345678 " + "x" * 400)  # 3 parts, 0 used: a preview
    if "Send this SMS?" in answer.text:
        answer = await bot.press(SENDER, answer, "Send", predicate=lambda m: "Sending" not in m.text)
    assert "Daily quota reached" not in answer.text and "Not enough daily quota left" in answer.text
    await bot.say(SENDER, "/send 0712345678 Hi")
    await bot.say(SENDER, "/send 0712345678 Hi")
    assert "Daily quota reached" in (await bot.say(SENDER, "/send 0712345678 Hi")).text


async def test_a_number_that_is_not_kenyan_says_why(bot: BotHarness) -> None:
    answer = await bot.say(SENDER, "/send 0812345678 Hello")
    assert "numbers start 07 or 01" in answer.text


async def test_one_is_singular(bot: BotHarness) -> None:
    await bot.services.db.quotas.set_override(SENDER, 1, by_chat_id=ADMIN)
    quota = await bot.say(SENDER, "/quota")
    assert "0 of 1 unit used today" in quota.text and "Daily limit: 1 unit " in quota.text
    assert "1 units" not in quota.text
    await bot.say(SENDER, "/block 0722111222 asked to stop")
    refused = await bot.say(SENDER, "/bulk 0722111222\nHello")
    assert "All 1 number is blocked" in refused.text


async def test_no_usage_line_under_a_refusal_that_is_not_about_syntax(bot: BotHarness) -> None:
    for chat, command in [(SENDER, "/status 999"), (ADMIN, "/retry 99"), (SENDER, "/template delete nosuch")]:
        answer = await bot.say(chat, command)
        assert "⚠️" in answer.text and "Usage:" not in answer.text, (command, answer.text)
    assert "Usage: /status" in (await bot.say(SENDER, "/status 1 2")).text


async def test_an_unknown_cost_has_one_wording(bot: BotHarness) -> None:
    preview = await bot.say(SENDER, "/send via:254sms 0712345678 " + "z" * 500)  # 4 parts: a preview
    assert "Estimated cost: not known (254sms does not report prices)" in preview.text
    bulk = await bot.say(SENDER, "/bulk via:254sms 0712345678 0722000000\nHello")
    assert "Estimated cost: not known (254sms does not report prices)" in bulk.text


async def test_chat_replies_name_no_environment_variables(bot: BotHarness) -> None:
    for chat, command in [(SENDER, "/quota"), (ADMIN, "/quota"), (ADMIN, "/chats")]:
        text = (await bot.say(chat, command)).text
        assert re.search(r"\b[A-Z0-9]+_[A-Z0-9_]+\b", text) is None, (command, text)


async def test_quota_of_a_chat_that_is_not_allowed_says_so(bot: BotHarness) -> None:
    answer = await bot.say(ADMIN, "/quota 987654")
    assert "Chat 987654 is not allowed to use the bot" in answer.text and "Usage:" not in answer.text


async def test_braces_in_a_send_point_to_double_braces(bot: BotHarness) -> None:
    answer = await bot.say(SENDER, "/send 0712345678 Your code is {1234}")
    assert "{{" in answer.text and "}}" in answer.text and "{1234}" in answer.text
    sent = await bot.say(SENDER, "/send 0712345678 Your code is {{1234}}")
    assert "Sent" in sent.text
    assert bot.texin.requests_to("/api/send_sms")[0].body["message"] == "Your code is {1234}"


async def test_a_template_with_placeholders_says_it_needs_a_csv(bot: BotHarness) -> None:
    await bot.say(SENDER, "/template save bill Hi {name}, KES {amount} due.")
    answer = await bot.say(SENDER, "/send 0712345678 #bill")
    assert "needs a CSV" in answer.text and "/bulk #bill" in answer.text


async def test_a_file_without_a_caption_is_answered_with_what_to_do(bot: BotHarness) -> None:
    answer = await bot.upload(SENDER, b"phone\n0712345678\n", "list.csv", "")
    assert "/bulk" in answer.text and "list.csv" in answer.text
    assert bot.texin.requests_to("/api/send_bulk_sms") == []


async def test_a_spreadsheet_without_a_caption_is_told_to_be_saved_as_csv(bot: BotHarness) -> None:
    answer = await bot.upload(SENDER, b"PK\x03\x04", "team.xlsx", "", mime_type="application/vnd.ms-excel")
    assert "is a spreadsheet" in answer.text and "CSV" in answer.text


async def test_csv_rows_without_a_phone_are_counted_as_refused(bot: BotHarness) -> None:
    content = b"Name,Phone\nAnn,0712345678\nBob,\nCy,0722000000\n"
    preview = await bot.upload(SENDER, content, "people.csv", "/bulk Hello {name}")
    assert "Recipients: <b>2</b>" in preview.html or "Recipients: 2" in preview.text
    assert "Refused: 1 number" in preview.text and "row 3: no phone number" in preview.text


async def test_group_show_marks_blocked_members(bot: BotHarness) -> None:
    await bot.say(SENDER, "/group add oncall 0712345678 0722000000")
    await bot.say(SENDER, "/block 0722000000 asked to stop")
    shown = await bot.say(SENDER, "/group show oncall")
    [blocked_line] = [line for line in shown.text.splitlines() if "722" in line]
    assert "blocked" in blocked_line
    assert "blocked" not in next(line for line in shown.text.splitlines() if "712" in line)


async def test_a_viewer_reads_the_teams_messages(bot: BotHarness) -> None:
    await bot.say(SENDER, "/send 0712345678 Server back up")
    [stored] = await bot.services.db.messages.list_for_chat(SENDER)
    listing = await bot.say(VIEWER, "/status")
    assert f"#{stored.id}" in listing.text and "team" in listing.text
    detail = await bot.say(VIEWER, f"/status {stored.id}")
    assert f"Message #{stored.id}" in detail.text
    history = await bot.say(VIEWER, "/history")
    assert f"#{stored.id}" in history.text
    assert "not for viewer chats" in (await bot.say(VIEWER, "/send 0712345678 Hi")).text
    other = await bot.say(SENDER, "/status")  # a sender still sees its own chat only
    assert "team" not in other.text


async def test_help_lists_only_what_the_role_can_do(bot: BotHarness) -> None:
    viewer = (await bot.say(VIEWER, "/help")).text
    assert "/group [show" in viewer and "add" not in viewer and "save" not in viewer and "delete" not in viewer
    assert "/send" not in viewer and "/quota" not in viewer
    sender = (await bot.say(SENDER, "/help")).text
    assert "units per day" not in sender and "/send" in sender
    admin = (await bot.say(ADMIN, "/help")).text
    assert "units per day" in admin and "/allow" in admin
