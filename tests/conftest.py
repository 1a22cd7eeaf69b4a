"""Fixtures shared by every test folder: loopback only, never a proxy; a real PostgreSQL and a real Alertmanager
when they are installed (skipped otherwise, and said once at the end of the run); how many xdist workers.

Session fixtures are per xdist worker: each worker that runs a PostgreSQL test starts its own cluster (its own temp
folder and free port)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.alertmanager_server import find_alertmanager
from tests.postgres_cluster import PostgresCluster, find_postgres_bin

POSTGRES_SKIP_REASON = (
    "PostgreSQL tests skipped: no initdb/pg_ctl found; install the postgresql package (apt-get install postgresql)"
    " to run them"
)

ALERTMANAGER_SKIP_REASON = (
    "Alertmanager tests skipped: no prometheus-alertmanager found; install Debian's prometheus-alertmanager package"
    " to run them"
)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject.toml's addopts): two workers a core, at most 8; ``PYTEST_XDIST_AUTO_NUM_WORKERS`` or
    ``-n <count>`` decide instead. Most of a test's time is spent waiting on a bot process, PostgreSQL or a socket,
    so two a core overlap those waits; more made the timed process tests slower on a 2-core machine, not faster."""
    return max(2, min(2 * len(os.sched_getaffinity(0)), 8))


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx honours proxy variables; the fakes live on 127.0.0.1 and must be reached directly.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One running throw-away cluster for the session; skips (said again at the end of the run) without the programs.

    Found by ``find_postgres_bin``: ``SMSRELAY_PG_BIN=<folder>`` picks the folder (``=/nonexistent``: the skip path).
    """
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    cluster = PostgresCluster(bin_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """A new empty database for this test, ``postgresql://postgres@127.0.0.1:<port>/<name>``; dropped afterwards.

    A test that stopped the cluster (an outage) and failed before starting it again gets it restarted here.
    """
    url = postgres_cluster.create_database()
    yield url
    if not postgres_cluster.running:
        postgres_cluster.start()
    postgres_cluster.drop_database(url)


@pytest.fixture(scope="session")
def alertmanager_binary() -> Path:
    """The real Alertmanager program; skips (said again at the end of the run) when it is not installed."""
    binary = find_alertmanager()
    if binary is None:
        pytest.skip(ALERTMANAGER_SKIP_REASON)
    return binary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Never a silent skip: with -q the skip reasons are not listed, so a missing server is said once at the end.
    # Under xdist the controller says it: it holds every worker's skip reports, their reasons with them.
    if hasattr(terminalreporter.config, "workerinput"):  # an xdist worker, whose terminal nobody sees
        return
    skipped = terminalreporter.stats.get("skipped", [])
    for reason in (POSTGRES_SKIP_REASON, ALERTMANAGER_SKIP_REASON):
        if any(reason in str(getattr(report, "longrepr", "")) for report in skipped):
            terminalreporter.write_line(reason, yellow=True, bold=True)
