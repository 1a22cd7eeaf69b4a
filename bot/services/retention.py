"""RETENTION_DAYS: once a day, message texts older than that are removed, a small batch at a time.

Each batch is one short statement on the shared connection; between batches the task yields, so a command that
arrives meanwhile waits for at most one batch (a few milliseconds), never for the whole sweep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import Database
from storage.retention import PruneStep, removed_text

log = logging.getLogger(__name__)

BATCH_ROWS = 500


@dataclass(frozen=True, slots=True)
class RetentionReport:
    messages: int
    jobs: int
    schedules: int


class RetentionService:
    def __init__(
        self, db: Database, days: int, *, clock: Callable[[], datetime], batch: int = BATCH_ROWS, pause: float = 0.0
    ) -> None:
        self._db = db
        self._days = days
        self._clock = clock
        self._batch = batch
        self._pause = pause

    async def prune(self) -> RetentionReport:
        """Remove the texts of messages, finished bulk jobs and finished schedules created over ``days`` days ago."""
        now = self._clock()
        cutoff = now - timedelta(days=self._days)
        placeholder = removed_text(self._days)
        repository = self._db.retention
        messages = await self._sweep(lambda at: repository.prune_messages(at, cutoff, placeholder, self._batch, now))
        jobs = await self._sweep(lambda at: repository.prune_jobs(at, cutoff, placeholder, self._batch, now))
        schedules = await self._sweep(lambda at: repository.prune_schedules(at, cutoff, placeholder, self._batch, now))
        if messages or jobs or schedules:
            log.info(
                "retention: removed the texts of %d messages, %d bulk jobs and %d finished schedules",
                messages,
                jobs,
                schedules,
            )
        return RetentionReport(messages, jobs, schedules)

    async def _sweep(self, step: Callable[[int], Awaitable[PruneStep]]) -> int:
        removed = 0
        start: int | None = 0
        while start is not None:
            result = await step(start)
            removed += result.removed
            start = result.next_id
            await asyncio.sleep(self._pause)  # let waiting commands have the connection
        return removed
