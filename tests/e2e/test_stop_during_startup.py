"""``docker stop`` while ``python -m bot`` is still starting: SIGTERM at any moment between "smsrelay starting" and
"Application started" ends the process promptly, with status 0 and no traceback.

The fake Telegram holds one start-up call (``hold``) so the signal lands exactly there: ``getMe`` (PTB's
``initialize``), ``setMyCommands`` (our ``post_init``), ``deleteWebhook`` (polling starting, after ``post_init``).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.harness import process_environment, start_bot_process, wait_until
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

GRACE = 8.0  # SHUTDOWN_GRACE_SECONDS' default


def stop_and_wait(process: subprocess.Popen[bytes], log: Path) -> tuple[int | None, float, str]:
    """SIGTERM now; the exit status (None: still running after the grace and a bit), seconds taken, the log."""
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code: int | None = process.wait(GRACE + 4)
    except subprocess.TimeoutExpired:
        code = None
        process.kill()
        process.wait()
    return code, time.monotonic() - stopped_at, log.read_text(errors="replace")


@pytest.mark.parametrize("method", ["getMe", "setMyCommands", "deleteWebhook"])
async def test_sigterm_while_a_start_up_call_hangs_exits_cleanly(tmp_path: Path, method: str) -> None:
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        hold = telegram.hold(method)
        process = start_bot_process(process_environment(telegram, tmp_path / "smsrelay.db", texin), log)
        try:
            await wait_until(lambda: hold.arrived, 30, f"the bot to call {method}")
            code, seconds, output = stop_and_wait(process, log)
        finally:
            if process.poll() is None:
                process.kill()
            hold.release()
    assert code == 0, f"held at {method}: exit status {code} after {seconds:.2f} s\n{output[-3000:]}"
    assert seconds < GRACE, f"held at {method}: {seconds:.2f} s to exit\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert "Application started" not in output


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.2])
async def test_sigterm_soon_after_smsrelay_starting_exits_cleanly(tmp_path: Path, delay: float) -> None:
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        process = start_bot_process(process_environment(telegram, tmp_path / "smsrelay.db", texin), log)
        try:
            await wait_until(lambda: "smsrelay starting" in log.read_text(errors="replace"), 30, "the start")
            await asyncio.sleep(delay)
            code, seconds, output = stop_and_wait(process, log)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0, f"{delay} s after the start: exit status {code} after {seconds:.2f} s\n{output[-3000:]}"
    assert seconds < GRACE, f"{delay} s after the start: {seconds:.2f} s to exit\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
