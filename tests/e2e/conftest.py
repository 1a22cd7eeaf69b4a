"""One fixture per real part (fake Telegram, fake providers, temp database), composed into a running bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage import Role
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness, running, start_bot
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer
from tests.providers.support import HOLD_SECONDS, SLOW_SECONDS


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def texin() -> Iterator[TexinFakeServer]:
    with TexinFakeServer(slow_seconds=SLOW_SECONDS, hold_seconds=HOLD_SECONDS) as server:
        yield server


@pytest.fixture
def sms254() -> Iterator[Sms254FakeServer]:
    with Sms254FakeServer(slow_seconds=SLOW_SECONDS, hold_seconds=HOLD_SECONDS) as server:
        yield server


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "smsrelay.db"


@pytest.fixture
async def bot(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> AsyncIterator[BotHarness]:
    """The bot with both providers, an admin, a sender and a viewer chat."""
    application, settings = await start_bot(telegram, texin, sms254, database_path)
    async with running(application):
        harness = BotHarness(telegram, texin, sms254, application, settings)
        access = harness.services.access
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN)
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=VIEWER, role=Role.VIEWER, caller_role=Role.ADMIN)
        yield harness
