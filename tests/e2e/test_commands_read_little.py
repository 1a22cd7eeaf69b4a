"""A command reads only the settings it uses: ``backup`` runs with nothing but DATABASE_PATH (no bot token, no SMS
provider), ``notify`` with the bot token and the admins but no SMS provider."""

from __future__ import annotations

import os
from pathlib import Path

from storage import open_database
from tests.e2e.harness import ADMIN, REPO
from tests.e2e.test_backup_process import run_cli
from tests.fakes.telegram_server import FakeTelegram


def bare_environment(database: Path, **variables: str) -> dict[str, str]:
    """No .env is read: the command runs in the database's folder, with only these variables."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(database.parent),
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(REPO),
        "DATABASE_PATH": str(database),
        **variables,
    }


async def test_backup_needs_only_the_database(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    async with await open_database(database):
        pass
    status, output = await run_cli(bare_environment(database), "backup", str(tmp_path / "backups") + "/")
    assert status == 0, output
    assert "integrity: ok" in output and "TELEGRAM_BOT_TOKEN" not in output
    assert len(list((tmp_path / "backups").glob("smsrelay-*.db"))) == 1


async def test_notify_needs_no_sms_provider(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    with FakeTelegram() as telegram:
        environment = bare_environment(
            database,
            TELEGRAM_BOT_TOKEN=telegram.token,
            TELEGRAM_API_URL=telegram.base_url,
            TELEGRAM_FILE_URL=telegram.base_file_url,
            ADMIN_CHAT_IDS=str(ADMIN),
        )
        status, output = await run_cli(environment, "notify", "Disk 91% full on db-1")
        assert status == 0, output
        assert "delivered to 1 admin chat(s)" in output
        [message] = telegram.messages(ADMIN)
        assert "Disk 91% full on db-1" in message.text


async def test_the_bot_itself_still_needs_a_provider(tmp_path: Path) -> None:
    with FakeTelegram() as telegram:
        environment = bare_environment(
            tmp_path / "smsrelay.db", TELEGRAM_BOT_TOKEN=telegram.token, TELEGRAM_API_URL=telegram.base_url
        )
        status, output = await run_cli(environment)
    assert status == 2
    assert "no SMS provider is configured" in output
