"""Credit left with every enabled provider, asked at once; one slow or failing provider never hides the rest."""

from __future__ import annotations

import asyncio
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


class BalanceService:
    def __init__(self, providers: ProviderRegistry, *, timeout: float) -> None:
        self._providers = providers
        self._timeout = timeout
        self._last: dict[ProviderName, Balance] = {}

    async def check_all(self) -> list[BalanceReport]:
        return list(await asyncio.gather(*(self._check(provider) for provider in self._providers)))

    async def _check(self, provider: SmsProvider) -> BalanceReport:
        try:
            async with asyncio.timeout(self._timeout):
                balance = await provider.balance()
        except ProviderError as exc:
            return BalanceReport(provider.name, None, str(exc))
        except TimeoutError:
            return BalanceReport(
                provider.name, None, f"{provider.name.label} did not answer within {self._timeout:g} s"
            )
        self._last[provider.name] = balance
        return BalanceReport(provider.name, balance)

    def last_known(self, provider: ProviderName) -> Balance | None:
        return self._last.get(provider)

    async def unit_price(self, provider: ProviderName) -> Decimal | None:
        """The provider's price per unit, from the last balance seen or one quick balance call."""
        known = self._last.get(provider)
        if known is None:
            report = await self._check(self._providers.get(provider))
            known = report.balance
        return None if known is None else known.cost_per_unit
