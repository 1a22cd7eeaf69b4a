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


async def test_background_work_waits_until_the_answers_of_a_round_have_all_come_back() -> None:
    """Answers that keep coming back hold the bookkeeping off; once none came back for a moment it goes."""
    gate = ClaimsFirst(slots=1, answers_settle=0.2)  # long, so a slow machine cannot end the wait by itself
    with gate.sending():
        gate.answered()
        record = asyncio.create_task(gate.after_answers(at_most=5))
        for _ in range(5):  # another answer every millisecond: still a round coming back
            await asyncio.sleep(0.001)
            assert not record.done()
            gate.answered()
        await asyncio.wait_for(record, 1)


async def test_the_wait_for_answers_is_bounded_and_ended_by_unless_or_by_the_end_of_the_job() -> None:
    gate = ClaimsFirst(slots=1, answers_settle=0.2)
    await asyncio.wait_for(gate.after_answers(at_most=5), 1)  # no answer yet: nothing to wait for

    async def answering() -> None:
        while True:
            gate.answered()
            await asyncio.sleep(0.0005)

    answers = asyncio.create_task(answering())
    try:
        await asyncio.wait_for(gate.after_answers(at_most=0.02), 1)  # answers never stop: bounded by at_most
        hurry = asyncio.Event()
        claim = asyncio.create_task(gate.after_answers(at_most=5, unless=hurry))
        await asyncio.sleep(0.01)
        assert not claim.done()
        hurry.set()  # a worker waits for this claim: it goes now
        await asyncio.wait_for(claim, 1)
        record = asyncio.create_task(gate.after_answers(at_most=5))
        await asyncio.sleep(0.01)
        assert not record.done()
        gate.over()
        await asyncio.wait_for(record, 1)
    finally:
        answers.cancel()
