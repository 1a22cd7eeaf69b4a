"""The fakes themselves: standalone processes with a ledger file, prompt shutdown, GSM segment billing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.providers.errors import OutcomeUnknownError
from bot.providers.sms254 import Sms254Client
from bot.providers.texin import TexinClient
from tests.fakes import sms254_server as sms254_fake
from tests.fakes import texin_server as texin_fake
from tests.fakes.provider_base import read_ledger, segments
from tests.fakes.texin_server import TexinFakeServer
from tests.providers.support import FAST_RETRY, FAST_TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
A, B = "254712345678", "254733000001"


@contextmanager
def standalone(module: str, ledger: Path, *options: str) -> Iterator[int]:
    """Run a fake as its own process; yield its port; stop it with SIGTERM and check it exits cleanly."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", "--ledger", str(ledger), *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("PORT "), line
        yield int(line.split()[1])
    finally:
        process.terminate()
        returncode = process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
    assert returncode == 0


async def test_standalone_texin_fake_serves_and_writes_its_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "texin.json"
    with standalone("tests.fakes.texin_server", ledger, "--credits", "50", "--latency", "0.05") as port:
        async with TexinClient(
            api_key=SecretStr(texin_fake.API_KEY),
            base_url=f"http://127.0.0.1:{port}/api/",
            timeout=FAST_TIMEOUT,
            retry=FAST_RETRY,
        ) as client:
            started = time.monotonic()
            result = await client.send([A, B], "hi")
            elapsed = time.monotonic() - started
        written = read_ledger(ledger)

    assert len(result.accepted) == 2
    assert elapsed >= 0.05  # the latency setting is applied
    assert written["received"] == {A: 1, B: 1}
    assert written["requests"] == 1
    assert written["paths"] == {"/api/send_bulk_sms": 1}
    assert Decimal(written["extra"]["credits"]) == Decimal(48)


async def test_standalone_254sms_fake_serves_and_writes_its_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "sms254.json"
    with standalone("tests.fakes.sms254_server", ledger, "--credits", "10", "--username", "bench") as port:
        async with Sms254Client(
            username="bench",
            api_key=SecretStr(sms254_fake.API_KEY),
            send_url=f"http://127.0.0.1:{port}{sms254_fake.SEND_PATH}",
            credits_url=f"http://127.0.0.1:{port}{sms254_fake.CREDITS_PATH}",
            timeout=FAST_TIMEOUT,
            retry=FAST_RETRY,
        ) as client:
            await client.send([A], "hi")
            balance = await client.balance()
        written = read_ledger(ledger)

    assert balance.credits == Decimal(9)
    assert written["received"] == {A: 1}
    assert written["requests"] == 2


async def test_stopping_releases_a_request_held_by_a_timeout_fault() -> None:
    server = TexinFakeServer(hold_seconds=30).start()
    try:
        server.fail_next("timeout")
        async with TexinClient(
            api_key=SecretStr(server.api_key),
            base_url=server.base_url,
            timeout=FAST_TIMEOUT,
            retry=FAST_RETRY,
        ) as client:
            with pytest.raises(OutcomeUnknownError):
                await client.send([A], "hi")
    finally:
        started = time.monotonic()
        server.stop()
        stopped_in = time.monotonic() - started

    assert stopped_in < 2
    assert server.received == {A: 1}


def test_fake_answers_other_methods_with_405_and_refuses_unknown_faults(
    texin_server: TexinFakeServer,
) -> None:
    answer = httpx.get(texin_server.url("/api/get_balance"))

    assert answer.status_code == 405
    assert answer.json() == {"success": False, "error": "Method not allowed"}
    with pytest.raises(ValueError, match="unknown fault"):
        texin_server.fail_next("meteor")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("Ж" * 70, 1),
        ("Ж" * 71, 2),
        ("😀" * 35, 1),  # outside the BMP: two UCS-2 units each
        ("😀" * 36, 2),
    ],
)
def test_fake_bills_segments_like_networks(text: str, parts: int) -> None:
    assert segments(text) == parts
