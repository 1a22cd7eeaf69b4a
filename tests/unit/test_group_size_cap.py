"""A group holds at most MAX_GROUP_SIZE numbers, a group being created too: refused, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.errors import UserInputError
from bot.services.groups import MAX_GROUP_SIZE, GroupService
from storage import Role, open_database


async def test_a_new_group_over_the_cap_is_refused_and_not_created(tmp_path: Path) -> None:
    numbers = [f"2547{i:08d}" for i in range(MAX_GROUP_SIZE + 1)]
    async with await open_database(tmp_path / "cap.db") as db:
        groups = GroupService(db)
        with pytest.raises(UserInputError, match="at most"):
            await groups.add("big", numbers, chat_id=1, user_id=1, caller_role=Role.SENDER)
        assert await db.groups.members("big") is None
