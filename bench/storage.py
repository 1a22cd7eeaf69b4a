"""Storage benchmark: how fast a 100,000-recipient bulk job is written, and then worked through in batches.

Run from the repository root with ``python -m bench.storage`` (``make bench``). It uses a throw-away database in
a temp folder, so the figures include real fsyncs on this machine's disk (WAL, synchronous=NORMAL).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from storage import MessageOutcome, MessageStatus, NewBulkJob, open_database

RECIPIENTS = 100_000
BATCH = 500
UNIT_PRICE = Decimal("0.80")


async def run(folder: Path) -> int:
    db = await open_database(folder / "bench.db", active=True)
    try:
        numbers = [f"2547{index:08d}" for index in range(RECIPIENTS)]
        job = NewBulkJob(
            chat_id=1, user_id=1, body="Benchmark: offer ends Friday", encoding="gsm7", segments=1,
            provider="texin", sender_id="BENCH",
        )  # fmt: skip

        started = time.perf_counter()
        record = await db.jobs.create(job, numbers)
        insert_seconds = time.perf_counter() - started
        print(f"insert: {RECIPIENTS:,} recipients in {insert_seconds:.2f} s "
              f"= {RECIPIENTS / insert_seconds:,.0f} recipients/s")  # fmt: skip

        started = time.perf_counter()
        batches = 0
        # The bulk runner's own path: claim a batch (pending → sending), then record the provider's answer.
        await db.jobs.start_running(record.id)
        while rows := await db.jobs.claim_batch(record.id, BATCH):
            applied = await db.jobs.record_outcomes(
                [
                    MessageOutcome(row.id, MessageStatus.SENT, provider_message_id=f"b{row.id}",
                                   units=1, cost=UNIT_PRICE)
                    for row in rows
                ],
            )  # fmt: skip
            if applied != len(rows):
                print(f"unexpected: {len(rows) - applied} outcomes refused", file=sys.stderr)
                return 1
            batches += 1
        batch_seconds = time.perf_counter() - started
        print(f"batches: {batches} x {BATCH} (claim, record) in {batch_seconds:.2f} s "
              f"= {batch_seconds / batches * 1000:.1f} ms per batch")  # fmt: skip

        started = time.perf_counter()
        totals = await db.jobs.totals(record.id)
        print(f"totals: {time.perf_counter() - started:.3f} s for sent={totals.sent:,} units={totals.units:,} "
              f"cost={totals.cost}")  # fmt: skip
        expected_cost = UNIT_PRICE * RECIPIENTS
        if (totals.sent, totals.units, totals.open, totals.cost) != (RECIPIENTS, RECIPIENTS, 0, expected_cost):
            print(f"totals do not match: {totals}", file=sys.stderr)
            return 1
        print("totals check: ok")
        return 0
    finally:
        await db.close()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="smsrelay-bench-") as folder:
        return asyncio.run(run(Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
