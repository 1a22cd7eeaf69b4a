"""One provider answer for a batch, turned into row outcomes with the provider's units and cost spread over them.

Pure functions: the rows always add up to what the provider charged, whatever the rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from bot.providers.types import RecipientState, SendResult
from storage import ClaimedRow, MessageOutcome, MessageStatus


def outcomes_from_result(batch: Sequence[ClaimedRow], result: SendResult, segments: int) -> list[MessageOutcome]:
    """Turn one batch answer into row outcomes, spreading the provider's units and cost over accepted rows."""
    by_recipient = {outcome.recipient: outcome for outcome in result.outcomes}
    accepted_rows = [
        row
        for row in batch
        if (o := by_recipient.get(row.recipient)) is not None and o.state is RecipientState.ACCEPTED
    ]
    units = _spread_units(result.units, len(accepted_rows), segments)
    costs = _spread_cost(result.cost, len(accepted_rows))
    share = {row.id: index for index, row in enumerate(accepted_rows)}
    outcomes = []
    for row in batch:
        outcome = by_recipient.get(row.recipient)
        if outcome is None or outcome.state is RecipientState.UNKNOWN:
            reason = (outcome.error if outcome else None) or "the provider's answer did not mention it"
            outcomes.append(MessageOutcome(row.id, MessageStatus.UNKNOWN, error=reason))
        elif outcome.state is RecipientState.REJECTED:
            outcomes.append(
                MessageOutcome(row.id, MessageStatus.FAILED, error=outcome.error or "refused by the provider")
            )
        else:
            index = share[row.id]
            outcomes.append(
                MessageOutcome(
                    row.id,
                    MessageStatus.SENT,
                    provider_message_id=outcome.provider_message_id,
                    units=units[index],
                    cost=None if costs is None else costs[index],
                )
            )
    return outcomes


def _spread_units(total: int | None, count: int, segments: int) -> list[int]:
    if total is None:
        return [segments] * count
    if count == 0:
        return []
    base, extra = divmod(total, count)
    return [base + (1 if index < extra else 0) for index in range(count)]


def _spread_cost(total: Decimal | None, count: int) -> list[Decimal] | None:
    if total is None or count == 0:
        return None
    base = (total / count).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    shares = [base] * count
    shares[0] += total - base * count  # the rounding remainder, so the rows add up exactly
    return shares
