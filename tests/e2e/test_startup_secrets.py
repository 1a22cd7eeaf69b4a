"""A token Telegram refuses stops ``python -m bot`` with a clear line and without printing the token.

python-telegram-bot words a refused token as "The token `<token>` was rejected by the server.": the real process
runs against a fake Bot API that answers every call with 401 (revoked token) or 404 (malformed token).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.harness import ADMIN, process_environment
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

TOKEN = "987654321:AAF-secretPartOfTheToken_x9"
SECRET_PART = TOKEN.split(":", 1)[1]


@pytest.mark.parametrize("status", [401, 404])
def test_a_refused_token_stops_the_bot_without_printing_it(tmp_path: Path, status: int) -> None:
    with FakeTelegram(TOKEN, answer_every_call_with=status) as telegram, TexinFakeServer() as texin:
        environment = process_environment(telegram, tmp_path / "smsrelay.db", texin, LOG_LEVEL="DEBUG")
        finished = subprocess.run(
            [sys.executable, "-m", "bot"], cwd=tmp_path, env=environment, capture_output=True, timeout=60
        )
    stdout = finished.stdout.decode(errors="replace")
    stderr = finished.stderr.decode(errors="replace")
    assert finished.returncode != 0, stdout + stderr
    for output in (stdout, stderr):
        for form in (TOKEN, quote(TOKEN, safe=""), SECRET_PART, texin.api_key):
            assert form not in output, output
    assert "smsrelay cannot start: Telegram refused the bot token" in stderr, stderr


def test_notify_never_forwards_a_secret_a_script_pasted(tmp_path: Path) -> None:
    with FakeTelegram(TOKEN) as telegram, TexinFakeServer() as texin:
        environment = process_environment(telegram, tmp_path / "smsrelay.db", texin)
        text = f"cron failed: GET /bot{TOKEN}/getMe, key={texin.api_key}"
        command = [sys.executable, "-m", "bot", "notify", text]
        finished = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, timeout=60)
        assert finished.returncode == 0, finished.stderr
        assert telegram.last_message(ADMIN).text == "📣 cron failed: GET /bot***/getMe, key=***"
