"""Half-sent HTTP requests against a real ``python -m bot`` with a low file-handle limit (issue 25).

1,100 sockets that send half a request head and then nothing once used up the process's 1,024 file handles: the
bot stopped answering Telegram and sending, and the log grew by 360,000 lines. Here the process gets 300 file
handles (``RLIMIT_NOFILE``), 1,100 such sockets stay open, and the bot must still answer ``/start`` and ``/send``
through the fake Bot API, ``/healthz`` must answer, each half-sent socket must be closed by the server within
seconds, and the log must stay short.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.harness import ADMIN, process_environment, stop_bot_process
from tests.e2e.http_process import free_port, wait_for_answer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

FILE_HANDLES = 300
SOCKETS = 1_100
HALF_A_HEAD = b"GET /healthz HTTP/1.1\r\nHost: bot\r\nX-Slow: "


def _few_file_handles() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_HANDLES, FILE_HANDLES))


def start_limited_bot(environment: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=log.parent,
            env=environment,
            stdout=output,
            stderr=output,
            preexec_fn=_few_file_handles,  # only setrlimit, before exec
        )


async def half_sent(port: int) -> asyncio.StreamWriter | None:
    """A connection that sends half a request head and stays open; None when the server did not take it."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout=1)
        writer.write(HALF_A_HEAD)
        await asyncio.wait_for(writer.drain(), timeout=1)
    except (OSError, TimeoutError):
        return None
    return writer


async def closed_by_server(port: int) -> float:
    """Seconds until the server closes a connection that sent half a request head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(HALF_A_HEAD)
    try:
        await asyncio.wait_for(reader.read(), timeout=30)
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - started


async def test_a_thousand_half_sent_requests_do_not_stop_the_bot(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "bot.log"
    writers: list[asyncio.StreamWriter] = []
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = process_environment(
            telegram,
            tmp_path / "smsrelay.db",
            texin,
            HTTP_PORT=str(port),
            BALANCE_CHECK_INTERVAL="0",
            DELIVERY_CHECK_INTERVAL="0",
        )
        process = start_limited_bot(environment, log)
        try:
            await wait_for_answer(f"http://127.0.0.1:{port}/healthz", lambda a: a.status_code == 200, 30, "/healthz")
            await telegram.wait_for_request("setMyCommands", timeout=30)
            assert await closed_by_server(port) < 8  # a head not complete within a few seconds is closed

            for start in range(0, SOCKETS, 100):
                opened = await asyncio.gather(*(half_sent(port) for _ in range(start, min(start + 100, SOCKETS))))
                writers += [writer for writer in opened if writer is not None]

            mark = telegram.mark()
            telegram.send_text(ADMIN, "/start")
            await telegram.wait_for_message(ADMIN, after=mark, timeout=30)
            telegram.send_text(ADMIN, "/send 0712345678 Still here")
            await telegram.wait_for_message(ADMIN, lambda m: "Sent" in m.text, after=mark, timeout=30)
            assert texin.received["254712345678"] == 1
            health = await wait_for_answer(
                f"http://127.0.0.1:{port}/healthz", lambda a: a.status_code == 200, 30, "/healthz under load"
            )
            assert health.status_code == 200
            async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
                assert (await client.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200
        finally:
            for writer in writers:
                writer.close()
            stop_bot_process(process)
    assert process.returncode == 0
    output = log.read_text(errors="replace")
    assert len(output.splitlines()) < 60, output[-3000:]
    assert "Too many open files" not in output, output[-3000:]
