"""Work that must not be lost on the way: background tasks (alerts) held until done, their errors logged and a
shutdown waiting for them with a bound; and ``to_the_end``, for a database write a cancellation must not cut.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, _T], *, name: str) -> asyncio.Task[_T]:
        """Run ``work`` in its own task, held here until it ends."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task %s failed", task.get_name(), exc_info=error)

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for every task (also those started meanwhile), cancel what is left;
        returns how many were cancelled."""
        deadline = time.monotonic() + max(grace, 0.0)
        while self._tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=remaining)
        late = list(self._tasks)
        for task in late:
            log.warning("background task %s did not finish in time; cancelled", task.get_name())
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        return len(late)


async def to_the_end(work: Awaitable[_T]) -> _T:
    """Await ``work`` to its end even if this task is cancelled meanwhile (a database write of milliseconds that
    must not be cut); the cancellation is raised once it has ended."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled = True
    result = task.result()
    if cancelled:
        raise asyncio.CancelledError
    return result
