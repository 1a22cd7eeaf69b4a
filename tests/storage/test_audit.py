"""The audit log: what is recorded, how it is read back, and that it cannot be changed afterwards."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from storage import Database, audit_actions

from .conftest import FakeClock
from .factories import ADMIN_CHAT, SENDER_CHAT, USER


async def test_a_recorded_action_reads_back_with_every_field(db: Database, clock: FakeClock) -> None:
    recorded = await db.audit.record(
        audit_actions.BULK,
        actor_chat_id=SENDER_CHAT,
        actor_user_id=USER,
        target="job 12",
        detail="2,400 recipients via sms254",
        units=4800,
    )

    assert await db.audit.list() == [recorded]
    assert (recorded.at, recorded.action, recorded.target, recorded.units) == (
        clock.now,
        "bulk",
        "job 12",
        4800,
    )


async def test_refused_access_is_recorded_with_the_intruder_as_actor(db: Database) -> None:
    await db.audit.record(audit_actions.REFUSED, actor_chat_id=-100123, actor_user_id=777, detail="/send")

    [row] = await db.audit.list(chat_id=-100123)
    assert (row.action, row.actor_user_id, row.detail) == (audit_actions.REFUSED, 777, "/send")


async def test_list_is_latest_first_limited_and_filtered_by_acting_chat(db: Database) -> None:
    for index in range(5):
        await db.audit.record(audit_actions.SEND, actor_chat_id=SENDER_CHAT, actor_user_id=USER, units=index)
    await db.audit.record(audit_actions.GRANT, actor_chat_id=ADMIN_CHAT, actor_user_id=USER, target=SENDER_CHAT)

    assert [row.units for row in await db.audit.list(limit=3, chat_id=SENDER_CHAT)] == [4, 3, 2]
    assert [row.units for row in await db.audit.list(limit=3, chat_id=SENDER_CHAT, offset=3)] == [1, 0]
    [grant] = await db.audit.list(chat_id=ADMIN_CHAT)
    assert grant.target == str(SENDER_CHAT)
    assert len(await db.audit.list()) == 6


async def test_audit_rows_cannot_be_changed_or_deleted_even_with_raw_sql(db: Database, db_path: Path) -> None:
    await db.audit.record(audit_actions.SEND, actor_chat_id=SENDER_CHAT, actor_user_id=USER)

    with contextlib.closing(sqlite3.connect(db_path, isolation_level=None)) as other:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            other.execute("UPDATE audit SET detail = 'tampered'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            other.execute("DELETE FROM audit")

    [row] = await db.audit.list()
    assert row.detail is None
