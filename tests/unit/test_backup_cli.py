"""``python -m bot backup``'s path rules and report, and ``restore``'s refusals, called as the CLI calls them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.backup import EXIT_BUSY, EXIT_FAILED, make_backup, restore
from storage import open_database
from storage.backup import list_backups
from storage.db_lock import active_lock


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "smsrelay.db"
    async with await open_database(path):
        pass
    return path


def test_a_folder_written_with_a_slash_is_created_and_gets_a_dated_file(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = make_backup(database, f"{tmp_path / 'new'}/")

    [backup] = list_backups(tmp_path / "new")
    out = capsys.readouterr().out
    assert status == 0
    assert f"backup: {backup}" in out and "integrity: ok" in out and f"size: {backup.stat().st_size:,} bytes" in out


def test_an_existing_file_is_never_overwritten(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "keep.db"
    target.write_bytes(b"mine")

    assert make_backup(database, str(target)) == EXIT_FAILED
    assert target.read_bytes() == b"mine"
    assert "already exists" in capsys.readouterr().err


async def test_restore_while_another_process_has_the_database_open_says_to_let_it_finish(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert make_backup(database, str(tmp_path / "b.db")) == 0
    async with await open_database(database):
        status = restore(database, tmp_path / "b.db")
    assert status == EXIT_BUSY
    assert "is open in another smsrelay process" in capsys.readouterr().err


def test_restore_while_a_bot_is_active_says_to_stop_the_bot(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert make_backup(database, str(tmp_path / "b.db")) == 0
    with active_lock(database):
        status = restore(database, tmp_path / "b.db")
    err = capsys.readouterr().err
    assert status == EXIT_BUSY
    assert "the bot is running" in err and "Stop the bot first" in err


def test_restore_of_a_missing_file_is_refused(database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert restore(database, database.with_name("nope.db")) == EXIT_FAILED
    assert "does not exist" in capsys.readouterr().err
