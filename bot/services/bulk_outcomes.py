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
    found = [by_recipient.get(row.recipient) for row in batch]
    accepted = sum(1 for o in found if o is not None and o.state is RecipientState.ACCEPTED)
    units = _spread_units(result.units, accepted, segments)
    costs = _spread_cost(result.cost, accepted)
    outcomes = []
    share = 0  # the accepted rows take the spread units and cost in order
    for row, outcome in zip(batch, found, strict=True):
        if outcome is None or outcome.state is RecipientState.UNKNOWN:
            reason = (outcome.error if outcome else None) or "the provider's answer did not mention it"
            outcomes.append(MessageOutcome(row.id, MessageStatus.UNKNOWN, error=reason))
        elif outcome.state is RecipientState.REJECTED:
            outcomes.append(
                MessageOutcome(row.id, MessageStatus.FAILED, error=outcome.error or "refused by the provider")
            )
        else:
            cost = None if costs is None else costs[share]
            outcomes.append(MessageOutcome(row.id, MessageStatus.SENT, outcome.provider_message_id, units[share], cost))
            share += 1
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
