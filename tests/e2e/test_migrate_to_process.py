"""``python -m bot migrate-to <DATABASE_URL>`` as a real process: the copy and its summary, and each refusal in one
line with exit status 2 (a second copy, a bot running on the SQLite file), a failure with 1. The URL's password
never appears in what it prints."""

from __future__ import annotations

from pathlib import Path

from storage import open_database
from storage.migrations import load_migrations
from tests.e2e.harness import command_environment, process_environment, start_bot_process, stop_bot_process
from tests.e2e.test_backup_process import run_cli
from tests.fakes.telegram_server import FakeTelegram
from tests.storage.test_copy_to_postgres import (
    TABLES,
    fill_every_table,
    postgres_rows,
    postgres_value,
    sqlite_rows,
)

PASSWORD = "Wz9-q7Tr0ub4dor"


def with_password(url: str) -> str:
    """The test cluster's URL with a password in it (the cluster trusts loopback, so any password connects)."""
    return url.replace("://postgres@", f"://postgres:{PASSWORD}@", 1)


def one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


async def test_migrate_to_copies_every_table_prints_a_summary_and_refuses_a_second_time(
    tmp_path: Path, postgres_url: str
) -> None:
    database = tmp_path / "smsrelay.db"
    async with await open_database(database, active=True) as db:
        await fill_every_table(db)
    before = sqlite_rows(database)
    url = with_password(postgres_url)

    status, output = await run_cli(command_environment(database), "migrate-to", url)

    assert status == 0, output
    assert await postgres_rows(postgres_url) == before
    lines = output.strip().splitlines()
    for table in TABLES:
        count = len(before[table])
        assert f"{table}: {count:,} row{'' if count == 1 else 's'}" in lines, output
    total = sum(len(rows) for rows in before.values())
    assert f"copied {total:,} rows in {len(TABLES)} tables from {database} into " in lines[-2], output
    assert "postgres:***@127.0.0.1" in lines[-2] and f"(schema version {len(load_migrations())})" in lines[-2]
    assert lines[-1].startswith("next: set DATABASE_URL in .env"), output
    assert PASSWORD not in output

    again, refused = await run_cli(command_environment(database), "migrate-to", url)

    assert again == 2, refused
    assert one_line(refused).startswith("migrate-to refused: postgresql://postgres:***@127.0.0.1:")
    assert "already holds rows" in refused and PASSWORD not in refused
    assert await postgres_rows(postgres_url) == before


async def test_migrate_to_an_unreachable_server_fails_in_one_line_without_the_password(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    async with await open_database(database) as db:
        await db.chats.seed_admins([1001])
    url = f"postgresql://smsrelay:{PASSWORD}@127.0.0.1:1/smsrelay"  # port 1: nothing listens there

    status, output = await run_cli(command_environment(database), "migrate-to", url)

    assert status == 1, output
    line = one_line(output)
    assert line.startswith("migrate-to failed: ") and "cannot connect" in line
    assert "postgresql://smsrelay:***@127.0.0.1:1/smsrelay" in line
    assert PASSWORD not in output and "Traceback" not in output


async def test_migrate_to_is_refused_while_the_bot_runs_on_the_sqlite_file(tmp_path: Path, postgres_url: str) -> None:
    database = tmp_path / "smsrelay.db"
    with FakeTelegram() as telegram:
        environment = process_environment(telegram, database, SMS_SIMULATOR="true")
        process = start_bot_process(environment, tmp_path / "bot.log")
        try:
            await telegram.wait_for_request("setMyCommands", timeout=30)  # up and active

            status, output = await run_cli(environment, "migrate-to", with_password(postgres_url))
        finally:
            stop_bot_process(process)

    assert status == 2, output
    assert one_line(output) == f"migrate-to refused: {database} is in use: a bot is running on it"
    assert await postgres_value(postgres_url, "SELECT to_regclass('chats')") is None  # the target was not touched
    assert process.returncode == 0
