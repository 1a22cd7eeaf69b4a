"""SQLite and PostgreSQL side by side: the bulk runner's claim + record of a 100-row batch, and the realistic bulk
row of ``bench.bulk`` (400 ms provider, stragglers, 503s) on each. PostgreSQL is a throw-away local cluster
(``tests/postgres_cluster.py``); without its programs this prints one line saying so and exits 0.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from bench.bulk import build_parser, realistic
from storage import MessageOutcome, MessageStatus, NewBulkJob, open_database
from tests.postgres_cluster import PostgresCluster, find_postgres_bin

BATCH = 100
RECIPIENTS = 20_000
# The realistic row's figure may differ between the databases by this much at most (the provider dominates).
REALISTIC_SPREAD_TARGET = 0.01


async def claim_and_record(target: str | Path) -> list[float]:
    """Milliseconds of each claim + record cycle of 100 rows over a 20,000-recipient job."""
    db = await open_database(target, active=True)
    try:
        job = await db.jobs.create(
            NewBulkJob(chat_id=1, user_id=1, body="Bench", encoding="gsm7", segments=1, provider="texin",
                       sender_id="BENCH"),
            [f"2547{index:08d}" for index in range(RECIPIENTS)],
        )  # fmt: skip
        await db.jobs.start_running(job.id)
        cycles = []
        while True:
            started = time.perf_counter()
            rows = await db.jobs.claim_batch(job.id, BATCH)
            if not rows:
                break
            await db.jobs.record_outcomes(
                [MessageOutcome(r.id, MessageStatus.SENT, f"b{r.id}", 1, Decimal("0.30")) for r in rows]
            )
            cycles.append((time.perf_counter() - started) * 1000)
        return cycles
    finally:
        await db.close()


def main() -> int:
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        print("PostgreSQL benchmark skipped: no initdb/pg_ctl found; install the postgresql package to run it")
        return 0
    with tempfile.TemporaryDirectory(prefix="smsrelay-bench-") as folder, PostgresCluster(bin_dir) as cluster:
        cluster.start()
        sqlite_cycles = asyncio.run(claim_and_record(Path(folder) / "bench.db"))
        postgres_cycles = asyncio.run(claim_and_record(cluster.create_database()))
        print(f"claim + record of a {BATCH}-row batch ({RECIPIENTS // BATCH} batches; median, p95 ms)")
        for name, cycles in (("SQLite", sqlite_cycles), ("PostgreSQL", postgres_cycles)):
            p95 = statistics.quantiles(cycles, n=20)[-1]
            print(f"  {name:<10} {statistics.median(cycles):6.2f} {p95:6.2f}")
        args = build_parser().parse_args([])
        over_sqlite = realistic(args)
        over_postgres = realistic(args, cluster.create_database())
        spread = abs(over_postgres - over_sqlite)
        verdict = "met" if spread <= REALISTIC_SPREAD_TARGET else "NOT met"
        print(
            f"\nrealistic row ÷ bare client: SQLite {over_sqlite:.3f}, PostgreSQL {over_postgres:.3f}; "
            f"target: within {REALISTIC_SPREAD_TARGET:.2f} of each other: {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
