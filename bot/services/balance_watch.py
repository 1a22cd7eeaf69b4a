"""The periodic balance check: low-credit and unreachable-provider alerts, once per crossing.

State per provider is kept in the database (through ``AlertService``), so a restart neither repeats an alert
nor forgets that one is owed. Unreachable has hysteresis: it is reported after ``unreachable_after`` failed checks
in a row and only cleared after ``recover_after`` good checks in a row, so a flapping provider is reported once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from bot.formatting import credit_units, credits, esc, money
from bot.providers.types import Balance, ProviderName
from bot.services.alerts import AlertService
from bot.services.balance import BalanceReport, BalanceService

LOW, OK = "low", "ok"


class BalanceWatcher:
    def __init__(
        self,
        balances: BalanceService,
        alerts: AlertService,
        threshold_for: Callable[[ProviderName], Decimal],
        *,
        unreachable_after: int = 3,
        recover_after: int = 3,
    ) -> None:
        self._balances = balances
        self._alerts = alerts
        self._threshold_for = threshold_for
        self._unreachable_after = unreachable_after
        self._recover_after = recover_after

    async def check(self) -> list[BalanceReport]:
        reports = await self._balances.check_all(fresh=True)
        for report in reports:
            await self._track_reachability(report)
            if report.balance is not None:
                await self._track_level(report.balance)
        return reports

    async def _track_level(self, balance: Balance) -> None:
        key = f"balance:{balance.provider.value}"
        threshold = self._threshold_for(balance.provider)
        previous = await self._alerts.get_state(key)
        now = LOW if balance.credits < threshold else OK
        if now == previous:
            return
        await self._alerts.put_state(key, now)
        if now == LOW:
            await self._alerts.notice(_low_text(balance, threshold))
        elif previous == LOW:
            await self._alerts.notice(
                f"✅ <b>{balance.provider.label} credit is back</b>: {credit_units(balance.credits)} "
                f"(threshold {credits(threshold)})."
            )

    async def _track_reachability(self, report: BalanceReport) -> None:
        key = f"reachability:{report.provider.value}"
        stored = await self._alerts.get_state(key)
        state = json.loads(stored) if stored else {"failures": 0, "successes": 0, "alerted": False}
        if report.balance is None:
            state["failures"] += 1
            state["successes"] = 0
            if not state["alerted"] and state["failures"] >= self._unreachable_after:
                state["alerted"] = True
                await self._alerts.notice(
                    f"📵 <b>{report.provider.label} cannot be reached</b>: {state['failures']} balance checks "
                    f"in a row failed.\nLast error: {esc(report.error or 'unknown')}"
                )
        else:
            # Capped so a steady, healthy provider does not rewrite its state on every check.
            state["successes"] = min(state["successes"] + 1, self._recover_after)
            state["failures"] = 0
            if state["alerted"] and state["successes"] >= self._recover_after:
                state["alerted"] = False
                await self._alerts.notice(f"✅ <b>{report.provider.label} is reachable again.</b>")
        new = json.dumps(state, sort_keys=True)
        if new != stored:
            await self._alerts.put_state(key, new)


def _low_text(balance: Balance, threshold: Decimal) -> str:
    # Credits are SMS units: one single-part SMS to one number takes one unit.
    lines = [
        f"🔋 <b>{balance.provider.label} credit is low</b>: {credit_units(balance.credits)} "
        f"(threshold {credits(threshold)}).",
        f"That is roughly {credits(balance.credits)} more single-part SMS.",
    ]
    if balance.cost_per_unit is not None:
        lines.append(f"Worth about {money(balance.credits * balance.cost_per_unit)}. Top up soon.")
    else:
        lines.append("Top up soon.")
    return "\n".join(lines)
