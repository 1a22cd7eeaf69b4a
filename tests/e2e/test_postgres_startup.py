"""DATABASE_URL that cannot be used stops ``python -m bot`` with one readable line naming it, never its password:
a malformed URL, a server that refuses, a user without the rights to create the tables."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tests.e2e.harness import process_environment
from tests.e2e.http_process import free_port
from tests.e2e.test_backup_process import run_cli
from tests.fakes.telegram_server import FakeTelegram
from tests.postgres_cluster import PostgresCluster

PASSWORD = "s3cret-Pa55word"


def one_line_naming_database_url(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert PASSWORD not in output, output
    assert "Traceback" not in output, output
    [line] = [line for line in lines if "DATABASE_URL" in line]
    return line


async def start(tmp_path: Path, url: str) -> tuple[int, str]:
    with FakeTelegram() as telegram:
        environment = process_environment(
            telegram, tmp_path / "unused.db", SMS_SIMULATOR="true", DATABASE_URL=url, LOG_LEVEL="WARNING"
        )
        return await run_cli(environment)


async def test_a_malformed_database_url_is_a_configuration_line(tmp_path: Path) -> None:
    status, output = await start(tmp_path, f"postgresql://smsrelay:{PASSWORD}@db:notaport/smsrelay")
    assert status == 2
    line = one_line_naming_database_url(output)
    assert "postgresql://user:password@host" in line


async def test_a_url_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    status, output = await start(tmp_path, f"mysql://smsrelay:{PASSWORD}@db/smsrelay")
    assert status == 2
    assert "must be postgresql://" in one_line_naming_database_url(output)


async def test_a_server_that_refuses_is_one_line_without_the_password(tmp_path: Path) -> None:
    status, output = await start(tmp_path, f"postgresql://smsrelay:{PASSWORD}@127.0.0.1:{free_port()}/smsrelay")
    assert status == 3
    line = one_line_naming_database_url(output)
    assert "cannot connect" in line and "smsrelay:***@127.0.0.1" in line


async def test_a_user_without_rights_is_told_which_right_is_missing(
    tmp_path: Path, postgres_url: str, postgres_cluster: PostgresCluster
) -> None:
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f"CREATE ROLE visitor LOGIN PASSWORD '{PASSWORD}'")
        await admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    finally:
        await admin.close()
    parts = urlsplit(postgres_url)
    visitor = urlunsplit(parts._replace(netloc=f"visitor:{PASSWORD}@127.0.0.1:{postgres_cluster.port}"))
    try:
        status, output = await start(tmp_path, visitor)
    finally:
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute("DROP OWNED BY visitor")
            await admin.execute("DROP ROLE visitor")
        finally:
            await admin.close()
    assert status == 3
    line = one_line_naming_database_url(output)
    assert "missing rights" in line and "visitor may not create tables" in line
