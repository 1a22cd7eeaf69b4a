"""The enabled SMS providers, built once from the settings, and how a user names one (``via:254sms``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import httpx

from bot.config import Settings
from bot.providers.simulator import SimulatorProvider
from bot.providers.sms254 import Sms254Client
from bot.providers.texin import TexinClient
from bot.providers.types import ProviderName, SmsProvider
from bot.services.errors import UserInputError

_ALIASES = {
    "texin": ProviderName.TEXIN,
    "rayprotech": ProviderName.TEXIN,
    "sms254": ProviderName.SMS254,
    "254sms": ProviderName.SMS254,
    "254": ProviderName.SMS254,
    "simulator": ProviderName.SIMULATOR,
    "sim": ProviderName.SIMULATOR,
}


class ProviderRegistry:
    def __init__(self, providers: Mapping[ProviderName, SmsProvider], default: ProviderName) -> None:
        if default not in providers:
            raise ValueError(f"default provider {default} is not among the enabled ones")
        self._providers = dict(providers)
        self.default = default

    def __iter__(self) -> Iterator[SmsProvider]:
        return iter(self._providers.values())

    def __len__(self) -> int:
        return len(self._providers)

    @property
    def names(self) -> list[ProviderName]:
        return list(self._providers)

    def get(self, name: ProviderName | None = None) -> SmsProvider:
        """The named provider, or the default; a provider that is not configured is a user error."""
        chosen = self.default if name is None else name
        provider = self._providers.get(chosen)
        if provider is None:
            enabled = ", ".join(p.label for p in self._providers)
            raise UserInputError(f"{chosen.label} is not configured on this bot. Available: {enabled}.")
        return provider

    def parse_name(self, text: str) -> ProviderName:
        """``texin``/``sms254``/``254sms`` → the provider, refusing names we do not know."""
        name = _ALIASES.get(text.strip().lower())
        if name is None:
            known = ", ".join(sorted({p.value for p in ProviderName}))
            raise UserInputError(f"Unknown provider “{text[:30]}”. Use one of: {known}.")
        self.get(name)
        return name

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()


def build_registry(settings: Settings) -> ProviderRegistry:
    """One client per configured provider, each with its own connection pool."""
    timeout = httpx.Timeout(settings.provider_timeout, connect=min(10.0, settings.provider_timeout))
    providers: dict[ProviderName, SmsProvider] = {}
    if settings.texin_api_key is not None:
        providers[ProviderName.TEXIN] = TexinClient(
            api_key=settings.texin_api_key,
            base_url=settings.texin_base_url,
            sender_id=settings.texin_sender_id,
            timeout=timeout,
            max_batch_size=settings.bulk_batch_size,
        )
    if settings.sms254_username is not None and settings.sms254_api_key is not None:
        providers[ProviderName.SMS254] = Sms254Client(
            username=settings.sms254_username,
            api_key=settings.sms254_api_key,
            send_url=settings.sms254_send_url,
            credits_url=settings.sms254_credits_url,
            sender_id=settings.sms254_sender_id,
            timeout=timeout,
            max_batch_size=settings.bulk_batch_size,
        )
    if settings.sms_simulator:
        providers[ProviderName.SIMULATOR] = build_simulator(settings)
    return ProviderRegistry(providers, settings.chosen_default_provider)


def build_simulator(settings: Settings) -> SimulatorProvider:
    """The simulator as ``SMS_SIMULATOR`` and the ``SIMULATOR_*`` settings describe it."""
    return SimulatorProvider(
        latency=settings.simulator_latency_ms / 1000,
        balance=settings.simulator_balance,
        delivered_after=settings.simulator_delivery_seconds,
        failure_rate=settings.simulator_failure_rate,
        max_batch_size=settings.bulk_batch_size,
    )
