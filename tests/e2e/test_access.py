"""Who may do what, end to end: /start and /help per role, strangers, and chat management by admins."""

from __future__ import annotations

from storage import Role
from tests.e2e.harness import ADMIN, SENDER, STRANGER, VIEWER, BotHarness


async def test_start_shows_each_role_its_own_commands(bot: BotHarness) -> None:
    admin = await bot.say(ADMIN, "/start")
    sender = await bot.say(SENDER, "/help")
    viewer = await bot.say(VIEWER, "/start")
    assert "admin" in admin.text and "/allow" in admin.text and "/send" in admin.text
    assert "sender" in sender.text and "/send" in sender.text and "/bulk" in sender.text
    assert "/allow" not in sender.text
    assert "viewer" in viewer.text and "/status" in viewer.text and "/balance" in viewer.text
    assert "/send" not in viewer.text and "/bulk" not in viewer.text
    assert str(VIEWER) in viewer.text


async def test_stranger_is_refused_politely_with_its_chat_id_and_admins_are_told_once(
    bot: BotHarness,
) -> None:
    reply = await bot.say(STRANGER, "/start")
    assert str(STRANGER) in reply.text
    assert "/allow" in reply.text
    alert = await bot.alert(lambda m: "Refused chat" in m.text)
    assert str(STRANGER) in alert.text and "/start" in alert.text

    # Later attempts within ten minutes are ignored: tests/e2e/test_strangers.py counts replies and audit rows.
    refused = [a for a in await bot.services.db.audit.list(limit=10) if a.action == "refused"]
    assert len(refused) == 1


async def test_viewer_cannot_send_and_sender_cannot_manage_chats(bot: BotHarness) -> None:
    viewer = await bot.say(VIEWER, "/send 0712345678 hello")
    assert "not for viewer chats" in viewer.text
    sender = await bot.say(SENDER, "/allow 5555")
    assert "not for sender chats" in sender.text
    assert await bot.services.access.role_of(5555) is None
    assert bot.texin.requests == []


async def test_admin_allows_changes_lists_and_denies_a_chat(bot: BotHarness) -> None:
    allowed = await bot.say(ADMIN, "/allow 5555 viewer")
    assert "5555" in allowed.text and "viewer" in allowed.text
    assert await bot.services.access.role_of(5555) is Role.VIEWER
    changed = await bot.say(ADMIN, "/allow 5555 sender")
    assert "now <b>sender</b>" in changed.html and "was viewer" in changed.text
    listing = await bot.say(ADMIN, "/chats")
    assert "5555" in listing.text and str(SENDER) in listing.text and str(ADMIN) in listing.text

    start = await bot.say(5555, "/start")
    assert "sender" in start.text
    denied = await bot.say(ADMIN, "/deny 5555")
    assert "no longer" in denied.text
    after = await bot.say(5555, "/start")
    assert "not on its list" in after.text  # access is gone at once


async def test_last_admin_cannot_be_removed_or_demoted(bot: BotHarness) -> None:
    reply = await bot.say(ADMIN, f"/deny {ADMIN}")
    assert "last admin" in reply.text
    demote = await bot.say(ADMIN, f"/allow {ADMIN} viewer")
    assert "last admin" in demote.text
    assert await bot.services.access.role_of(ADMIN) is Role.ADMIN


async def test_malformed_chat_management_gets_usage(bot: BotHarness) -> None:
    assert "Usage: /allow" in (await bot.say(ADMIN, "/allow")).text
    assert "Unknown role" in (await bot.say(ADMIN, "/allow 77 boss")).text
    assert "Usage: /deny" in (await bot.say(ADMIN, "/deny abc")).text


async def test_unknown_command_points_to_help(bot: BotHarness) -> None:
    reply = await bot.say(SENDER, "/frobnicate now")
    assert "Unknown command /frobnicate" in reply.text
    assert "/help" in reply.text


async def test_command_menus_are_registered_per_role(bot: BotHarness) -> None:
    default = [c["command"] for c in bot.telegram.commands()]
    assert default == ["start", "help"]
    admin_menu = [c["command"] for c in bot.telegram.commands({"type": "chat", "chat_id": ADMIN})]
    assert "allow" in admin_menu and "send" in admin_menu


async def test_role_changes_reach_the_guard_on_the_very_next_update(bot: BotHarness) -> None:
    """The guard's role read is remembered between updates; /allow and /deny must still count at once."""
    assert "not on its list" in (await bot.say(6666, "/start")).text  # remembered as a stranger
    await bot.say(ADMIN, "/allow 6666 viewer")
    assert "viewer" in (await bot.say(6666, "/start")).text
    assert "not for viewer chats" in (await bot.say(6666, "/send 0712345678 hi")).text  # remembered as viewer
    await bot.say(ADMIN, "/allow 6666 sender")
    assert "not for" not in (await bot.say(6666, "/send 0712345678 hi")).text
    assert "Balance" in (await bot.say(SENDER, "/balance")).text  # remembered as sender
    await bot.say(ADMIN, f"/deny {SENDER}")
    assert "not on its list" in (await bot.say(SENDER, "/balance")).text
