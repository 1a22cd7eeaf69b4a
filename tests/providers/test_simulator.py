"""The simulator provider: a provider's contract (outcomes, units, balance, status) without sending anything."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from bot.providers.errors import BadRequestError, InsufficientCreditError, NotFoundError
from bot.providers.simulator import FAILURE_REASON, SimulatorProvider, fails
from bot.providers.types import DeliveryState, ProviderName, RecipientState
from bot.sms_text import measure

A, B, C = "254712345678", "254733000001", "254110000002"
LONG = "x" * 161  # two GSM-7 parts
SWAHILI_EMOJI = "Habari 👋"  # UCS-2


class Clock:
    """Unix seconds that move only when the test says."""

    def __init__(self) -> None:
        self.now = 1_760_000_000.0

    def __call__(self) -> float:
        return self.now


def simulator(**kwargs: object) -> SimulatorProvider:
    options: dict[str, object] = {"latency": 0.0, "delivered_after": 5.0}
    options.update(kwargs)
    return SimulatorProvider(**options)  # type: ignore[arg-type]


async def test_a_send_is_accepted_with_an_id_and_marked_as_a_simulation() -> None:
    provider = simulator(sender_id="DEMO")
    result = await provider.send([A], "Hello")

    assert result.provider is ProviderName.SIMULATOR
    assert result.simulation is True
    [outcome] = result.outcomes
    assert outcome.recipient == A and outcome.state is RecipientState.ACCEPTED
    assert outcome.provider_message_id is not None and outcome.provider_message_id.startswith("sim-")
    assert result.sender_id == "DEMO"
    assert provider.name is ProviderName.SIMULATOR and provider.supports_status


@pytest.mark.parametrize("text", ["Hello", LONG, SWAHILI_EMOJI, "{braces} [count] double"])
async def test_units_are_counted_like_the_networks_bill_them(text: str) -> None:
    provider = simulator(balance=Decimal(100))
    result = await provider.send([A, B, C], text)
    expected = measure(text).segments * 3
    assert result.units == expected
    assert result.balance_after == Decimal(100 - expected)
    assert (await provider.balance()).credits == Decimal(100 - expected)


async def test_balance_goes_down_with_use_and_ids_differ() -> None:
    provider = simulator(balance=Decimal(10))
    first = await provider.send([A], "one")
    second = await provider.send([A], LONG)
    assert (await provider.balance()).credits == Decimal(10 - 1 - 2)
    assert first.outcomes[0].provider_message_id != second.outcomes[0].provider_message_id


async def test_a_send_the_balance_cannot_cover_is_refused_and_takes_nothing() -> None:
    provider = simulator(balance=Decimal(2))
    with pytest.raises(InsufficientCreditError, match="not enough credit"):
        await provider.send([A, B, C], "three units")
    assert (await provider.balance()).credits == Decimal(2)


async def test_failures_follow_the_rate_and_are_the_same_every_time() -> None:
    provider = simulator(failure_rate=0.5)
    numbers = [f"2547{n:08d}" for n in range(40)]
    first = await provider.send(numbers, "Same text")
    again = await provider.send(numbers, "Same text")

    rejected = {o.recipient for o in first.rejected}
    assert rejected == {n for n in numbers if fails(n, "Same text", 0.5)}
    assert rejected == {o.recipient for o in again.rejected}
    assert 0 < len(rejected) < len(numbers)
    assert all(o.error == FAILURE_REASON and o.provider_message_id is None for o in first.rejected)
    # Only what was accepted is counted.
    assert first.units == len(numbers) - len(rejected)


def test_the_failure_hash_respects_the_rate() -> None:
    numbers = [f"2547{n:08d}" for n in range(2000)]
    assert not any(fails(n, "t", 0.0) for n in numbers)
    assert all(fails(n, "t", 1.0) for n in numbers)
    share = sum(fails(n, "t", 0.25) for n in numbers) / len(numbers)
    assert 0.2 < share < 0.3


async def test_a_number_that_is_not_a_kenyan_mobile_is_rejected() -> None:
    result = await simulator().send(["12345", A], "Hi")
    assert [o.state for o in result.outcomes] == [RecipientState.REJECTED, RecipientState.ACCEPTED]
    assert result.outcomes[0].error == "invalid number"


async def test_more_recipients_than_one_call_takes_is_a_bad_request() -> None:
    with pytest.raises(BadRequestError):
        await simulator(max_batch_size=2).send([A, B, C], "Hi")


async def test_status_is_sent_then_delivered_after_the_delay_even_after_a_restart() -> None:
    clock = Clock()
    provider = simulator(clock=clock, delivered_after=5.0)
    message_id = (await provider.send([A], "Hi")).outcomes[0].provider_message_id
    assert message_id is not None

    clock.now += 4.9
    early = await provider.status(message_id)
    assert early.state is DeliveryState.SENT and early.provider_status == "Sent"

    clock.now += 0.1
    restarted = simulator(clock=clock, delivered_after=5.0)  # a new process: the id alone tells
    late = await restarted.status(message_id)
    assert late.state is DeliveryState.DELIVERED
    assert late.provider_status == "Delivered" and late.delivered_at is not None


async def test_status_of_an_unknown_id_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        await simulator().status("TX123")


async def test_every_call_waits_the_configured_latency() -> None:
    provider = simulator(latency=0.05)
    for call in (provider.send([A], "Hi"), provider.balance()):
        started = time.monotonic()
        await call
        assert time.monotonic() - started >= 0.05  # a lower bound only: never flaky on a slow machine
