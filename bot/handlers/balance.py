"""/balance: every enabled provider asked at once, each answer shown on its own."""

from __future__ import annotations

from telegram import Update

from bot.context import SmsContext
from bot.formatting import credits, esc, money
from bot.handlers.common import reply
from bot.services.balance import BalanceReport


async def balance_command(update: Update, context: SmsContext) -> None:
    """Credit left with each provider; a failing one is shown as failing, the others still answer."""
    reports = await context.services.balances.check_all()
    await reply(update, balance_text(reports))


def balance_text(reports: list[BalanceReport]) -> str:
    lines = ["💰 <b>Balance</b>"]
    for report in reports:
        label = report.provider.shown
        balance = report.balance
        if balance is None:
            lines.append(f"{label}: ⚠️ {esc(report.error or 'no answer')}")
            continue
        line = f"{label}: <b>{credits(balance.credits)}</b> units"
        if balance.cost_per_unit is not None:
            line += f" (≈ {money(balance.credits * balance.cost_per_unit)} at {money(balance.cost_per_unit)}/unit)"
        if report.age_seconds >= 1:
            line += f" (as of {report.age_seconds:.0f} s ago)"
        lines.append(line)
    return "\n".join(lines)
