"""The message transition rules, checked against the table in the design, written out here independently."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storage import InvalidTransitionError, JobTotals, MessageStatus, check_transition

S = MessageStatus
# From the design notes, verbatim: anything not listed is refused unless it repeats the current status.
DESIGN_TABLE = {
    S.PENDING: {S.SENDING, S.SENT, S.FAILED, S.UNKNOWN, S.CANCELLED},
    S.SENDING: {S.SENT, S.FAILED, S.UNKNOWN},
    S.SENT: {S.SENT, S.DELIVERED, S.FAILED},
    S.UNKNOWN: {S.SENT, S.DELIVERED, S.FAILED},
    S.FAILED: set(),
    S.DELIVERED: set(),
    S.CANCELLED: set(),
}
PAIRS = [(old, new) for old in MessageStatus for new in MessageStatus]


@pytest.mark.parametrize(("current", "requested"), PAIRS)
def test_transition_follows_the_design_table(current: MessageStatus, requested: MessageStatus) -> None:
    if requested in DESIGN_TABLE[current]:
        assert check_transition(current, requested) is True
    elif requested == current:
        assert check_transition(current, requested) is False  # a repeated report is a no-op
    else:
        with pytest.raises(InvalidTransitionError) as caught:
            check_transition(current, requested, message_id=9)
        assert str(caught.value) == f"message 9 cannot go from {current} to {requested}"


def test_job_totals_add_up_statuses() -> None:
    totals = JobTotals(pending=3, sending=1, sent=5, delivered=2, failed=1, unknown=1, cancelled=4)
    assert totals.total == 17
    assert totals.accepted == 7
    assert totals.open == 4
    assert totals.count(MessageStatus.CANCELLED) == 4
    assert JobTotals().cost is None
    assert JobTotals(cost=Decimal("1.50")).cost == Decimal("1.50")
