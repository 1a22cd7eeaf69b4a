"""Authorization: seeding admins, granting, changing and revoking roles, and the last-admin rule."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from storage import Database, LastAdminError, NewSchedule, Role, ScheduleKind, audit_actions
from storage.chats import ChatMove

from .conftest import FakeClock
from .factories import ADMIN_CHAT, SENDER_CHAT, USER, a_job, a_message, numbers

SECOND_ADMIN = 1002


async def test_seeding_adds_missing_admins_without_an_adder(db: Database, clock: FakeClock) -> None:
    changed = await db.chats.seed_admins([ADMIN_CHAT, SECOND_ADMIN])

    assert changed == [ADMIN_CHAT, SECOND_ADMIN]
    record = await db.chats.get(ADMIN_CHAT)
    assert record is not None
    assert (record.role, record.added_by, record.added_at) == (Role.ADMIN, None, clock.now)


async def test_seeding_again_changes_nothing_and_audits_nothing(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT, SECOND_ADMIN])
    audited = len(await db.audit.list())

    assert await db.chats.seed_admins([SECOND_ADMIN, ADMIN_CHAT, ADMIN_CHAT]) == []
    assert len(await db.audit.list()) == audited == 2


async def test_seeding_promotes_a_listed_chat_that_has_a_lower_role(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])
    await db.chats.grant(SENDER_CHAT, Role.SENDER, added_by=ADMIN_CHAT, title="Sales")

    assert await db.chats.seed_admins([ADMIN_CHAT, SENDER_CHAT]) == [SENDER_CHAT]
    record = await db.chats.get(SENDER_CHAT)
    assert record is not None
    assert (record.role, record.added_by, record.title) == (Role.ADMIN, ADMIN_CHAT, "Sales")


async def test_grant_adds_a_chat_with_who_added_it_and_when(db: Database, clock: FakeClock) -> None:
    record = await db.chats.grant(SENDER_CHAT, Role.SENDER, added_by=ADMIN_CHAT, title="Sales team")

    assert record.chat_id == SENDER_CHAT
    assert (record.role, record.title, record.added_by) == (Role.SENDER, "Sales team", ADMIN_CHAT)
    assert record.added_at == record.updated_at == clock.now
    assert await db.chats.get(SENDER_CHAT) == record


async def test_grant_changes_the_role_but_keeps_the_original_adder_and_title(db: Database, clock: FakeClock) -> None:
    first = await db.chats.grant(SENDER_CHAT, Role.VIEWER, added_by=ADMIN_CHAT, title="Sales")
    later = clock.advance(60)

    changed = await db.chats.grant(SENDER_CHAT, Role.SENDER, added_by=SECOND_ADMIN)

    assert changed.role is Role.SENDER
    assert (changed.added_by, changed.added_at, changed.title) == (ADMIN_CHAT, first.added_at, "Sales")
    assert changed.updated_at == later


async def test_revoked_chat_loses_access_at_once(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])
    await db.chats.grant(SENDER_CHAT, Role.SENDER, added_by=ADMIN_CHAT)
    assert await db.chats.get(SENDER_CHAT) is not None

    assert await db.chats.revoke(SENDER_CHAT, by=ADMIN_CHAT) is True
    assert await db.chats.get(SENDER_CHAT) is None


async def test_revoking_a_chat_without_access_reports_false(db: Database) -> None:
    assert await db.chats.revoke(SENDER_CHAT, by=ADMIN_CHAT) is False
    assert await db.audit.list() == []


async def test_the_last_admin_cannot_be_revoked(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])

    with pytest.raises(LastAdminError, match=str(ADMIN_CHAT)):
        await db.chats.revoke(ADMIN_CHAT, by=ADMIN_CHAT)
    assert await db.chats.admin_ids() == [ADMIN_CHAT]


async def test_the_last_admin_cannot_be_demoted_and_nothing_is_audited(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])
    audited = len(await db.audit.list())

    with pytest.raises(LastAdminError):
        await db.chats.grant(ADMIN_CHAT, Role.VIEWER, added_by=ADMIN_CHAT)

    record = await db.chats.get(ADMIN_CHAT)
    assert record is not None
    assert record.role is Role.ADMIN
    assert len(await db.audit.list()) == audited


async def test_an_admin_can_be_removed_while_another_remains(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT, SECOND_ADMIN])

    assert await db.chats.revoke(SECOND_ADMIN, by=ADMIN_CHAT)
    assert await db.chats.admin_ids() == [ADMIN_CHAT]


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT, SECOND_ADMIN])

    results = await asyncio.gather(
        db.chats.grant(ADMIN_CHAT, Role.SENDER, added_by=SECOND_ADMIN),
        db.chats.grant(SECOND_ADMIN, Role.SENDER, added_by=ADMIN_CHAT),
        return_exceptions=True,
    )

    assert sum(isinstance(result, LastAdminError) for result in results) == 1
    assert len(await db.chats.admin_ids()) == 1


async def test_list_shows_every_chat_in_the_order_added_and_admin_ids_only_admins(
    db: Database, clock: FakeClock
) -> None:
    await db.chats.seed_admins([SECOND_ADMIN])
    clock.advance(1)
    await db.chats.grant(SENDER_CHAT, Role.SENDER, added_by=SECOND_ADMIN)
    clock.advance(1)
    await db.chats.grant(ADMIN_CHAT, Role.ADMIN, added_by=SECOND_ADMIN)
    clock.advance(1)
    await db.chats.grant(3003, Role.VIEWER, added_by=SECOND_ADMIN)

    assert [(c.chat_id, c.role) for c in await db.chats.list()] == [
        (SECOND_ADMIN, Role.ADMIN),
        (SENDER_CHAT, Role.SENDER),
        (ADMIN_CHAT, Role.ADMIN),
        (3003, Role.VIEWER),
    ]
    assert await db.chats.admin_ids() == [ADMIN_CHAT, SECOND_ADMIN]


async def test_every_grant_and_revoke_leaves_an_audit_row(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])
    await db.chats.grant(SENDER_CHAT, Role.VIEWER, added_by=ADMIN_CHAT, actor_user_id=USER)
    await db.chats.grant(SENDER_CHAT, Role.SENDER, added_by=ADMIN_CHAT, actor_user_id=USER)
    await db.chats.revoke(SENDER_CHAT, by=ADMIN_CHAT, actor_user_id=USER)

    rows = list(reversed(await db.audit.list()))
    assert [(r.action, r.actor_chat_id, r.target) for r in rows] == [
        (audit_actions.GRANT, None, str(ADMIN_CHAT)),
        (audit_actions.GRANT, ADMIN_CHAT, str(SENDER_CHAT)),
        (audit_actions.GRANT, ADMIN_CHAT, str(SENDER_CHAT)),
        (audit_actions.REVOKE, ADMIN_CHAT, str(SENDER_CHAT)),
    ]
    assert [r.detail for r in rows[1:]] == ["viewer (new)", "sender (was viewer)", "was sender"]
    assert {r.actor_user_id for r in rows[1:]} == {USER}


async def test_a_grant_rolled_back_by_the_caller_leaves_neither_chat_nor_audit_row(db: Database) -> None:
    async def grant_then_fail() -> None:
        async with db.transaction():
            await db.chats.grant(SENDER_CHAT, Role.SENDER, added_by=ADMIN_CHAT)
            raise RuntimeError("reply to Telegram failed")

    with pytest.raises(RuntimeError):
        await grant_then_fail()

    assert await db.chats.get(SENDER_CHAT) is None
    assert await db.audit.list() == []


# --- a group upgraded to a supergroup --------------------------------------------------------------------------

OLD_GROUP = -4100
SUPERGROUP = -1004100


async def test_migrate_moves_role_jobs_and_history_to_the_supergroup_in_one_audited_step(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])
    await db.chats.grant(OLD_GROUP, Role.SENDER, added_by=ADMIN_CHAT, title="Ops")
    job = await db.jobs.create(a_job(chat_id=OLD_GROUP), numbers(3))
    single = await db.messages.add(a_message(chat_id=OLD_GROUP))
    other = await db.messages.add(a_message(chat_id=SENDER_CHAT))

    move = await db.chats.migrate(OLD_GROUP, SUPERGROUP)

    assert move == ChatMove(OLD_GROUP, SUPERGROUP, Role.SENDER, True, 1, 4)
    assert await db.chats.get(OLD_GROUP) is None
    moved = await db.chats.get(SUPERGROUP)
    assert moved is not None and (moved.role, moved.title, moved.added_by) == (Role.SENDER, "Ops", ADMIN_CHAT)
    assert [j.id for j in await db.jobs.list_for_chat(SUPERGROUP)] == [job.id]
    assert {m.id for m in await db.messages.list_for_chat(SUPERGROUP)} >= {single.id}
    assert len(await db.messages.list_for_chat(SUPERGROUP)) == 4
    assert await db.messages.list_for_chat(OLD_GROUP) == []
    assert [m.id for m in await db.messages.list_for_chat(SENDER_CHAT)] == [other.id]
    [entry] = [a for a in await db.audit.list() if a.action == audit_actions.MIGRATE]
    assert entry.target == str(SUPERGROUP) and str(OLD_GROUP) in (entry.detail or "")


async def test_migrate_again_finds_nothing_and_audits_nothing(db: Database) -> None:
    await db.chats.grant(OLD_GROUP, Role.VIEWER, added_by=ADMIN_CHAT)
    assert await db.chats.migrate(OLD_GROUP, SUPERGROUP) is not None
    audited = len(await db.audit.list())

    assert await db.chats.migrate(OLD_GROUP, SUPERGROUP) is None
    assert len(await db.audit.list()) == audited
    record = await db.chats.get(SUPERGROUP)
    assert record is not None and record.role is Role.VIEWER


async def test_migrate_onto_a_chat_that_already_has_a_role_keeps_the_stronger_one(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])
    await db.chats.grant(OLD_GROUP, Role.ADMIN, added_by=ADMIN_CHAT)
    await db.chats.grant(SUPERGROUP, Role.VIEWER, added_by=ADMIN_CHAT)

    move = await db.chats.migrate(OLD_GROUP, SUPERGROUP)

    assert move is not None and move.role is Role.ADMIN
    assert await db.chats.admin_ids() == [SUPERGROUP, ADMIN_CHAT]


async def test_role_is_answered_from_memory_after_the_first_read(db: Database, db_path: Path) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])
    assert await db.chats.role(ADMIN_CHAT) is Role.ADMIN
    # Changed behind the repository's back (no process does this): the remembered answer shows no read happened.
    with sqlite3.connect(db_path) as other:
        other.execute("UPDATE chats SET role = 'viewer' WHERE chat_id = ?", (ADMIN_CHAT,))

    assert await db.chats.role(ADMIN_CHAT) is Role.ADMIN


async def test_every_role_change_is_seen_by_the_very_next_read(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])
    stranger, old_group, new_group = 7001, -100, -1001
    for chat_id in (SENDER_CHAT, stranger, old_group, new_group, SECOND_ADMIN):
        assert await db.chats.role(chat_id) is None  # remembered as "no access"

    await db.chats.grant(SENDER_CHAT, Role.SENDER, added_by=ADMIN_CHAT)
    assert await db.chats.role(SENDER_CHAT) is Role.SENDER
    await db.chats.grant(SENDER_CHAT, Role.VIEWER, added_by=ADMIN_CHAT)
    assert await db.chats.role(SENDER_CHAT) is Role.VIEWER
    assert await db.chats.revoke(SENDER_CHAT, by=ADMIN_CHAT)
    assert await db.chats.role(SENDER_CHAT) is None

    await db.chats.grant(old_group, Role.SENDER, added_by=ADMIN_CHAT)
    assert await db.chats.role(old_group) is Role.SENDER
    await db.chats.migrate(old_group, new_group)
    assert (await db.chats.role(old_group), await db.chats.role(new_group)) == (None, Role.SENDER)

    await db.chats.seed_admins([SECOND_ADMIN])
    assert await db.chats.role(SECOND_ADMIN) is Role.ADMIN
    assert await db.chats.role(stranger) is None


async def test_a_role_read_inside_a_transaction_that_rolls_back_is_not_remembered(db: Database) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])

    async def grant_then_fail() -> None:
        async with db.transaction():
            await db.chats.grant(SENDER_CHAT, Role.SENDER, added_by=ADMIN_CHAT)
            assert await db.chats.role(SENDER_CHAT) is Role.SENDER
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await grant_then_fail()

    assert await db.chats.role(SENDER_CHAT) is None


async def test_migrate_moves_the_groups_scheduled_sends(db: Database, clock: FakeClock) -> None:
    await db.chats.seed_admins([ADMIN_CHAT])
    await db.chats.grant(OLD_GROUP, Role.SENDER, added_by=ADMIN_CHAT)
    waiting = await db.schedules.add(
        NewSchedule(
            chat_id=OLD_GROUP,
            user_id=USER,
            kind=ScheduleKind.SEND,
            provider="texin",
            body="Shift change at 18:30",
            recipients=("254712345678",),
            due_at=clock() + timedelta(hours=2),
        )
    )

    move = await db.chats.migrate(OLD_GROUP, SUPERGROUP)

    assert move is not None and move.schedules == 1
    moved = await db.schedules.get(waiting.id)
    assert moved is not None and moved.chat_id == SUPERGROUP  # it fires for the supergroup, whose role it checks
