"""Bulk sending throughput: the real sending path against a fake Texin with a fixed latency per request.

What runs is production code from the moment Send is pressed: ``BulkService.start`` stores the job and every
recipient in one transaction, then ``JobRunner`` claims batches, calls ``TexinClient.send_bulk_sms`` over
loopback HTTP and records each batch's outcomes. The fake provider runs in its own process (so its CPU and
memory are not counted as ours) and answers every request after ``--latency`` seconds.

For each size, a fresh child process measures wall time, recipients per second, CPU per recipient
(``time.process_time()`` around the whole job, every thread) and peak RSS, and compares the wall time with the
provider-bound ideal (requests × latency ÷ concurrency) and with the bare client sending the same requests in the
same process right after (the floor). The realistic row asks a slower provider (400 ms, every 50th request a 2 s
straggler, every 100th a 503) and shows recipients per second against the ideal with and without stragglers.
Where the time goes is written down in ``bench/README.md``.

Personalised rows (``--personal SIZE``) send a mail-merge job in which every recipient gets a text of their own:
providers take one text per request, so the job makes SIZE requests, spread over the concurrency slots, at
``--personal-latency`` (the ideal: SIZE × latency ÷ concurrency). The lines of the bulk path are counted too.

Run: ``python -m bench.bulk`` (``--sizes 10000 100000 --latency 0.05 --batch-size 100 --concurrency 4``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
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
from bot.providers.errors import ProviderError
from bot.providers.texin import TexinClient
from bot.providers.types import ProviderName
from bot.services.alerts import AlertService, Buttons
from bot.services.balance import BalanceService
from bot.services.bulk import BulkDraft, BulkService
from bot.services.bulk_runner import Progress
from bot.services.merge import Personalised, parse, personalise, recipients_with_rows
from bot.services.registry import ProviderRegistry
from bot.sms_text import measure
from storage import BulkJobRecord, JobTotals, open_database

API_KEY = "bench-texin-key-0123456789"
FLOOR_TARGET = 1.10  # our wall time ÷ the bare client's against the 50 ms fake: a guard, not a target to tune
REALISTIC_TARGET = 1.02  # the same against the realistic provider: the figure users feel (issue 23)
PERSONAL_TARGETS = {40: 1.3, 1000: 1.15}  # wall ÷ (texts × latency ÷ concurrency), one text per recipient
RSS_TARGET_MB = 120
# The bulk path in the product (runner, feed, batches, jobs) before issue 23, and the bound it set: a third less.
BULK_PATH = ("bot/services/bulk_runner.py", "storage/batches.py", "storage/jobs.py")
BULK_PATH_LINES_BEFORE = 1575  # bulk_runner 589 + bulk_feed 232 + batches 379 + jobs 375, at 35d02ae
WARM_UP_RECIPIENTS = 2_000  # an untimed bare run first: the fake and this process are warm for every timed run


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

    async def post_to_admins(self, html: str, buttons: Buttons) -> list[tuple[int, int]]:
        self.alerts += 1
        return [(1, 1)]

    async def edit_post(self, chat_id: int, message_id: int, html: str, buttons: Buttons) -> bool:
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


def start_fake_texin(
    latency: float, credits: int, *, straggle_every: int = 0, straggle_seconds: float = 2.0, error_every: int = 0
) -> tuple[subprocess.Popen[str], int]:
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
            "--straggle-every",
            str(straggle_every),
            "--straggle-seconds",
            str(straggle_seconds),
            "--error-every",
            str(error_every),
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


async def send_job(
    size: int,
    port: int,
    batch_size: int,
    concurrency: int,
    distinct: int = 0,
    error_every: int = 0,
    database_url: str | None = None,
) -> dict[str, Any]:
    numbers = [f"07{index:08d}" for index in range(size)]
    text = "Planned maintenance tonight 22:00-23:00. Services may be briefly unavailable."
    personal = None
    parse_started = time.process_time()
    recipients = read_recipients(numbers)
    if distinct:
        personal = personal_draft(numbers, distinct)
        text = personal.bodies[0]
    parse_cpu = time.process_time() - parse_started
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(database_url or Path(folder) / "bench.db", active=True)
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
            recipients=recipients,
            unit_price=Decimal("0.30"),
            personal=personal,
        )
        reporter = QuietReporter()
        cpu_before = time.process_time()  # every thread of this process: the event loop and SQLite's
        started = time.perf_counter()
        job = await bulk.start(draft, lambda job, reason: reporter)
        totals = await bulk.wait(job.id)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        assert totals is not None
        # With ``error_every`` the fake answers 503 to every Nth request: those batches fail, nothing is unknown.
        if totals.sent + totals.failed != size or totals.unknown or (totals.failed and not error_every):
            raise RuntimeError(f"job did not complete cleanly: {totals}")
        await registry.aclose()
        await db.close()
    requests = size if distinct else math.ceil(size / batch_size)  # a personalised row: every text differs
    return {
        "size": size,
        "wall": wall,
        "requests": requests,
        "cpu": cpu,
        "parse_cpu": parse_cpu,
        "failed": totals.failed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "alerts": notifier.alerts,
        "progress_updates": reporter.updates,
    }


async def provider_only(size: int, port: int, batch_size: int, concurrency: int) -> tuple[float, float]:
    """The same requests with nothing of ours around them: what this machine and the fake cost by themselves.
    Returns (wall seconds, CPU seconds); a refused request (a 503 in the realistic row) is part of the cost."""
    client = TexinClient(
        api_key=SecretStr(API_KEY), base_url=f"http://127.0.0.1:{port}/api/", max_batch_size=batch_size
    )
    numbers = [f"2547{index:08d}" for index in range(size)]
    batches = [numbers[start : start + batch_size] for start in range(0, size, batch_size)]
    text = "Planned maintenance tonight 22:00-23:00. Services may be briefly unavailable."

    async def worker() -> None:
        while batches:
            with contextlib.suppress(ProviderError):
                await client.send(batches.pop(), text)

    cpu_before = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    await client.aclose()
    return wall, cpu


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def child(args: argparse.Namespace) -> None:
    size = args.child
    fake, port = start_fake_texin(
        args.latency,
        credits=size * 24,
        straggle_every=args.straggle_every,
        straggle_seconds=args.straggle_seconds,
        error_every=args.error_every,
    )
    try:
        # Whatever runs first against a fresh fake and a fresh process is slower (measured: the floor 1.36 s
        # first, 1.33 s after the job, at 10,000). So an untimed warm-up comes first, and the floor is timed
        # both before and after the job and averaged: neither side gets the cold start or the drift.
        asyncio.run(provider_only(min(size, WARM_UP_RECIPIENTS), port, args.batch_size, args.concurrency))
        before, cpu_before = asyncio.run(provider_only(size, port, args.batch_size, args.concurrency))
        job = send_job(
            size, port, args.batch_size, args.concurrency, args.distinct, args.error_every, args.database_url
        )
        if args.profile:
            profile = cProfile.Profile()
            result = profile.runcall(asyncio.run, job)
            profile.dump_stats(args.profile)
        else:
            result = asyncio.run(job)
        after, cpu_after = asyncio.run(provider_only(size, port, args.batch_size, args.concurrency))
        result["provider_only"] = (before + after) / 2
        result["provider_only_cpu"] = (cpu_before + cpu_after) / 2
        result["provider_only_runs"] = [before, after]
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    print(json.dumps(result))


def run_child(
    size: int,
    args: argparse.Namespace,
    distinct: int = 0,
    *,
    latency: float | None = None,
    straggle_every: int = 0,
    error_every: int = 0,
    database_url: str | None = None,
) -> dict[str, Any]:
    output = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bulk",
            "--child",
            str(size),
            "--latency",
            str(args.latency if latency is None else latency),
            "--batch-size",
            str(args.batch_size),
            "--concurrency",
            str(args.concurrency),
            "--distinct",
            str(distinct),
            "--straggle-every",
            str(straggle_every),
            "--straggle-seconds",
            str(args.straggle_seconds),
            "--error-every",
            str(error_every),
            *(["--profile", args.profile] if args.profile else []),
            *(["--database-url", database_url] if database_url else []),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def build_parser() -> argparse.ArgumentParser:
    """The options of this benchmark (``bench.postgres`` runs the realistic row with their defaults)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the fake provider takes per request")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--personal", type=int, nargs="*", default=[40, 1000], help="personalised rows: SIZE recipients, SIZE texts"
    )
    parser.add_argument("--personal-latency", type=float, default=0.2)
    parser.add_argument(
        "--realistic", type=int, default=10_000, help="recipients of the realistic-provider row (0: skip it)"
    )
    parser.add_argument("--realistic-latency", type=float, default=0.4)
    parser.add_argument("--database-url", help="child: run the job on this PostgreSQL database instead of SQLite")
    parser.add_argument("--straggle-every", type=int, default=50, help="realistic row: every Nth request straggles")
    parser.add_argument("--straggle-seconds", type=float, default=2.0)
    parser.add_argument("--error-every", type=int, default=100, help="realistic row: every Nth request gets a 503")
    parser.add_argument("--profile", default=None, help="write a cProfile of each job (not the floor) to this file")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--distinct", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.child is not None:
        child(args)
        return
    print(
        f"bulk send: fake Texin latency {args.latency * 1000:.0f} ms/request, batch {args.batch_size}, "
        f"concurrency {args.concurrency}"
    )
    print(
        f"{'recipients':>10} {'wall s':>7} {'rcpt/s':>7} {'ideal s':>7} {'ratio':>6} {'floor s':>7} {'floor r':>7} "
        f"{'÷floor':>6} {'CPU µs/r':>8} {'bare µs/r':>9} {'parse µs/r':>10} {'peak RSS':>8}"
    )
    rows = []
    for size in args.sizes:
        result = run_child(size, args)
        ideal = result["requests"] * args.latency / args.concurrency
        rows.append((size, result))
        print(_row(size, result, ideal))
    personal = []
    for size in args.personal:
        result = run_child(size, args, size, latency=args.personal_latency)
        ideal = result["requests"] * args.personal_latency / args.concurrency
        personal.append((size, result["wall"] / ideal))
        # The floor sends one text per batch, not one per text: no comparison for these rows.
        what = f"personalised, {size:,} texts at {args.personal_latency * 1000:.0f} ms: {result['requests']:,} requests"
        print(f"{_row(size, result, ideal, floor=False)}   {what}")
    print(
        "ratio: wall ÷ ideal (requests × latency ÷ concurrency). floor: the same requests sent by the bare client"
        " with the same concurrency, no storage and no bot (same process, after an untimed warm-up; timed once"
        " before and once after the job, the mean shown); ÷floor = our wall ÷ the floor's. CPU:"
        " time.process_time() around the whole job (all threads: event loop and SQLite), from Send to the last"
        " record; bare: the floor's CPU for the same requests; parse: reading and checking the numbers (the"
        " preview, before Send)."
    )
    over_realistic = realistic(args) if args.realistic else None
    if over_realistic is not None:
        print(
            f"target wall ≤ {REALISTIC_TARGET} × bare client, realistic provider: "
            f"{_verdict(over_realistic, REALISTIC_TARGET)}"
        )
    for size, result in rows:
        if size in (10_000, 100_000):
            over = result["wall"] / result["provider_only"]
            print(
                f"target wall ≤ {FLOOR_TARGET} × bare client at {size:,} (50 ms fake): {_verdict(over, FLOOR_TARGET)}"
            )
        if size == 100_000:
            rss = result["peak_rss_mb"]
            verdict = "met" if rss < RSS_TARGET_MB else "NOT met"
            print(f"target peak RSS < {RSS_TARGET_MB} MB at 100,000: {verdict} ({rss:.1f} MB)")
            job, parse = result["cpu"] / size * 1e6, result["parse_cpu"] / size * 1e6
            print(
                f"CPU per recipient at 100,000 (printed, not targeted): {job + parse:.1f} µs = parsing the numbers"
                f" {parse:.1f} + the job {job:.1f} (the bare client alone"
                f" {result['provider_only_cpu'] / size * 1e6:.1f})"
            )
    for size, ratio in personal:
        if size in PERSONAL_TARGETS:
            print(
                f"target personalised, {size:,} texts: wall ≤ {PERSONAL_TARGETS[size]} × ideal: "
                f"{_verdict(ratio, PERSONAL_TARGETS[size])}"
            )
    lines = sum(len(Path(name).read_text().splitlines()) for name in BULK_PATH)
    bound = BULK_PATH_LINES_BEFORE * 2 // 3
    print(
        f"target bulk path ≤ {bound:,} lines (a third less than {BULK_PATH_LINES_BEFORE:,}): "
        f"{'met' if lines <= bound else 'NOT met'} ({lines:,} lines: {', '.join(BULK_PATH)})"
    )


def _verdict(ratio: float, bound: float) -> str:
    return f"{'met' if ratio <= bound else 'NOT met'} ({ratio:.3f})"


def _row(size: int, result: dict[str, Any], ideal: float, *, floor: bool = True) -> str:
    wall, bare = result["wall"], result["provider_only"]
    versus = f"{bare:>7.2f} {bare / ideal:>7.3f} {wall / bare:>6.3f}" if floor else f"{'-':>7} {'-':>7} {'-':>6}"
    bare_cpu = f"{result['provider_only_cpu'] / size * 1e6:>9.1f}" if floor else f"{'-':>9}"
    return (
        f"{size:>10,} {wall:>7.2f} {size / wall:>7,.0f} {ideal:>7.2f} {wall / ideal:>6.3f} {versus} "
        f"{result['cpu'] / size * 1e6:>8.1f} {bare_cpu} {result['parse_cpu'] / size * 1e6:>10.1f} "
        f"{result['peak_rss_mb']:>6.1f}MB"
    )


def realistic(args: argparse.Namespace, database_url: str | None = None) -> float:
    """A provider like a real one: slow, with stragglers and a few 5xx; recipients per second is what counts."""
    size, latency = args.realistic, args.realistic_latency
    result = run_child(
        size,
        args,
        latency=latency,
        straggle_every=args.straggle_every,
        error_every=args.error_every,
        database_url=database_url,
    )
    requests = result["requests"]
    stragglers = requests // args.straggle_every if args.straggle_every else 0
    ideal = requests * latency / args.concurrency
    ideal_straggling = ((requests - stragglers) * latency + stragglers * args.straggle_seconds) / args.concurrency
    wall, floor = result["wall"], result["provider_only"]
    where = " (PostgreSQL)" if database_url else ""
    print(
        f"\nrealistic provider{where}: {size:,} recipients, {latency * 1000:.0f} ms per request, every "
        f"{args.straggle_every}th request a {args.straggle_seconds:g} s straggler ({stragglers}), every "
        f"{args.error_every}th a 503 ({result['failed']:,} recipients failed, as they should)"
    )
    print(
        f"  ours {size / wall:,.0f} recipients/s ({wall:.2f} s); bare client {size / floor:,.0f}/s ({floor:.2f} s); "
        f"provider-bound ideal {size / ideal:,.0f}/s without stragglers, {size / ideal_straggling:,.0f}/s with them"
    )
    print(
        f"  stragglers' effect: the ideal loses {ideal_straggling - ideal:.2f} s ({ideal_straggling / ideal - 1:.1%}); "
        f"ours is {wall / ideal_straggling:.3f} × the ideal with stragglers and {wall / floor:.3f} × the bare client"
    )
    return float(wall / floor)


if __name__ == "__main__":
    main()
