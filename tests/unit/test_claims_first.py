"""The bulk runner's gate: reads, stores and records wait for a quiet moment so a claim never queues behind them."""

from __future__ import annotations

import asyncio

from bot.services.bulk_feed import ClaimsFirst


async def _entered(gate: ClaimsFirst, at_most: float, unless: asyncio.Event | None = None) -> asyncio.Task[None]:
    async def enter() -> None:
        async with gate.background(at_most, unless):
            pass

    task = asyncio.create_task(enter())
    await asyncio.sleep(0.01)
    return task


async def test_a_background_statement_waits_until_every_slot_is_sending() -> None:
    gate = ClaimsFirst(slots=2)
    with gate.sending():
        waiting = await _entered(gate, at_most=5)
        assert not waiting.done()  # one slot is about to claim: its claim goes first
        with gate.sending():
            await asyncio.wait_for(waiting, 1)


async def test_it_waits_for_a_claim_under_way_even_when_every_slot_is_sending() -> None:
    gate = ClaimsFirst(slots=1)
    with gate.sending():
        with gate.claiming():
            waiting = await _entered(gate, at_most=5)
            assert not waiting.done()
        await asyncio.wait_for(waiting, 1)


async def test_the_wait_for_quiet_is_bounded_and_ended_by_unless_or_by_the_end_of_the_job() -> None:
    gate = ClaimsFirst(slots=4)
    bounded = await _entered(gate, at_most=0.05)
    await asyncio.wait_for(bounded, 1)  # no slot will ever be busy here: it goes after at most 50 ms

    hungry = asyncio.Event()
    read = await _entered(gate, at_most=5, unless=hungry)
    assert not read.done()
    hungry.set()  # a worker waits for a batch: the read goes now
    await asyncio.wait_for(read, 1)

    record = await _entered(gate, at_most=5)
    assert not record.done()
    gate.over()  # no more requests will leave
    await asyncio.wait_for(record, 1)
