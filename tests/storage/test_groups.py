"""Contact groups in SQLite: adding reports what was new, removing what was there, deleting takes the members, and
a database made by the migrations before groups existed upgrades in place with its data kept."""

from __future__ import annotations

import shutil
from pathlib import Path

from storage import Database, open_database
from storage.migrations import load_migrations

from .factories import ADMIN_CHAT

A, B, C = "254712345678", "254722000000", "254733000000"
MIGRATIONS = Path(__file__).resolve().parents[2] / "storage" / "migrations"
BEFORE_GROUPS = (
    "0001_initial.sql",
    "0002_alerts_and_tracking.sql",
    "0003_update_claims.sql",
    "0004_blocklist.sql",
    "0005_templates.sql",
)


def _old_migrations(folder: Path) -> Path:
    folder.mkdir()
    for name in BEFORE_GROUPS:
        shutil.copy(MIGRATIONS / name, folder / name)
    return folder


async def test_add_remove_delete_and_counts(db: Database) -> None:
    assert await db.groups.add("team", [C, A], chat_id=1) == (True, [C, A])
    assert await db.groups.add("team", [B, C], chat_id=1) == (False, [B])
    await db.groups.add("alpha", [A], chat_id=1)
    assert [(g.name, g.members) for g in await db.groups.summaries()] == [("alpha", 1), ("team", 3)]
    assert await db.groups.members("team") == [C, A, B]  # the order they were added in
    assert await db.groups.remove("team", [A, "254700000000"]) == [A]
    assert await db.groups.remove("nobody", [A]) is None
    assert await db.groups.members("team") == [C, B]
    assert await db.groups.delete("team") == 2
    assert await db.groups.members("team") is None
    assert await db.groups.delete("team") is None


async def test_a_database_from_before_groups_upgrades_in_place(tmp_path: Path) -> None:
    old_dir = _old_migrations(tmp_path / "old")
    path = tmp_path / "upgrade.db"
    old = await open_database(path, migrations_dir=old_dir)
    await old.chats.seed_admins([ADMIN_CHAT])
    assert await old.schema_version() == 5
    await old.close()

    db: Database = await open_database(path)
    try:
        assert await db.schema_version() == len(load_migrations()) >= 6
        assert await db.chats.admin_ids() == [ADMIN_CHAT]
        assert await db.groups.add("team", [A], chat_id=ADMIN_CHAT) == (True, [A])
    finally:
        await db.close()
