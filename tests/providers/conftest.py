"""Fake providers on loopback, and clients pointed at them with small timeouts so failures are quick."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from bot.providers.sms254 import Sms254Client
from bot.providers.texin import TexinClient
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.texin_server import TexinFakeServer
from tests.providers.support import FAST_RETRY, FAST_TIMEOUT, HOLD_SECONDS, SLOW_SECONDS


@pytest.fixture
def texin_server() -> Iterator[TexinFakeServer]:
    with TexinFakeServer(slow_seconds=SLOW_SECONDS, hold_seconds=HOLD_SECONDS) as server:
        yield server


@pytest.fixture
def sms254_server() -> Iterator[Sms254FakeServer]:
    with Sms254FakeServer(slow_seconds=SLOW_SECONDS, hold_seconds=HOLD_SECONDS) as server:
        yield server


@pytest.fixture
async def texin_client(texin_server: TexinFakeServer) -> AsyncIterator[TexinClient]:
    async with TexinClient(
        api_key=SecretStr(texin_server.api_key),
        base_url=texin_server.base_url,
        timeout=FAST_TIMEOUT,
        retry=FAST_RETRY,
    ) as client:
        yield client


@pytest.fixture
async def sms254_client(sms254_server: Sms254FakeServer) -> AsyncIterator[Sms254Client]:
    async with Sms254Client(
        username=sms254_server.username,
        api_key=SecretStr(sms254_server.api_key),
        send_url=sms254_server.send_url,
        credits_url=sms254_server.credits_url,
        timeout=FAST_TIMEOUT,
        retry=FAST_RETRY,
    ) as client:
        yield client
