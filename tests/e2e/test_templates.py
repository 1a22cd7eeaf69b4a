"""/template end to end: save, list, show, delete, roles, refusals, and #name as the message of /send and /bulk."""

from __future__ import annotations

import pytest

from storage import audit_actions
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness


async def test_saved_template_is_sent_by_send_with_its_name(bot: BotHarness) -> None:
    saved = await bot.say(SENDER, "/template save Outage Power is off in the building.\nBack at 5pm.")
    assert "Saved template" in saved.text and "#outage" in saved.text

    reply = await bot.say(SENDER, "/send 0712345678 #OUTAGE")

    assert "Sent" in reply.text
    body = bot.texin.requests_to("/api/send_sms")[0].body
    assert body["message"] == "Power is off in the building.\nBack at 5pm."


async def test_template_as_the_whole_bulk_message_is_previewed_and_sent(bot: BotHarness) -> None:
    await bot.say(SENDER, "/template save water Water off tomorrow 9-12.")
    preview = await bot.say(SENDER, "/bulk 0712345678 0722000000\n#water")
    assert "Water off tomorrow 9-12." in preview.text
    assert "#water" not in preview.text


async def test_unknown_template_is_refused_and_nothing_is_sent(bot: BotHarness) -> None:
    reply = await bot.say(SENDER, "/send 0712345678 #nosuch")
    assert "no template “#nosuch”" in reply.text and "Usage:" not in reply.text
    bulk = await bot.say(SENDER, "/bulk 0712345678\n#nosuch")
    assert "no template “#nosuch”" in bulk.text
    assert bot.texin.requests_to("/api/send_sms") == []


async def test_a_hash_inside_a_longer_message_is_plain_text(bot: BotHarness) -> None:
    await bot.say(SENDER, "/send 0712345678 Meet at room #4")
    assert bot.texin.requests_to("/api/send_sms")[0].body["message"] == "Meet at room #4"


async def test_list_show_replace_and_delete_are_audited(bot: BotHarness) -> None:
    await bot.say(ADMIN, "/template save a First <b>text</b>")
    replaced = await bot.say(SENDER, "/template save A Second text")
    assert "Replaced" in replaced.text
    await bot.say(SENDER, "/template save b Other")

    listing = await bot.say(VIEWER, "/template")
    assert "Templates (2)" in listing.text and "#a" in listing.text and "#b" in listing.text
    shown = await bot.say(VIEWER, "/template show #A")
    assert "Second text" in shown.text

    deleted = await bot.say(SENDER, "/template delete a")
    assert "Deleted" in deleted.text
    gone = await bot.say(SENDER, "/template show a")
    assert "no template “#a”" in gone.text

    actions = [record.action for record in await bot.services.db.audit.list(50)]
    assert actions.count(audit_actions.TEMPLATE_SAVE) == 3
    assert actions.count(audit_actions.TEMPLATE_DELETE) == 1


async def test_list_is_paged(bot: BotHarness) -> None:
    for index in range(25):
        await bot.say(SENDER, f"/template save t{index:02d} text {index}")
    first = await bot.say(SENDER, "/template list")
    assert "page 1 of 2" in first.text and "#t00" in first.text and "#t20" not in first.text
    assert "/template list 2" in first.text
    second = await bot.say(SENDER, "/template list 2")
    assert "#t24" in second.text and "#t00" not in second.text


async def test_viewer_may_read_but_not_change_templates(bot: BotHarness) -> None:
    await bot.say(SENDER, "/template save keep Kept text")
    refused = await bot.say(VIEWER, "/template save mine Viewer text")
    assert "Only sender and admin chats" in refused.text
    refused = await bot.say(VIEWER, "/template delete keep")
    assert "Only sender and admin chats" in refused.text
    assert await bot.services.db.templates.get("keep") is not None
    assert await bot.services.db.templates.get("mine") is None


async def test_deleting_an_unknown_template_is_refused_without_a_usage_line(bot: BotHarness) -> None:
    reply = await bot.say(SENDER, "/template delete nosuch")
    assert "no template “#nosuch”" in reply.text and "Usage:" not in reply.text


@pytest.mark.parametrize(
    ("command", "explanation"),
    [
        ("/template save", "Give a name and the text"),
        ("/template save name", "The template text is empty"),
        ("/template save bad.name text", "is not a template name"),
        (f"/template save {'x' * 33} text", "is not a template name"),
        ("/template save loop #other", "cannot be only another template"),
        ("/template show", "Give one template name"),
        ("/template rename a b", "Unknown action"),
        ("/template list two", "is not a page number"),
    ],
)
async def test_bad_template_commands_get_a_readable_refusal(bot: BotHarness, command: str, explanation: str) -> None:
    reply = await bot.say(SENDER, command)
    assert explanation in reply.text and "Usage:" in reply.text
    assert await bot.services.db.templates.count() == 0


async def test_send_refuses_a_template_with_placeholders(bot: BotHarness) -> None:
    await bot.say(SENDER, "/template save bill Hi {name}, KES {amount} due.")
    reply = await bot.say(SENDER, "/send 0712345678 #bill")
    assert "Template #bill has placeholders ({name}, {amount}): it needs a CSV" in reply.text
    assert bot.texin.requests_to("/api/send_sms") == []
