"""Background work is held until it ends, its failures are logged, and draining it is bounded."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from bot.services.background import BackgroundTasks


async def test_an_unreferenced_task_runs_to_its_end() -> None:
    tasks = BackgroundTasks()
    done = asyncio.Event()

    async def work() -> None:
        await asyncio.sleep(0)
        gc.collect()  # nothing but the tracker holds the task now
        await asyncio.sleep(0)
        done.set()

    tasks.spawn(work(), name="unreferenced")
    assert len(tasks) == 1
    assert await tasks.drain(5.0) == 0
    assert done.is_set() and len(tasks) == 0


async def test_drain_waits_for_quick_work_and_cancels_what_hangs() -> None:
    tasks = BackgroundTasks()
    finished: list[str] = []
    hung = asyncio.Event()

    async def quick() -> None:
        await asyncio.sleep(0.01)
        finished.append("quick")

    async def hangs() -> None:
        await hung.wait()  # never set: a Telegram call that never answers
        finished.append("hangs")

    tasks.spawn(quick(), name="quick")
    hanging = tasks.spawn(hangs(), name="hangs")
    assert await tasks.drain(0.2) == 1
    assert finished == ["quick"]
    assert hanging.cancelled() and len(tasks) == 0


async def test_a_failure_is_logged_not_left_unretrieved(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks()

    async def fails() -> None:
        raise RuntimeError("alert could not be formatted")

    tasks.spawn(fails(), name="failing-alert")
    with caplog.at_level(logging.ERROR, logger="bot.services.background"):
        assert await tasks.drain(1.0) == 0
    assert "failing-alert" in caplog.text and "alert could not be formatted" in caplog.text
