"""One time budget for the whole stop, from the stop signal to the database closed.

``docker stop`` sends SIGTERM and kills the container ``--stop-timeout`` seconds later (10 by default). Everything
the bot does on the way out therefore shares ``SHUTDOWN_GRACE_SECONDS``: the clock starts at the signal (or when
``post_stop`` begins, when the stop came another way), running batches get what is left minus a reserve, and a batch
still with the provider when that runs out is cancelled (its rows become ``unknown``, never resent silently, and the
admins are told). The reserve is for that report, the alerts flush (both bounded) and closing the clients and the
database.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.runtime import Services

from storage import StorageError

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)  # the ones run_polling handles


class ShutdownBudget:
    def __init__(self, grace: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._grace = grace
        self._clock = clock
        self._deadline: float | None = None
        self._jobs: asyncio.Task[dict[int, int]] | None = None
        # After the batches: half for the reports, half for closing. Small graces keep most of it for batches.
        self._reserve = min(2.0, grace / 4)

    @property
    def started(self) -> bool:
        return self._deadline is not None

    def remaining(self) -> float:
        if self._deadline is None:
            return self._grace
        return max(self._deadline - self._clock(), 0.0)

    def begin(self, services: Services) -> None:
        """Start the clock and tell running jobs to claim no more batches (once; later calls do nothing)."""
        if self._deadline is not None:
            return
        self._deadline = self._clock() + self._grace
        budget = max(self.remaining() - self._reserve, 0.0)
        self._jobs = asyncio.ensure_future(_stop_jobs(services, budget))

    async def finish(self, services: Services) -> None:
        """Wait for the batches (bounded by ``begin``'s budget), then report and flush alerts with what is left."""
        self.begin(services)
        cut: dict[int, int] = {}
        if self._jobs is not None:
            try:
                cut = await self._jobs
            except StorageError as exc:  # the database is gone (PostgreSQL down, the lease lost): nothing to save
                log.warning("stopping the bulk jobs: %s", exc)
            except Exception:
                log.exception("stopping the bulk jobs failed")
        if cut:
            await self._bounded(services.alerts.notice(_cut_batches_text(cut)), "the report of cut batches")
        await self._bounded(services.alerts.aclose(), "the folded alerts")
        log.info("stopped the work within the shutdown grace; %.1f s of %.1f s left", self.remaining(), self._grace)

    async def _bounded(self, work: Awaitable[None], what: str) -> None:
        """Run ``work`` within what is left but half the reserve (kept for closing the clients and database)."""
        try:
            await asyncio.wait_for(work, timeout=max(self.remaining() - self._reserve / 2, 0.1))
        except TimeoutError:
            log.warning("the shutdown grace ran out while sending %s to the admins; not sent", what)


async def _stop_jobs(services: Services, budget: float) -> dict[int, int]:
    """Stop the bulk jobs within ``budget``; returns how many rows of each job became ``unknown`` meanwhile."""
    before = await _unknown_per_job(services)
    await services.bulk.shutdown(grace=budget)
    after = await _unknown_per_job(services)
    return {job_id: count - before.get(job_id, 0) for job_id, count in after.items() if count > before.get(job_id, 0)}


async def _unknown_per_job(services: Services) -> dict[int, int]:
    return {job.id: (await services.db.jobs.totals(job.id)).unknown for job in await services.db.jobs.list_unfinished()}


def _cut_batches_text(cut: dict[int, int]) -> str:
    lines = [f"• job #{job_id}: {count:,}, <code>/retry {job_id}</code>" for job_id, count in sorted(cut.items())]
    return (
        "❓ <b>The bot had to stop while batches were with the provider.</b>\n"
        "Their messages may or may not have gone out, so they are marked unknown and will not be resent; the rest "
        "of each job resumes at the next start. To send the unknown ones again anyway:\n" + "\n".join(lines)
    )


@dataclass
class StopCause:
    """Why a run of the bot ended: a stop signal (the process exits) or the lease (it waits as a standby again)."""

    signal: bool = False
    lease: bool = False


class StopSignals:
    """Stop signals from ``post_init`` on: during it they cancel it (it unwinds, then ``SystemExit``); until
    "Application started" the stop waits for that; once running the budget starts at the signal, then ``SystemExit``.
    Never a ``SystemExit`` mid-start: ``run_polling`` would abandon that step half-done and run its stop beside it."""

    def __init__(self, budget: ShutdownBudget, cause: StopCause | None, running: Callable[[], bool]) -> None:
        self._budget = budget
        self._cause = cause
        self._running = running
        self._start_up: asyncio.Task[object] | None = None
        self._services: Services | None = None
        self._exit_when_running: asyncio.Task[None] | None = None
        self.requested = False

    def install(self) -> None:
        """First thing in ``post_init``: replace ``run_polling``'s handlers; ``post_init`` may now be cancelled."""
        loop = asyncio.get_running_loop()
        self._start_up = asyncio.current_task()
        for sig in STOP_SIGNALS:
            try:
                loop.add_signal_handler(sig, self._stop)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or not Unix
                return

    def started_up(self, services: Services) -> None:
        """At the end of ``post_init``: it is no longer cancelled; raises ``SystemExit`` if a signal came meanwhile."""
        self._start_up = None
        self._services = services
        if self.requested:
            raise SystemExit

    def close(self) -> None:
        """In ``post_shutdown``: a start that failed after a signal is no longer waited for."""
        if self._exit_when_running is not None:
            self._exit_when_running.cancel()

    def _stop(self) -> None:
        if self._cause is not None:
            self._cause.signal = True  # also while already stopping for the lease: then the process exits
        self.requested = True
        if self._start_up is not None:
            if not self._start_up.done() and not self._start_up.cancelling():
                log.info("stop signal during start-up: stopping")
                self._start_up.cancel()
            return
        if self._budget.started:
            log.warning("already stopping; %.1f s of the shutdown grace left", self._budget.remaining())
            return
        if self._services is not None:
            try:
                self._budget.begin(self._services)
            except Exception:
                log.exception("could not start the shutdown budget")
        if self._running():
            raise SystemExit
        self._exit_when_running = asyncio.ensure_future(self._exit_once_running())

    async def _exit_once_running(self) -> None:
        while not self._running():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        # Raised by a callback, as from a signal: by now PTB's start() has returned, nothing is left half-done.
        asyncio.get_running_loop().call_soon(_raise_system_exit)


def _raise_system_exit() -> None:
    raise SystemExit
