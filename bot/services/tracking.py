"""Following sent messages until the network says delivered or failed (Texin; 254sms has no status call).

A message is first checked ``first_check`` after it was sent, then at doubling gaps (capped at an hour) until it
reaches a final state or ``give_up_after`` has passed since it was created. When every message of a finished bulk
job has settled (or been given up on), the job's chat gets one delivery summary.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.providers.types import ProviderName
from bot.services.registry import ProviderRegistry
from bot.services.status import StatusService
from storage import BulkJobRecord, Database, MessageStatus
from storage.tracking import TrackedMessage


@dataclass(frozen=True, slots=True)
class TrackingSchedule:
    first_check: timedelta
    give_up_after: timedelta
    max_gap: timedelta = timedelta(hours=1)

    def gap_after(self, attempts: int) -> timedelta:
        """Wait before the next check, after ``attempts`` checks so far."""
        return min(self.first_check * (1 << min(attempts, 20)), self.max_gap)


@dataclass(frozen=True, slots=True)
class DeliverySummary:
    job: BulkJobRecord
    delivered: int
    failed: int
    pending: int  # sent, but no final word from the network before we stopped asking


@dataclass(frozen=True, slots=True)
class TrackingRound:
    checked: int
    settled: int
    summaries: list[DeliverySummary]


class DeliveryTracker:
    def __init__(
        self,
        db: Database,
        providers: ProviderRegistry,
        status: StatusService,
        schedule: TrackingSchedule,
        *,
        clock: Callable[[], datetime],
        per_round: int = 200,
        concurrency: int = 8,
    ) -> None:
        self._db = db
        self._providers = providers
        self._status = status
        self._schedule = schedule
        self._clock = clock
        self._per_round = per_round
        self._concurrency = concurrency

    def _tracked_providers(self) -> list[ProviderName]:
        return [p.name for p in self._providers if p.supports_status]

    async def run_due(self) -> TrackingRound:
        """Check every message whose next check is due, then collect the bulk jobs that have settled."""
        checked = settled = 0
        semaphore = asyncio.Semaphore(self._concurrency)
        for provider in self._tracked_providers():
            now = self._clock()
            due = await self._db.tracking.due(
                provider.value, now=now, first_cutoff=now - self._schedule.first_check, limit=self._per_round
            )

            async def follow(item: TrackedMessage) -> bool:
                async with semaphore:
                    return await self._follow(item)

            results = await asyncio.gather(*(follow(item) for item in due))
            checked += len(due)
            settled += sum(results)
        return TrackingRound(checked, settled, await self._settled_jobs())

    async def _follow(self, item: TrackedMessage) -> bool:
        """One check; returns whether the message reached a final state."""
        if self._clock() - item.message.created_at >= self._schedule.give_up_after:
            await self._db.tracking.stop(item.message.id)  # too old to ask about any more
            return False
        report = await self._status.refresh(item.message)
        message = report.message
        if message.status is not MessageStatus.SENT:
            await self._db.tracking.stop(message.id)
            return message.status in (MessageStatus.DELIVERED, MessageStatus.FAILED)
        now = self._clock()
        if now - message.created_at >= self._schedule.give_up_after:
            await self._db.tracking.stop(message.id)
            return False
        attempts = item.attempts + 1
        await self._db.tracking.schedule(
            message.id, attempts=attempts, next_at=now + self._schedule.gap_after(attempts)
        )
        return False

    async def _settled_jobs(self) -> list[DeliverySummary]:
        summaries = []
        for provider in self._tracked_providers():
            for job in await self._db.tracking.jobs_awaiting_summary(provider.value):
                totals = await self._db.jobs.totals(job.id)
                await self._db.tracking.mark_summary_sent(job.id)
                summaries.append(DeliverySummary(job, totals.delivered, totals.failed, totals.sent))
        return summaries
