"""Bulk sending throughput: the real sending path against a fake Texin with a fixed latency per request.

What runs is production code from the moment Send is pressed: ``BulkService.start`` stores the job and every
recipient in one transaction, then ``JobRunner`` claims batches, calls ``TexinClient.send_bulk_sms`` over
loopback HTTP and records each batch's outcomes. The fake provider runs in its own process (so its CPU and
memory are not counted as ours) and answers every request after ``--latency`` seconds.

For each size, a fresh child process measures wall time, recipients per second, CPU seconds per 1,000 recipients
and peak RSS, and compares the wall time with the provider-bound ideal: requests × latency ÷ concurrency, the time
the provider alone would need with that many requests in flight at once.

Personalised rows (``--personal SIZE:DISTINCT``) send a mail-merge job whose recipients get DISTINCT different
texts in turn: providers take one text per request, so each batch sends one request per distinct text in it, and
the ideal counts those requests.

Run: ``python -m bench.bulk`` (``--sizes 10000 100000 --latency 0.05 --batch-size 100 --concurrency 4``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.phone import read_recipients
from bot.providers.texin import TexinClient
from bot.providers.types import ProviderName
from bot.services.alerts import AlertService
from bot.services.balance import BalanceService
from bot.services.bulk import BulkDraft, BulkService
from bot.services.bulk_runner import Progress
from bot.services.merge import Personalised, parse, personalise, recipients_with_rows
from bot.services.registry import ProviderRegistry
from bot.sms_text import measure
from storage import BulkJobRecord, JobTotals, open_database

API_KEY = "bench-texin-key-0123456789"
RATIO_TARGET = 1.10
RSS_TARGET_MB = 150


class CountingNotifier:
    """Admin alerts go nowhere in a benchmark; a healthy run raises none."""

    def __init__(self) -> None:
        self.alerts = 0

    async def to_admins(self, html: str) -> int:
        self.alerts += 1
        return 1

    async def to_chat(self, chat_id: int, html: str) -> bool:
        self.alerts += 1
        return True


class QuietReporter:
    """Progress is computed as in production; only the Telegram edit is left out."""

    def __init__(self) -> None:
        self.updates = 0

    async def started(self, job: BulkJobRecord, progress: Progress) -> int | None:
        self.updates += 1
        return None

    async def progress(self, job: BulkJobRecord, progress: Progress) -> None:
        self.updates += 1

    async def finished(self, job: BulkJobRecord, totals: JobTotals, failures: Any, stopped_by: str | None) -> None:
        self.updates += 1


def start_fake_texin(latency: float, credits: int) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.texin_server",
            "--port",
            "0",
            "--latency",
            str(latency),
            "--credits",
            str(credits),
            "--api-key",
            API_KEY,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"the fake Texin did not start: {line!r}")
    return process, int(line.split()[1])


def personal_draft(numbers: list[str], distinct: int) -> Personalised:
    """A mail-merge job: row i's amount is i % distinct, so DISTINCT different texts come in turn."""
    rows = [["Customer", number, str(index % distinct)] for index, number in enumerate(numbers)]
    merge = parse("Hi {name}, your bill is KES {amount}. Pay by the 5th.", ["Name", "Phone", "Amount"])
    recipients, kept = recipients_with_rows(numbers, rows)
    return personalise(merge, recipients.valid, kept)


async def send_job(size: int, port: int, batch_size: int, concurrency: int, distinct: int = 0) -> dict[str, Any]:
    numbers = [f"07{index:08d}" for index in range(size)]
    text = "Planned maintenance tonight 22:00-23:00. Services may be briefly unavailable."
    personal = None
    if distinct:
        personal = personal_draft(numbers, distinct)
        text = personal.bodies[0]
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "bench.db")
        client = TexinClient(
            api_key=SecretStr(API_KEY), base_url=f"http://127.0.0.1:{port}/api/", max_batch_size=batch_size
        )
        registry = ProviderRegistry({ProviderName.TEXIN: client}, ProviderName.TEXIN)
        notifier = CountingNotifier()
        alerts = AlertService(notifier, db.alert_state, redact=lambda text: text, clock=_now)
        bulk = BulkService(
            db, registry, BalanceService(registry, timeout=5), alerts, batch_size=batch_size, concurrency=concurrency
        )
        draft = BulkDraft(
            chat_id=1,
            user_id=1,
            provider=ProviderName.TEXIN,
            sender_id="Texin",
            text=text,
            length=measure(text),
            recipients=read_recipients(numbers),
            unit_price=Decimal("0.30"),
            personal=personal,
        )
        reporter = QuietReporter()
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        job = await bulk.start(draft, lambda job, reason: reporter)
        totals = await bulk.wait(job.id)
        wall = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        assert totals is not None
        if totals.sent != size or totals.units != draft.units:
            raise RuntimeError(f"job did not complete cleanly: {totals}")
        await registry.aclose()
        await db.close()
    if distinct:  # one request per distinct text in each batch
        requests = sum(
            len({index % distinct for index in range(start, min(start + batch_size, size))})
            for start in range(0, size, batch_size)
        )
    else:
        requests = math.ceil(size / batch_size)
    return {
        "size": size,
        "wall": wall,
        "requests": requests,
        "cpu": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "alerts": notifier.alerts,
        "progress_updates": reporter.updates,
    }


async def provider_only(size: int, port: int, batch_size: int, concurrency: int) -> float:
    """The same requests with nothing of ours around them: what this machine and the fake cost by themselves."""
    client = TexinClient(
        api_key=SecretStr(API_KEY), base_url=f"http://127.0.0.1:{port}/api/", max_batch_size=batch_size
    )
    numbers = [f"2547{index:08d}" for index in range(size)]
    batches = [numbers[start : start + batch_size] for start in range(0, size, batch_size)]
    text = "Planned maintenance tonight 22:00-23:00. Services may be briefly unavailable."

    async def worker() -> None:
        while batches:
            await client.send(batches.pop(), text)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    await client.aclose()
    return wall


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(size: int, latency: float, batch_size: int, concurrency: int, distinct: int = 0) -> None:
    fake, port = start_fake_texin(latency, credits=size * 8)
    try:
        result = asyncio.run(send_job(size, port, batch_size, concurrency, distinct))
        result["provider_only"] = asyncio.run(provider_only(size, port, batch_size, concurrency))
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    print(json.dumps(result))


def run_child(size: int, args: argparse.Namespace, distinct: int = 0) -> dict[str, Any]:
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bulk",
            "--child",
            str(size),
            "--latency",
            str(args.latency),
            "--batch-size",
            str(args.batch_size),
            "--concurrency",
            str(args.concurrency),
            "--distinct",
            str(distinct),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the fake provider takes per request")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--personal",
        nargs="*",
        default=["10000:10", "1000:1000"],
        help="personalised rows, SIZE:DISTINCT (DISTINCT different texts in turn)",
    )
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--distinct", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child, args.latency, args.batch_size, args.concurrency, args.distinct)
        return
    print(
        f"bulk send: fake Texin latency {args.latency * 1000:.0f} ms/request, batch {args.batch_size}, "
        f"concurrency {args.concurrency}"
    )
    header = (
        f"{'recipients':>10} {'wall s':>8} {'rcpt/s':>8} {'ideal s':>8} {'ratio':>6} {'CPU s/1k':>9} "
        f"{'peak RSS':>9}   {'floor s':>7} {'floor ratio':>11}"
    )
    print(header)
    rows = []
    for size in args.sizes:
        result = run_child(size, args)
        ideal = result["requests"] * args.latency / args.concurrency
        ratio = result["wall"] / ideal
        rows.append((size, ratio, result["peak_rss_mb"]))
        print(
            f"{size:>10,} {result['wall']:>8.2f} {size / result['wall']:>8,.0f} {ideal:>8.2f} {ratio:>6.3f} "
            f"{result['cpu'] / size * 1000:>9.4f} {result['peak_rss_mb']:>7.1f}MB   "
            f"{result['provider_only']:>7.2f} {result['provider_only'] / ideal:>11.3f}"
        )
    for pair in args.personal:
        size, distinct = (int(part) for part in pair.split(":"))
        result = run_child(size, args, distinct)
        ideal = result["requests"] * args.latency / args.concurrency
        print(
            f"{size:>10,} {result['wall']:>8.2f} {size / result['wall']:>8,.0f} {ideal:>8.2f} "
            f"{result['wall'] / ideal:>6.3f} {result['cpu'] / size * 1000:>9.4f} {result['peak_rss_mb']:>7.1f}MB   "
            f"personalised, {distinct:,} distinct texts: {result['requests']:,} requests"
        )
    print(
        "floor: the same requests sent by the bare client with the same concurrency, no storage and no bot "
        "(measured after the job, in the same process): what the fake provider and this machine cost alone."
    )
    for size, ratio, rss in rows:
        if size == 10_000:
            verdict = "met" if ratio <= RATIO_TARGET else "NOT met"
            print(f"target ratio ≤ {RATIO_TARGET} at 10,000: {verdict} ({ratio:.3f})")
        if size == 100_000:
            verdict = "met" if rss < RSS_TARGET_MB else "NOT met"
            print(f"target peak RSS < {RSS_TARGET_MB} MB at 100,000: {verdict} ({rss:.1f} MB)")


if __name__ == "__main__":
    main()
