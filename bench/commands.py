"""/balance round trip: our bot against a bare python-telegram-bot handler, measured in the same run.

Run from the repository root with ``python -m bench.commands`` (``make bench``). The question it answers: how much
time does our own work (authorization guard, SQLite lookup, both provider calls, formatting) add to what the
library costs anyway? So both bots are built the same way (same ``Defaults``, ``AIORateLimiter``, concurrent
updates, polling loop) against their own fake Bot API with identical settings, and the samples alternate between
them so that machine noise lands on both alike.

The fake providers answer at once (latency 0) and by default run as their own processes (their standalone mode):
a real provider's CPU is not ours, and in this process their HTTP server threads would take the GIL from the
bot's event loop and add their own work to our side only. ``--in-process-providers`` runs them as threads here
instead, to see that difference.

A round trip starts just before the fake queues the update (``send_text``) and ends when the fake records the
bot's reply: the stamp is taken in the fake's server thread at that moment, not when the waiting coroutine
wakes up. Pacing keeps every bot under PTB's ``AIORateLimiter`` overall budget (30 calls/s, a leaky bucket holding
30), so the limiter never makes a call wait and is not what gets measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, CommandHandler, ContextTypes, Defaults

from bot.app import build_application
from storage import Role
from tests.e2e.harness import ADMIN, running, test_settings
from tests.fakes import sms254_server, texin_server
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

ROOT = Path(__file__).resolve().parents[1]

WARMUP_REQUESTS = 20
REQUESTS = 200
CHATS = 20
WARMUP_ROUNDS = 2
ROUNDS = 20
FIRST_CHAT = 5001
# Per bot, below AIORateLimiter's 30 calls/s: one /balance is one sendMessage, so the bucket never fills.
SEQUENTIAL_GAP = 1 / 25
# A burst of 20 fills the bucket to 20 of 30; it drains at 30/s, so 0.8 s later it is empty again.
ROUND_GAP = 0.8
REPLY_TIMEOUT = 10.0
# Issue 13: a lone /balance within 1.25 × the bare handler at p50, and a burst of 20 chats no slower than bare.
TARGET_RATIO = 1.25
BURST_TARGET_RATIO = 1.0

# Shaped like our answer (HTML, two provider lines) so the fake spends the same effort checking both.
BARE_REPLY = (
    "💰 <b>Balance</b>\n"
    "Texin: <b>1,000</b> units (≈ KES 300.00 at KES 0.30/unit) · account testuser\n"
    "254sms: <b>1,000</b> units"
)


async def bare_balance(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A fixed text, nothing looked up: the floor python-telegram-bot itself sets."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(BARE_REPLY)


def bare_application(telegram: FakeTelegram) -> AnyApplication:
    """Built like ``bot.app.build_application`` minus our handlers, services and lifecycle hooks."""
    application: AnyApplication = (
        ApplicationBuilder()
        .token(telegram.token)
        .base_url(telegram.base_url)
        .base_file_url(telegram.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(True)
        .rate_limiter(AIORateLimiter(max_retries=3))
        .build()
    )
    application.add_handler(CommandHandler("balance", bare_balance))
    return application


@contextlib.contextmanager
def standalone_fake(module: str) -> Iterator[int]:
    """A fake provider in its own process (its standalone mode); yields its port and stops it with SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, "--port", "0", "--latency", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"{module} did not start (it printed {line!r})")
        yield int(line.split()[1])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def fake_providers(in_process: bool) -> Iterator[dict[str, Any]]:
    """Both fake providers, serving while the block runs; yields the settings values that point at them."""
    if in_process:
        with TexinFakeServer(latency=0.0) as texin, Sms254FakeServer(latency=0.0) as sms254:
            yield {
                "texin_api_key": SecretStr(texin.api_key),
                "texin_base_url": texin.base_url,
                "sms254_username": sms254.username,
                "sms254_api_key": SecretStr(sms254.api_key),
                "sms254_send_url": sms254.send_url,
                "sms254_credits_url": sms254.credits_url,
            }
        return
    with (
        standalone_fake("tests.fakes.texin_server") as texin_port,
        standalone_fake("tests.fakes.sms254_server") as sms254_port,
    ):
        sms254_root = f"http://127.0.0.1:{sms254_port}"
        yield {
            "texin_api_key": SecretStr(texin_server.API_KEY),
            "texin_base_url": f"http://127.0.0.1:{texin_port}/api/",
            "sms254_username": sms254_server.USERNAME,
            "sms254_api_key": SecretStr(sms254_server.API_KEY),
            "sms254_send_url": sms254_root + sms254_server.SEND_PATH,
            "sms254_credits_url": sms254_root + sms254_server.CREDITS_PATH,
        }


class ReplyStamps:
    """When each bot message was recorded, stamped in the fake's own thread as it records it.

    ``changed()`` calls every listener under the state lock right after a record is appended, so the stamp does
    not include the hop back into the event loop that ``wait_for_message`` needs to wake up. The stamp exists by
    the time that wait returns: the waiter reads the log under the same lock, so only after every listener ran.
    """

    def __init__(self, telegram: FakeTelegram) -> None:
        self._state = telegram.state
        self._seen = 0
        self.at: dict[int, float] = {}  # message seq -> time.perf_counter()
        with self._state.lock:
            self._key = self._state.unique()
            self._state.listeners[self._key] = self._on_change

    def _on_change(self) -> None:
        log = self._state.message_log
        now = time.perf_counter()
        while self._seen < len(log):
            self.at[log[self._seen].seq] = now
            self._seen += 1

    def close(self) -> None:
        with self._state.lock:
            self._state.listeners.pop(self._key, None)


@dataclass
class Subject:
    """One bot under measurement: its fake Bot API, its reply stamps and how a right answer looks."""

    name: str
    telegram: FakeTelegram
    stamps: ReplyStamps
    is_answer: Callable[[SentMessage], bool]
    samples: dict[str, list[float]]

    async def round_trip(self, chat_id: int) -> float:
        """Seconds from queueing ``/balance`` in ``chat_id`` until the fake recorded the bot's answer."""
        mark = self.telegram.mark()
        started = time.perf_counter()
        self.telegram.send_text(chat_id, "/balance")
        reply = await self.telegram.wait_for_message(chat_id, timeout=REPLY_TIMEOUT, after=mark)
        if not self.is_answer(reply):
            raise RuntimeError(f"{self.name} answered /balance in chat {chat_id} with {reply.text!r}")
        return self.stamps.at[reply.seq] - started


def our_answer(reply: SentMessage) -> bool:
    return reply.text.startswith("💰 Balance") and "Texin:" in reply.text and "254sms:" in reply.text


def bare_answer(reply: SentMessage) -> bool:
    return reply.html == BARE_REPLY


async def sequential(subjects: Sequence[Subject], scenario: str, requests: int) -> None:
    """One chat, one request at a time, the bots taking turns; each bot waits ``SEQUENTIAL_GAP`` between starts."""
    slot = SEQUENTIAL_GAP / len(subjects)
    next_start = time.perf_counter()
    for _ in range(requests):
        for subject in subjects:
            await asyncio.sleep(max(0.0, next_start - time.perf_counter()))
            next_start = time.perf_counter() + slot
            subject.samples.setdefault(scenario, []).append(await subject.round_trip(ADMIN))


async def concurrent(subjects: Sequence[Subject], scenario: str, rounds: int) -> None:
    """``CHATS`` chats send /balance at the same moment; rounds alternate between the bots, paced for the limiter."""
    slot = ROUND_GAP / len(subjects)
    next_start = time.perf_counter()
    chats = range(FIRST_CHAT, FIRST_CHAT + CHATS)
    for _ in range(rounds):
        for subject in subjects:
            await asyncio.sleep(max(0.0, next_start - time.perf_counter()))
            next_start = time.perf_counter() + slot
            # Created in order and started together: every update is queued before the first reply can come.
            times = await asyncio.gather(*(subject.round_trip(chat) for chat in chats))
            subject.samples.setdefault(scenario, []).extend(times)


def percentile(samples: Sequence[float], point: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[point - 1]


def report(ours: Sequence[Subject], bare: Subject, scenarios: Sequence[str]) -> None:
    """The first of ``ours`` (the shipped configuration) decides the verdict; the others are shown beside it."""
    print(f"{'scenario':<26} {'bot':<14} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}")
    ratios = []
    for scenario in scenarios:
        figures: dict[str, tuple[float, float]] = {}
        for subject in (*ours, bare):
            samples = subject.samples[scenario]
            p50, p95 = percentile(samples, 50) * 1000, percentile(samples, 95) * 1000
            figures[subject.name] = (p50, p95)
            print(f"{scenario:<26} {subject.name:<14} {len(samples):>5} {p50:>8.2f} {p95:>8.2f}")
        for subject in ours:
            ratio50 = figures[subject.name][0] / figures[bare.name][0]
            ratio95 = figures[subject.name][1] / figures[bare.name][1]
            print(f"{scenario:<26} {'ratio':<14} {'':>5} {ratio50:>8.2f} {ratio95:>8.2f}   ({subject.name} / bare)")
        ratios.append(figures[ours[0].name][0] / figures[bare.name][0])
    for scenario, ratio, target in zip(scenarios, ratios, (TARGET_RATIO, BURST_TARGET_RATIO), strict=False):
        verdict = "met" if ratio <= target else "NOT met"
        print(f"target p50 ≤ {target:g} × bare, {scenario} ({ours[0].name}): {verdict} ({ratio:.2f})")


async def run(folder: Path, *, in_process_providers: bool) -> None:
    where = "as threads in this process" if in_process_providers else "in their own processes"
    print(
        "/balance round trip, from the fake Bot API queueing the update to it recording the reply; the fake "
        f"providers answer at once and run {where}.\n"
        f"Pacing: each bot starts a lone request at most every {SEQUENTIAL_GAP * 1000:.0f} ms and a burst of "
        f"{CHATS} at most every {ROUND_GAP:g} s, so PTB's AIORateLimiter (30 calls/s, bucket of 30) never holds a "
        "call back: the figures are the bots' work, not the limiter's. A burst sample includes waiting behind the "
        "other chats of the burst.\n",
        flush=True,
    )
    with (
        FakeTelegram() as our_telegram,
        FakeTelegram() as uncached_telegram,
        FakeTelegram() as bare_telegram,
        fake_providers(in_process_providers) as provider_values,
    ):
        # As shipped (a balance answer is reused for BALANCE_CACHE_SECONDS, sends refresh it), and with that
        # reuse off, so every /balance asks both providers: the cost of our work when nothing can be saved.
        settings = test_settings(our_telegram, None, None, folder / "smsrelay.db", **provider_values)
        uncached_settings = test_settings(
            uncached_telegram, None, None, folder / "uncached.db", balance_cache_seconds=0, **provider_values
        )
        ours_app = build_application(settings)
        uncached_app = build_application(uncached_settings)
        bare_app = bare_application(bare_telegram)
        async with running(ours_app), running(uncached_app), running(bare_app):
            for app in (ours_app, uncached_app):
                services = app.bot_data.services
                for chat_id in range(FIRST_CHAT, FIRST_CHAT + CHATS):
                    await services.access.allow(
                        by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=chat_id, role=Role.VIEWER, caller_role=Role.ADMIN
                    )
            ours = Subject("ours", our_telegram, ReplyStamps(our_telegram), our_answer, {})
            uncached = Subject("ours, no reuse", uncached_telegram, ReplyStamps(uncached_telegram), our_answer, {})
            bare = Subject("bare", bare_telegram, ReplyStamps(bare_telegram), bare_answer, {})
            subjects = (ours, uncached, bare)
            try:
                await sequential(subjects, "warm-up", WARMUP_REQUESTS)
                await concurrent(subjects, "warm-up burst", WARMUP_ROUNDS)
                await asyncio.sleep(ROUND_GAP)  # the warm-up burst drains from the limiter's bucket
                sequential_name = f"sequential, 1 chat x{REQUESTS}"
                await sequential(subjects, sequential_name, REQUESTS)
                await asyncio.sleep(ROUND_GAP)
                concurrent_name = f"{CHATS} chats at once x{ROUNDS}"
                await concurrent(subjects, concurrent_name, ROUNDS)
            finally:
                for subject in subjects:
                    subject.stamps.close()
        for telegram in (our_telegram, uncached_telegram, bare_telegram):
            if telegram.internal_errors:
                print(f"bug in the fake Bot API:\n{telegram.internal_errors[0]}", file=sys.stderr)
    report((ours, uncached), bare, [sequential_name, concurrent_name])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="/balance round trip: our bot against a bare PTB handler.")
    parser.add_argument(
        "--in-process-providers",
        action="store_true",
        help="run the fake providers as threads in this process instead of in their own processes",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smsrelay-bench-") as folder:
        asyncio.run(run(Path(folder), in_process_providers=args.in_process_providers))
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0  # a benchmark reports; it does not fail the build


if __name__ == "__main__":
    sys.exit(main())
