"""Every command for every kind of chat: allowed ones answer, the others are refused in one line."""

from __future__ import annotations

import pytest

from bot.permissions import COMMANDS
from storage import Role
from tests.e2e.harness import ADMIN, SENDER, STRANGER, VIEWER, BotHarness

CHATS = {"admin": (ADMIN, Role.ADMIN), "sender": (SENDER, Role.SENDER), "viewer": (VIEWER, Role.VIEWER)}


@pytest.mark.parametrize("command", [command.name for command in COMMANDS])
@pytest.mark.parametrize("who", ["admin", "sender", "viewer", "stranger"])
async def test_every_command_for_every_role(bot: BotHarness, who: str, command: str) -> None:
    chat_id = STRANGER if who == "stranger" else CHATS[who][0]
    reply = await bot.say(chat_id, f"/{command}")
    spec = next(c for c in COMMANDS if c.name == command)
    if who == "stranger":
        assert "not on its list" in reply.text and str(STRANGER) in reply.text
    elif CHATS[who][1] in spec.roles:
        assert "is not for" not in reply.text
        assert "not on its list" not in reply.text
        assert "went wrong" not in reply.text
    else:
        assert f"/{command} is not for" in reply.text
    assert bot.texin.requests_to("/api/send_sms") == [] and bot.texin.requests_to("/api/send_bulk_sms") == []
    assert bot.telegram.refusals() == []
