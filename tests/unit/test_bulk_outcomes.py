"""Turning one provider answer into row outcomes: states, ids, and units/cost that add up to what was charged."""

from __future__ import annotations

from decimal import Decimal

from bot.providers.types import ProviderName, RecipientOutcome, RecipientState, SendResult
from bot.services.bulk_outcomes import outcomes_from_result
from storage import ClaimedRow, MessageStatus

ROWS = [ClaimedRow(10 + index, f"25471234567{index}", "Hello", 1) for index in range(4)]


def result(outcomes: list[RecipientOutcome], units: int | None, cost: Decimal | None) -> SendResult:
    return SendResult(
        provider=ProviderName.TEXIN,
        outcomes=tuple(outcomes),
        units=units,
        cost=cost,
        balance_after=None,
        simulation=False,
        sender_id="Texin",
        provider_message=None,
        raw={},
    )


def test_each_state_maps_to_its_row_status() -> None:
    answer = result(
        [
            RecipientOutcome(ROWS[0].recipient, RecipientState.ACCEPTED, "API-1"),
            RecipientOutcome(ROWS[1].recipient, RecipientState.REJECTED, error="invalid number"),
            RecipientOutcome(ROWS[2].recipient, RecipientState.UNKNOWN),
        ],
        units=1,
        cost=Decimal("0.30"),
    )
    outcomes = outcomes_from_result(ROWS, answer, segments=1)
    assert [(o.message_id, o.status) for o in outcomes] == [
        (10, MessageStatus.SENT),
        (11, MessageStatus.FAILED),
        (12, MessageStatus.UNKNOWN),
        (13, MessageStatus.UNKNOWN),  # not mentioned at all
    ]
    assert outcomes[0].provider_message_id == "API-1" and outcomes[0].units == 1 and outcomes[0].cost == Decimal("0.30")
    assert outcomes[1].error == "invalid number" and outcomes[1].units is None


def test_provider_units_and_cost_are_spread_so_rows_add_up_exactly() -> None:
    accepted = [RecipientOutcome(row.recipient, RecipientState.ACCEPTED, f"API-{row.id}") for row in ROWS[:3]]
    outcomes = outcomes_from_result(ROWS[:3], result(accepted, units=7, cost=Decimal("1.00")), segments=2)
    assert sorted(o.units or 0 for o in outcomes) == [2, 2, 3]  # the provider's 7, not our estimate of 6
    assert sum((o.cost or Decimal(0)) for o in outcomes) == Decimal("1.00")


def test_without_provider_units_each_accepted_row_counts_its_segments() -> None:
    accepted = [RecipientOutcome(row.recipient, RecipientState.ACCEPTED) for row in ROWS]
    outcomes = outcomes_from_result(ROWS, result(accepted, units=None, cost=None), segments=3)
    assert [o.units for o in outcomes] == [3, 3, 3, 3]
    assert all(o.cost is None for o in outcomes)
