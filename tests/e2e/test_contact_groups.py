"""/group end to end: make, show, change and delete contact groups; roles; audit; files as sources."""

from __future__ import annotations

from bot.phone import display_phone
from storage import audit_actions
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness


async def test_group_add_creates_reports_duplicates_and_refusals_then_lists(bot: BotHarness) -> None:
    made = await bot.say(SENDER, "/group add OnCall 0712345678 0722000000 0712345678 07123")
    assert "Created @oncall: added 2 numbers" in made.text
    assert "Duplicates ignored: 1" in made.text and "07123: too short" in made.text
    again = await bot.say(SENDER, "/group add oncall 0722000000, 0733000000")
    assert "added 1 number" in again.text and "Already in the group: 1" in again.text
    listed = await bot.say(VIEWER, "/group")
    assert "@oncall: 3 numbers" in listed.text
    shown = await bot.say(VIEWER, "/group show ONCALL")
    assert "3 numbers" in shown.text and display_phone("254733000000") in shown.text
    assert await bot.services.db.groups.members("oncall") == ["254712345678", "254722000000", "254733000000"]
    actions = [r for r in await bot.services.db.audit.list(20) if r.action == audit_actions.GROUP]
    assert len(actions) == 2 and all(r.target == "@oncall" for r in actions)


async def test_group_names_are_checked_and_viewers_cannot_change_groups(bot: BotHarness) -> None:
    bad = await bot.say(SENDER, "/group add bad.name 0712345678")
    assert "not a valid group name" in bad.text and "1–32" in bad.text
    assert "not a valid group name" in (await bot.say(SENDER, "/group add " + "a" * 33 + " 0712345678")).text
    refused = await bot.say(VIEWER, "/group add team 0712345678")
    assert "Only senders and admins" in refused.text
    assert await bot.services.db.groups.summaries() == []
    missing = await bot.say(VIEWER, "/group show nobody")
    assert "There is no group @nobody" in missing.text


async def test_group_add_from_a_csv_caption_and_remove(bot: BotHarness) -> None:
    made = await bot.upload(SENDER, b"Name,Phone\nA,0712345678\nB,0722000000\n", "team.csv", "/group add team")
    assert "added 2 numbers from team.csv" in made.text
    removed = await bot.say(SENDER, "/group remove team 0712345678 0733000000")
    assert "Removed 1 number" in removed.text and "Not in the group: 1" in removed.text
    assert await bot.services.db.groups.members("team") == ["254722000000"]


async def test_group_show_pages_long_groups(bot: BotHarness) -> None:
    numbers = " ".join(f"07{i:08d}" for i in range(250))
    await bot.say(SENDER, f"/group add big {numbers}")
    first = await bot.say(VIEWER, "/group show big")
    assert "page 1 of 3" in first.text and len(first.text) <= 4096
    third = await bot.say(VIEWER, "/group show big 3")
    last = display_phone("254700000249")
    assert "page 3 of 3" in third.text and last in third.text and last not in first.text
    assert "has 3 pages" in (await bot.say(VIEWER, "/group show big 4")).text


async def test_group_delete_asks_first_and_cancel_keeps_it(bot: BotHarness) -> None:
    await bot.say(SENDER, "/group add team 0712345678")
    question = await bot.say(SENDER, "/group delete team")
    assert "Delete @team" in question.text
    assert await bot.services.db.groups.members("team") == ["254712345678"]
    cancelled = await bot.press(SENDER, question, "Cancel")
    assert "not deleted" in cancelled.text
    assert await bot.services.db.groups.members("team") == ["254712345678"]
    question = await bot.say(ADMIN, "/group delete TEAM")
    done = await bot.press(ADMIN, question, "Delete")
    assert "Deleted @team (1 number)" in done.text
    assert await bot.services.db.groups.members("team") is None
    details = [r.detail for r in await bot.services.db.audit.list(20) if r.action == audit_actions.GROUP]
    assert any(d and "deleted" in d for d in details)


async def test_bulk_to_groups_and_numbers_counts_each_group_and_sends_once_each(bot: BotHarness) -> None:
    await bot.say(SENDER, "/group add oncall 0712345678 0722000000")
    await bot.say(SENDER, "/group add managers 0722000000 0733000000")
    preview = await bot.say(SENDER, "/bulk @OnCall @managers 0712345678 0744000000\nServer down")
    assert "Recipients: 4" in preview.text
    assert "From groups: @oncall 2, @managers 2" in preview.text
    assert "Duplicates removed: 2" in preview.text
    await bot.press(SENDER, preview, "Send", predicate=lambda m: "finished" in m.text)
    assert bot.texin.received == {"254712345678": 1, "254722000000": 1, "254733000000": 1, "254744000000": 1}


async def test_bulk_to_an_unknown_group_is_refused_by_name_and_sends_nothing(bot: BotHarness) -> None:
    await bot.say(SENDER, "/group add oncall 0712345678")
    refused = await bot.say(SENDER, "/bulk @oncall @nobody\nServer down")
    assert "There is no group @nobody" in refused.text and "@oncall" in refused.text
    assert "Usage:" not in refused.text and refused.reply_markup is None  # well written, just no such group
    assert bot.texin.requests_to("/api/send_bulk_sms") == []
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []


async def test_group_add_as_a_reply_to_a_file_or_to_numbers(bot: BotHarness) -> None:
    document = bot.telegram.send_document(SENDER, b"0712345678\n0722000000\n", "staff.txt", mime_type="text/plain")
    await bot.settle()  # the bot's answer to the bare file comes first
    made = await bot.say(SENDER, "/group add staff", reply_to_message_id=document)
    assert "added 2 numbers from staff.txt" in made.text
    numbers = bot.telegram.send_text(SENDER, "0733000000, 0712345678")
    more = await bot.say(SENDER, "/group add staff", reply_to_message_id=numbers)
    assert "added 1 number from the message you replied to" in more.text and "Already in the group: 1" in more.text
    assert await bot.services.db.groups.members("staff") == ["254712345678", "254722000000", "254733000000"]


async def test_group_without_numbers_or_with_an_unknown_action_is_refused_and_changes_nothing(bot: BotHarness) -> None:
    empty = await bot.say(SENDER, "/group add team")
    assert "Give the numbers after the group name" in empty.text and "Usage:" in empty.text
    unknown = await bot.say(SENDER, "/group rename team crew")
    assert "“rename” is not a /group action" in unknown.text and "Usage:" in unknown.text
    assert await bot.services.db.groups.summaries() == []


async def test_bulk_to_a_group_leaves_out_its_blocked_members(bot: BotHarness) -> None:
    await bot.say(SENDER, "/group add oncall 0712345678 0722000000")
    await bot.say(SENDER, "/block 0722000000 asked to stop")
    preview = await bot.say(SENDER, "/bulk @oncall\nServer down")
    assert "Recipients: 1" in preview.text and "From groups: @oncall 2" in preview.text
    assert "Blocked (opted out): 1" in preview.text
    await bot.press(SENDER, preview, "Send", predicate=lambda m: "finished" in m.text)
    assert bot.texin.received == {"254712345678": 1}


async def test_bulk_caption_of_a_file_with_groups_sends_to_both_and_keeps_the_group_out_of_the_text(
    bot: BotHarness,
) -> None:
    await bot.say(SENDER, "/group add oncall 0712345678 0722000000")
    preview = await bot.upload(SENDER, b"Phone\n0722000000\n0733000000\n", "extra.csv", "/bulk @oncall Server down")
    assert "Recipients: 3 from extra.csv" in preview.text and "From groups: @oncall 2" in preview.text
    assert "Duplicates removed: 1" in preview.text and "@oncall Server down" not in preview.text
    await bot.press(SENDER, preview, "Send", predicate=lambda m: "finished" in m.text)
    assert bot.texin.received == {"254712345678": 1, "254722000000": 1, "254733000000": 1}
    assert [r.body["message"] for r in bot.texin.requests_to("/api/send_bulk_sms")] == ["Server down"]


async def test_bulk_with_a_group_and_csv_placeholders_is_refused_and_sends_nothing(bot: BotHarness) -> None:
    await bot.say(SENDER, "/group add oncall 0712345678")
    csv = b"Name,Phone\nAmina,0722000000\n"
    refused = await bot.upload(SENDER, csv, "people.csv", "/bulk @oncall Hi {name}")
    assert "a group's numbers have none" in refused.text and refused.reply_markup is None
    assert await bot.services.db.jobs.list_for_chat(SENDER) == []


async def test_bulk_to_a_group_with_a_template(bot: BotHarness) -> None:
    await bot.say(SENDER, "/group add oncall 0712345678 0722000000")
    await bot.say(SENDER, "/template save outage Power is out until 18:00")
    preview = await bot.say(SENDER, "/bulk @oncall #outage")
    assert "Recipients: 2" in preview.text and "Power is out until 18:00" in preview.text
