"""``python -m bot`` that cannot start says why in one line on stderr, with an exit status and no traceback: a
database folder it cannot create or write (named by DATABASE_PATH), a Telegram it cannot reach."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from tests.e2e.harness import command_environment


def run_bot(tmp_path: Path, **variables: str) -> tuple[int, str, str]:
    environment = command_environment(tmp_path / "smsrelay.db", LOG_LEVEL="DEBUG", **variables)
    finished = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=environment, capture_output=True, timeout=60
    )
    return finished.returncode, finished.stdout.decode(errors="replace"), finished.stderr.decode(errors="replace")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed when the with-block ends: nothing listens there


def test_a_database_folder_that_cannot_be_created_is_one_line_naming_database_path(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("not a folder")
    database = tmp_path / "file.txt" / "db.sqlite"

    status, stdout, stderr = run_bot(tmp_path, DATABASE_PATH=str(database))

    assert status == 3, stdout + stderr
    assert "Traceback" not in stdout + stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"smsrelay cannot start: DATABASE_PATH={database}: ")
    assert "cannot be created or written" in lines[0]


def test_telegram_unreachable_at_start_up_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    port = closed_port()
    status, stdout, stderr = run_bot(
        tmp_path,
        TELEGRAM_API_URL=f"http://127.0.0.1:{port}/bot",
        TELEGRAM_FILE_URL=f"http://127.0.0.1:{port}/file/bot",
    )

    assert status == 4, stdout + stderr
    assert "Traceback" not in stdout + stderr
    errors = [line for line in stderr.splitlines() if " DEBUG " not in line and " INFO " not in line]
    assert len(errors) == 1, stderr
    assert errors[0].startswith("smsrelay cannot start: Telegram refused or could not be reached")
