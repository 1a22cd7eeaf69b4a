"""Fixtures for the storage tests: a controllable clock and a real database, SQLite and PostgreSQL in turn.

A test that takes ``db`` runs on both (the repositories are one contract); one that also takes ``db_path`` reads the
SQLite file itself and runs on SQLite only.
"""

from __future__ import annotations

import inspect
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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, db_path: Path) -> str | Path:
    """Where ``db`` lives: the SQLite file, or a fresh PostgreSQL database of the test cluster."""
    if request.param == "postgresql":
        if "db_path" in inspect.signature(request.function).parameters:
            pytest.skip("reads the SQLite file itself: SQLite only")
        url: str = request.getfixturevalue("postgres_url")
        return url
    return db_path


@pytest.fixture
async def db(db_target: str | Path, clock: FakeClock) -> AsyncIterator[Database]:
    database = await open_database(db_target, clock=clock, active=True)
    yield database
    await database.close()
