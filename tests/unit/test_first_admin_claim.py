"""The one-time ``/claim`` code: long enough, new at each start, only while no admin exists, dead once used."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.first_admin import ClaimOutcome, FirstAdminClaim
from storage import Database, Role, open_database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "smsrelay.db", active=True)
    yield database
    await database.close()


async def test_a_new_code_of_at_least_eight_characters_at_each_start(db: Database) -> None:
    first = await FirstAdminClaim(db).open_if_needed()
    second = await FirstAdminClaim(db).open_if_needed()
    assert first is not None and second is not None
    assert len(first) >= 8 and len(second) >= 8 and first != second


async def test_no_code_when_an_admin_exists(db: Database) -> None:
    await db.chats.seed_admins([1])
    claim = FirstAdminClaim(db)
    assert await claim.open_if_needed() is None
    assert await claim.claim(chat_id=2, user_id=2, code="anything") is ClaimOutcome.CLOSED
    assert await db.chats.role(2) is None


async def test_a_wrong_code_grants_nothing_and_the_right_one_only_once(db: Database) -> None:
    claim = FirstAdminClaim(db)
    code = await claim.open_if_needed()
    assert code is not None
    assert await claim.claim(chat_id=5, user_id=5, code=code[:-1]) is ClaimOutcome.WRONG
    assert await db.chats.role(5) is None
    outcomes = await asyncio.gather(*(claim.claim(chat_id=chat, user_id=chat, code=code) for chat in (5, 6)))
    assert sorted(outcome.value for outcome in outcomes) == ["closed", "granted"]
    assert [await db.chats.role(chat) for chat in (5, 6)].count(Role.ADMIN) == 1
    assert not claim.is_open
    grants = [record for record in await db.audit.list() if record.action == "grant"]
    assert len(grants) == 1 and "claimed with the start-up code" in (grants[0].detail or "")
