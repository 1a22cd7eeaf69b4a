"""Provider metrics without touching the clients or the services: each client in the registry is wrapped.

Every send, balance and status call is timed (``smsrelay_provider_request_seconds{provider,endpoint}``, retries
included: what the bot waited), each recipient's outcome is counted (accepted → sent, refused → failed, unknown
or an ``OutcomeUnknownError`` → unknown; a refused call counts all its recipients failed), and any balance the
provider reports sets the balance gauge.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.providers.errors import OutcomeUnknownError, ProviderError
from bot.providers.types import Balance, DeliveryStatus, ProviderName, RecipientState, SendResult, SmsProvider
from bot.services.alerts import AdminNotifier, Buttons
from bot.services.registry import ProviderRegistry
from bot.web.metrics import Metrics


class InstrumentedProvider:
    """An ``SmsProvider`` that counts and times the one it wraps."""

    def __init__(self, inner: SmsProvider, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self._label = inner.name.value

    @property
    def name(self) -> ProviderName:
        return self._inner.name

    @property
    def supports_status(self) -> bool:
        return self._inner.supports_status

    @property
    def max_batch_size(self) -> int:
        return self._inner.max_batch_size

    @property
    def default_sender_id(self) -> str:
        return self._inner.default_sender_id

    @property
    def inner(self) -> SmsProvider:
        return self._inner

    def _observe(self, endpoint: str, started: float) -> None:
        self._metrics.provider_latency.labels(provider=self._label, endpoint=endpoint).observe(
            time.monotonic() - started
        )

    async def send(self, recipients: Sequence[str], text: str, sender_id: str | None = None) -> SendResult:
        started = time.monotonic()
        try:
            result = await self._inner.send(recipients, text, sender_id)
        except OutcomeUnknownError:
            self._metrics.sms_unknown.labels(provider=self._label).inc(len(recipients))
            raise
        except ProviderError:
            self._metrics.sms_failed.labels(provider=self._label).inc(len(recipients))
            raise
        finally:
            self._observe("send", started)
        counters = {
            RecipientState.ACCEPTED: self._metrics.sms_sent,
            RecipientState.REJECTED: self._metrics.sms_failed,
            RecipientState.UNKNOWN: self._metrics.sms_unknown,
        }
        for outcome in result.outcomes:
            counters[outcome.state].labels(provider=self._label).inc()
        if result.balance_after is not None:
            self._metrics.balance.labels(provider=self._label).set(float(result.balance_after))
        return result

    async def balance(self) -> Balance:
        started = time.monotonic()
        try:
            balance = await self._inner.balance()
        finally:
            self._observe("balance", started)
        self._metrics.balance.labels(provider=self._label).set(float(balance.credits))
        return balance

    async def status(self, provider_message_id: str) -> DeliveryStatus:
        started = time.monotonic()
        try:
            return await self._inner.status(provider_message_id)
        finally:
            self._observe("status", started)

    async def aclose(self) -> None:
        await self._inner.aclose()


def instrument(registry: ProviderRegistry, metrics: Metrics) -> ProviderRegistry:
    """The same providers and default, each wrapped."""
    return ProviderRegistry(
        {provider.name: InstrumentedProvider(provider, metrics) for provider in registry}, registry.default
    )


class CountingNotifier:
    """An ``AdminNotifier`` that counts the alerts that reached at least one admin chat."""

    def __init__(self, inner: AdminNotifier, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def to_admins(self, html: str) -> int:
        reached = await self._inner.to_admins(html)
        if reached:
            self._metrics.alerts_sent.inc()
        return reached

    async def to_chat(self, chat_id: int, html: str) -> bool:
        return await self._inner.to_chat(chat_id, html)

    async def post_to_admins(self, html: str, buttons: Buttons) -> list[tuple[int, int]]:
        posts = await self._inner.post_to_admins(html, buttons)
        if posts:
            self._metrics.alerts_sent.inc()
        return posts

    async def edit_post(self, chat_id: int, message_id: int, html: str, buttons: Buttons) -> bool:
        return await self._inner.edit_post(chat_id, message_id, html, buttons)
