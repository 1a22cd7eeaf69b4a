"""Moving a SQLite database to PostgreSQL (``storage/copy_to_postgres.py``): every row of every table arrives, ids go
on after the copied ones, and anything that is not a copy into an empty database with no bot running is refused or
rolled back whole. A real SQLite file filled through the repositories, and a fresh database of the test cluster."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage import (
    AlertNotice,
    Database,
    MessageOutcome,
    MessageStatus,
    NewSchedule,
    Role,
    ScheduleKind,
    audit_actions,
    open_database,
)
from storage.copy_to_postgres import MigrateFailedError, MigrateRefusedError, copy_to_postgres
from storage.db_lock import BotRunningError, active_lock
from storage.migrations import load_migrations
from storage.pg_lock import PostgresActiveLock

from .conftest import FakeClock
from .factories import ADMIN_CHAT, SENDER_CHAT, USER, a_job, a_message, numbers

GROUP_CHAT = -1001234567890  # a supergroup: beyond 32 bits, a BIGINT on PostgreSQL
# Every table a bot writes, all filled by ``fill_every_table``; ha_lease stays the target's own.
TABLES = {
    "alert_incidents",
    "alert_posts",
    "alert_state",
    "audit",
    "blocked_numbers",
    "bulk_jobs",
    "chat_quotas",
    "chats",
    "contact_group_members",
    "contact_groups",
    "messages",
    "schedules",
    "spend_requests",
    "templates",
}
IDENTITY_TABLES = ("alert_incidents", "audit", "bulk_jobs", "contact_groups", "messages", "schedules")
Rows = dict[str, list[tuple[Any, ...]]]


async def fill_every_table(db: Database) -> None:
    """Rows in every table of ``TABLES``, written through the repositories as a bot that worked a while leaves them."""
    await db.chats.seed_admins([ADMIN_CHAT])
    await db.chats.grant(SENDER_CHAT, Role.SENDER, ADMIN_CHAT, "Shop front", actor_user_id=USER)
    await db.chats.grant(GROUP_CHAT, Role.VIEWER, ADMIN_CHAT, "Büro 🏢", actor_user_id=USER)
    job = await db.jobs.create(a_job(body="Offer ends Friday 🎉"), numbers(40), request_key="bulk:77")
    await db.jobs.start_running(job.id)
    batch = await db.jobs.claim_batch(job.id, 15)
    await db.jobs.record_outcomes(
        [MessageOutcome(r.id, MessageStatus.SENT, f"p{r.id}", units=1, cost=Decimal("0.35")) for r in batch[:10]]
        + [MessageOutcome(r.id, MessageStatus.FAILED, error="blacklisted") for r in batch[10:]]
    )
    await db.messages.add(a_message(status=MessageStatus.SENT, units=2, cost=Decimal("1.40")), request_key="send:78")
    await db.audit.record(audit_actions.BLOCK, actor_chat_id=ADMIN_CHAT, actor_user_id=USER, target=3, units=None)
    await db.templates.save("reminder", "Meeting at {time}, bring ID", by_chat_id=ADMIN_CHAT, by_user_id=USER)
    await db.groups.add("staff", numbers(3, start=100), chat_id=ADMIN_CHAT)
    await db.groups.add("drivers", numbers(2, start=200), chat_id=SENDER_CHAT)
    await db.blocklist.add(["254700000001", "254700000002"], reason="asked to stop", chat_id=ADMIN_CHAT, user_id=None)
    await db.schedules.add(
        NewSchedule(
            chat_id=SENDER_CHAT,
            user_id=USER,
            kind=ScheduleKind.BULK,
            provider="texin",
            body="Closed on Monday",
            recipients=tuple(numbers(2)),
            due_at=datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
        ),
        request_key="schedule:79",
    )
    await db.quotas.set_override(SENDER_CHAT, 500, by_chat_id=ADMIN_CHAT)
    await db.quotas.set_override(GROUP_CHAT, None, by_chat_id=ADMIN_CHAT)
    await db.alert_state.put("balance:texin", "low")
    await db.spend_requests.claim("preview:80", SENDER_CHAT)
    incident, _ = await db.incidents.record(
        AlertNotice(
            fingerprint="a1b2",
            starts_at=datetime(2026, 12, 1, 5, 0, tzinfo=UTC),
            source="alertmanager",
            name="DiskFull",
            severity="critical",
            instance="db-1",
            summary="95 % used",
            labels={"alertname": "DiskFull", "instance": "db-1"},
            firing=True,
            escalates=True,
        )
    )
    await db.incidents.add_post(incident.id, ADMIN_CHAT, 4242)


def sqlite_rows(path: Path, tables: set[str] = TABLES) -> Rows:
    """Each table's rows, columns in name order, sorted: what must arrive whatever order the columns are in."""
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        found: Rows = {}
        for table in tables:
            columns = sorted(row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (table,)))
            selected = ", ".join(f'"{column}"' for column in columns)
            found[table] = sorted(conn.execute(f'SELECT {selected} FROM "{table}"').fetchall(), key=repr)
    return found


async def postgres_rows(url: str, tables: set[str] = TABLES) -> Rows:
    conn = await asyncpg.connect(url)
    try:
        found: Rows = {}
        for table in tables:
            columns = [
                row[0]
                for row in await conn.fetch(
                    # seq: PostgreSQL's own record of the order group members were added in (SQLite's rowid).
                    "SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND column_name <> 'seq'"
                    " ORDER BY column_name",
                    table,
                )
            ]
            selected = ", ".join(f'"{column}"' for column in columns)
            rows = await conn.fetch(f'SELECT {selected} FROM "{table}"')
            found[table] = sorted((tuple(row) for row in rows), key=repr)
        return found
    finally:
        await conn.close()


async def postgres_value(url: str, sql: str) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def filled_sqlite(path: Path, clock: FakeClock) -> Rows:
    async with await open_database(path, clock=clock, active=True) as db:
        await fill_every_table(db)
    rows = sqlite_rows(path)
    assert all(rows[table] for table in TABLES), {table for table in TABLES if not rows[table]}
    return rows


async def test_every_row_of_every_table_arrives_and_new_ids_go_on_after_the_copied_ones(
    tmp_path: Path, postgres_url: str, clock: FakeClock
) -> None:
    source = tmp_path / "smsrelay.db"
    before = await filled_sqlite(source, clock)

    result = await copy_to_postgres(source, postgres_url, chunk_rows=7)  # many chunks for the 41 messages

    assert await postgres_rows(postgres_url) == before
    assert {table.name: table.rows for table in result.tables} == {table: len(before[table]) for table in TABLES}
    assert result.rows == sum(len(rows) for rows in before.values())
    assert (result.skipped, result.schema_version) == ([], len(load_migrations()))
    order = [table.name for table in result.tables]
    assert order.index("bulk_jobs") < order.index("messages") < order.index("spend_requests")
    assert order.index("contact_groups") < order.index("contact_group_members")
    assert sqlite_rows(source) == before  # the file is only read

    lease = await postgres_rows(postgres_url, {"ha_lease"})
    assert lease == {"ha_lease": [(0, 1, None, None)]}  # epoch, id, owner, taken_at: the target's, not the file's
    with contextlib.closing(sqlite3.connect(source)) as conn:
        assert conn.execute("SELECT epoch, owner IS NOT NULL FROM ha_lease").fetchone() == (1, 1)
        highest = {table: conn.execute(f"SELECT max(id) FROM {table}").fetchone()[0] for table in IDENTITY_TABLES}

    async with await open_database(postgres_url, clock=clock, active=True) as db:
        job = await db.jobs.create(a_job(), numbers(2, start=500))
        message = await db.messages.add(a_message(recipient="254799999999"))
        note = await db.audit.record("migrated", actor_chat_id=None, actor_user_id=None)
        await db.groups.add("new hires", numbers(1, start=300), chat_id=ADMIN_CHAT)
        assert await db.groups.members("staff") == numbers(3, start=100)  # in the order they were added
        schedule = await db.schedules.add(
            NewSchedule(SENDER_CHAT, USER, ScheduleKind.SEND, "texin", "Hi", ("254711111111",), clock.now)
        )
    group_id = await postgres_value(postgres_url, "SELECT id FROM contact_groups WHERE name = 'new hires'")
    assert job.id > highest["bulk_jobs"] and message.id > highest["messages"] and note.id > highest["audit"]
    assert group_id > highest["contact_groups"] and schedule.id > highest["schedules"]


async def test_a_second_copy_into_the_same_database_is_refused_and_changes_nothing(
    tmp_path: Path, postgres_url: str, clock: FakeClock
) -> None:
    source = tmp_path / "smsrelay.db"
    await filled_sqlite(source, clock)
    await copy_to_postgres(source, postgres_url)
    copied = await postgres_rows(postgres_url, TABLES | {"ha_lease", "schema_version"})
    async with await open_database(source, clock=clock) as db:  # more rows in the file since the first copy
        await db.templates.save("late", "written after the copy", by_chat_id=ADMIN_CHAT, by_user_id=USER)

    with pytest.raises(MigrateRefusedError, match=r"already holds rows \(in .*templates.*\)"):
        await copy_to_postgres(source, postgres_url)

    assert await postgres_rows(postgres_url, TABLES | {"ha_lease", "schema_version"}) == copied


async def test_one_row_in_one_table_is_enough_to_refuse(tmp_path: Path, postgres_url: str, clock: FakeClock) -> None:
    source = tmp_path / "smsrelay.db"
    await filled_sqlite(source, clock)
    async with await open_database(postgres_url, clock=clock) as db:
        await db.alert_state.put("balance:texin", "ok")

    with pytest.raises(MigrateRefusedError, match=r"holds rows \(in alert_state\)"):
        await copy_to_postgres(source, postgres_url)

    after = await postgres_rows(postgres_url)
    assert {table for table, rows in after.items() if rows} == {"alert_state"}


async def test_refused_while_a_bot_runs_on_the_sqlite_file_without_touching_the_target(
    tmp_path: Path, postgres_url: str, clock: FakeClock
) -> None:
    source = tmp_path / "smsrelay.db"
    await filled_sqlite(source, clock)

    with active_lock(source), pytest.raises(BotRunningError, match="a bot is running on it"):
        await copy_to_postgres(source, postgres_url)

    assert await postgres_value(postgres_url, "SELECT to_regclass('messages')") is None  # not even migrated


async def test_refused_while_a_bot_holds_the_active_lock_of_the_target(
    tmp_path: Path, postgres_url: str, clock: FakeClock
) -> None:
    source = tmp_path / "smsrelay.db"
    await filled_sqlite(source, clock)
    lock = PostgresActiveLock(postgres_url, takeover_seconds=10)
    try:
        assert lock.try_acquire()
        with pytest.raises(MigrateRefusedError, match=r"a bot is running on .* active lock"):
            await copy_to_postgres(source, postgres_url)
    finally:
        lock.release()

    assert not any((await postgres_rows(postgres_url)).values())
    await copy_to_postgres(source, postgres_url)  # once the bot is gone
    assert await postgres_rows(postgres_url) == sqlite_rows(source)


async def test_columns_are_matched_by_name_and_tables_postgresql_lacks_are_skipped(
    tmp_path: Path, postgres_url: str, clock: FakeClock
) -> None:
    source = tmp_path / "smsrelay.db"
    await filled_sqlite(source, clock)
    with contextlib.closing(sqlite3.connect(source, isolation_level=None)) as conn:
        # templates rebuilt with its columns in the opposite order; a table of someone else's beside ours.
        conn.executescript(
            "BEGIN;"
            " CREATE TABLE templates_new (saved_at TEXT NOT NULL, saved_by INTEGER, body TEXT NOT NULL,"
            "  name TEXT PRIMARY KEY);"
            " INSERT INTO templates_new SELECT saved_at, saved_by, body, name FROM templates;"
            " DROP TABLE templates; ALTER TABLE templates_new RENAME TO templates;"
            " CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES ('mine');"
            " COMMIT;"
        )
    before = sqlite_rows(source)

    result = await copy_to_postgres(source, postgres_url)

    assert await postgres_rows(postgres_url) == before
    assert result.skipped == ["notes"]
    assert "notes" not in [table.name for table in result.tables]


async def test_a_value_postgresql_cannot_take_rolls_the_whole_copy_back(
    tmp_path: Path, postgres_url: str, clock: FakeClock
) -> None:
    source = tmp_path / "smsrelay.db"
    await filled_sqlite(source, clock)
    with contextlib.closing(sqlite3.connect(source, isolation_level=None)) as conn:
        # SQLite keeps text in an INTEGER column that cannot read it as a number; PostgreSQL's BIGINT cannot.
        conn.execute("UPDATE chat_quotas SET set_by = 'the boss' WHERE chat_id = ?", (SENDER_CHAT,))

    with pytest.raises(MigrateFailedError, match=r"chat_quotas\.set_by holds a str that is not bigint"):
        await copy_to_postgres(source, postgres_url)

    assert not any((await postgres_rows(postgres_url)).values())  # tables copied before it were rolled back too


async def test_numbers_stored_as_text_or_real_in_sqlite_arrive_as_the_column_type(
    tmp_path: Path, postgres_url: str, clock: FakeClock
) -> None:
    source = tmp_path / "smsrelay.db"
    await filled_sqlite(source, clock)
    with contextlib.closing(sqlite3.connect(source, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE templates_untyped (name PRIMARY KEY, body, saved_by, saved_at)")  # no affinity
        conn.execute("INSERT INTO templates_untyped SELECT * FROM templates")
        conn.execute("DROP TABLE templates")
        conn.execute("ALTER TABLE templates_untyped RENAME TO templates")
        conn.execute("INSERT INTO templates VALUES (1234, 5678, ' 42', '2026-11-23T11:35:30Z')")  # int name, text id
        conn.execute("INSERT INTO templates VALUES ('float', 'x', 7.0, '2026-11-23T11:35:30Z')")

    await copy_to_postgres(source, postgres_url)

    [templates] = (await postgres_rows(postgres_url, {"templates"})).values()
    assert ("5678", "1234", "2026-11-23T11:35:30Z", 42) in templates  # body, name, saved_at, saved_by
    assert ("x", "float", "2026-11-23T11:35:30Z", 7) in templates


async def test_refused_without_a_sqlite_file_or_with_a_url_that_is_not_postgresql(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.db"

    with pytest.raises(MigrateRefusedError, match="no SQLite database at"):
        await copy_to_postgres(missing, "postgresql://smsrelay:hunter2@127.0.0.1:1/smsrelay")
    with pytest.raises(MigrateRefusedError, match="not a postgresql://"):
        await copy_to_postgres(missing, "mysql://root:hunter2@db/smsrelay")

    assert not missing.exists()  # never created by the refusal
