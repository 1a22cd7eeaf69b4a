"""What feeds a bulk job's workers: its rows stored while it sends, and its next batches read ahead.

A read changes nothing: batches waiting here are still ``pending`` in the database, so a crash, a cancel or a
shutdown while they wait loses nothing and sends nothing twice; the claim is ``start_sending``, made by a worker
right before its request leaves. Claims go to the database before reads and records (``ClaimsFirst``): a
request waits for its claim, nothing waits for a read or a record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

from storage import BulkJobRecord, ClaimedRow, Database, Unstored

# A large job's rows are stored this many per transaction while its first batches go out; each transaction
# holds the database for a few milliseconds only.
STORE_CHUNK = 2_000

__all__ = ["STORE_CHUNK", "BatchFeed", "ClaimsFirst", "Unstored"]


class ClaimsFirst:
    """Counts the claims under way; reads and records of the same job wait until there are none."""

    def __init__(self) -> None:
        self._claiming = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def claiming(self) -> Iterator[None]:
        self._claiming += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._claiming -= 1
            if not self._claiming:
                self._idle.set()

    async def after_claims(self) -> None:
        while self._claiming:
            await self._idle.wait()


class BatchFeed:
    """One job's batches for its workers, at most ``depth`` read ahead; ``None`` from ``next`` once no more."""

    def __init__(
        self,
        db: Database,
        job: BulkJobRecord,
        *,
        batch_size: int,
        depth: int,
        claims: ClaimsFirst,
        rest: Unstored | None,
        on_store_failure: Callable[[], None],
    ) -> None:
        self._db = db
        self._job = job
        self._batch_size = batch_size
        self._claims = claims
        self._rest = rest
        self._on_store_failure = on_store_failure
        self._room = asyncio.Semaphore(depth)
        self._batches: asyncio.Queue[list[ClaimedRow] | None] = asyncio.Queue()
        self._stored_more = asyncio.Event()  # another chunk of the rest was written
        self._underway = asyncio.Event()  # the first batch went to a worker, or there is none: store the rest

    async def next(self) -> list[ClaimedRow] | None:
        batch = await self._batches.get()
        if batch is None:
            self._batches.put_nowait(None)  # passed on: every worker waiting gets it
            return None
        self._room.release()
        self._underway.set()
        return batch

    async def store(self) -> None:
        """Store the recipients ``create`` left out, a chunk per transaction, while the first batches go out.

        Each chunk moves the job's unstored index with it (``add_recipients``), so a crash in between resumes from
        the next chunk; a cancelled job has no unstored recipients any more, and storing stops there.
        """
        if self._rest is None:
            return
        rest = self._rest
        await self._underway.wait()  # the first request leaves before the database is busy storing
        try:
            for offset in range(0, len(rest.recipients), STORE_CHUNK):
                await self._claims.after_claims()
                end = offset + STORE_CHUNK
                chunk = Unstored(
                    rest.recipients[offset:end],
                    None if rest.texts is None else rest.texts[offset:end],
                    rest.start + offset,
                )
                if not await self._db.jobs.add_recipients(self._job, chunk, last=end >= len(rest.recipients)):
                    return  # cancelled meanwhile: what was never stored is never sent
                self._stored_more.set()
        except Exception:
            # Half a job must not go out as if it were the whole: nothing more is sent (the job is cancelled).
            self._on_store_failure()
            raise

    async def read_ahead(self, storing: asyncio.Task[None]) -> None:
        """Read batches in id order from where the last one ended, until none is left and ``storing`` is done."""
        after = 0
        try:
            while True:
                await self._room.acquire()
                await self._claims.after_claims()
                batch = await self._db.jobs.read_ahead(self._job.id, self._batch_size, after)
                if batch:
                    after = batch[-1].id
                    self._batches.put_nowait(batch)
                    continue
                self._room.release()
                if storing.done():
                    return
                self._underway.set()  # nothing pending to send first (a resumed job): store the rest now
                self._stored_more.clear()
                stored = asyncio.ensure_future(self._stored_more.wait())
                try:  # rows stored since the read are found by the next one
                    await asyncio.wait([stored, storing], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    stored.cancel()
        finally:
            self._batches.put_nowait(None)  # no more batches: the workers stop
            self._underway.set()
