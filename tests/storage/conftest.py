"""Fixtures for the storage tests: a controllable clock and a real database file in a temp folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import Database, open_database


class FakeClock:
    """A clock that only moves when told, so stored timestamps can be compared exactly."""

    def __init__(self, start: datetime = datetime(2026, 11, 23, 11, 35, 30, 123456, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A folder that does not exist yet: open_database must create it.
    return tmp_path / "data" / "smsrelay.db"


@pytest.fixture
async def db(db_path: Path, clock: FakeClock) -> AsyncIterator[Database]:
    database = await open_database(db_path, clock=clock)
    yield database
    await database.close()
