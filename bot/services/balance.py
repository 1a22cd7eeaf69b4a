"""Credit left with every enabled provider, asked at once; one slow or failing provider never hides the rest.

Two things keep provider calls to what is needed. Requests that arrive while a balance call is already under
way share its answer (twenty chats asking after an alert cost one call per provider, not twenty). And an answer
is reused for ``max_age`` seconds: credit only moves when messages go out, and every send already reports the
balance after it, which refreshes the stored answer. The periodic check asks ``fresh`` every time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from bot.providers.errors import ProviderError
from bot.providers.types import Balance, ProviderName, SmsProvider
from bot.services.registry import ProviderRegistry


@dataclass(frozen=True, slots=True)
class BalanceReport:
    provider: ProviderName
    balance: Balance | None
    error: str | None = None
    age_seconds: float = 0.0  # how old the answer is, when it was reused


@dataclass(frozen=True, slots=True)
class _Known:
    balance: Balance
    at: float


class BalanceService:
    def __init__(
        self,
        providers: ProviderRegistry,
        *,
        timeout: float,
        max_age: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._providers = providers
        self._timeout = timeout
        self._max_age = max_age
        self._clock = clock
        self._known: dict[ProviderName, _Known] = {}
        self._in_flight: dict[ProviderName, asyncio.Task[BalanceReport]] = {}

    async def check_all(self, *, fresh: bool = False) -> list[BalanceReport]:
        if not fresh:  # every answer reusable: no task per provider, no trip round the event loop
            reused = [self._reused(provider) for provider in self._providers]
            if all(report is not None for report in reused):
                return [report for report in reused if report is not None]
        return list(await asyncio.gather(*(self._report(provider, fresh) for provider in self._providers)))

    def _reused(self, provider: SmsProvider) -> BalanceReport | None:
        known = self._known.get(provider.name)
        if known is not None:
            age = self._clock() - known.at
            if age <= self._max_age:
                return BalanceReport(provider.name, known.balance, age_seconds=age)
        return None

    async def _report(self, provider: SmsProvider, fresh: bool) -> BalanceReport:
        reused = None if fresh else self._reused(provider)
        if reused is not None:
            return reused
        task = self._in_flight.get(provider.name)
        if task is None:
            task = asyncio.create_task(self._ask(provider), name=f"balance-{provider.name.value}")
            self._in_flight[provider.name] = task
            task.add_done_callback(lambda _: self._in_flight.pop(provider.name, None))
        # Shielded: one caller giving up (a cancelled handler) must not cancel the answer others wait for.
        return await asyncio.shield(task)

    async def _ask(self, provider: SmsProvider) -> BalanceReport:
        try:
            async with asyncio.timeout(self._timeout):
                balance = await provider.balance()
        except ProviderError as exc:
            return BalanceReport(provider.name, None, str(exc))
        except TimeoutError:
            return BalanceReport(
                provider.name, None, f"{provider.name.label} did not answer within {self._timeout:g} s"
            )
        self._known[provider.name] = _Known(balance, self._clock())
        return BalanceReport(provider.name, balance)

    def note_balance_after_send(self, provider: ProviderName, credits: Decimal | None) -> None:
        """A send reported the credit left: the stored answer takes it (the price and account stay)."""
        known = self._known.get(provider)
        if credits is None or known is None:
            return
        self._known[provider] = _Known(dataclasses.replace(known.balance, credits=credits), self._clock())

    async def unit_price(self, provider: ProviderName) -> Decimal | None:
        """The provider's price per unit, from the last balance seen or one quick balance call."""
        known = self._known.get(provider)
        if known is not None:
            return known.balance.cost_per_unit
        report = await self._report(self._providers.get(provider), fresh=False)
        return None if report.balance is None else report.balance.cost_per_unit
