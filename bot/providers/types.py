"""What every SMS provider client returns, in our own words: frozen values that cross layers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol


class ProviderName(StrEnum):
    TEXIN = "texin"
    SMS254 = "sms254"
    SIMULATOR = "simulator"  # bot/providers/simulator.py: sends nothing

    @property
    def label(self) -> str:
        """How people call the provider."""
        return {"texin": "Texin", "sms254": "254sms", "simulator": "Simulator"}[self.value]

    @property
    def simulated(self) -> bool:
        """Whether what goes through it never reaches a phone."""
        return self is ProviderName.SIMULATOR

    @property
    def shown(self) -> str:
        """How replies name it: the label, marked "simulated" when nothing is really sent."""
        return f"{self.label} (simulated)" if self.simulated else self.label


class RecipientState(StrEnum):
    """What the provider said about one recipient of a send."""

    ACCEPTED = "accepted"  # taken for delivery
    REJECTED = "rejected"  # refused in clear words (invalid number, gateway failure): not sent
    UNKNOWN = "unknown"  # not mentioned, or in words we cannot read ("Pending"): may have gone out


class DeliveryState(StrEnum):
    """Our reading of a provider's delivery status. Unknown provider words are read as ``PENDING``."""

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (DeliveryState.DELIVERED, DeliveryState.FAILED)


@dataclass(frozen=True, slots=True)
class RecipientOutcome:
    recipient: str  # normalised, 12 digits 254…
    state: RecipientState
    provider_message_id: str | None = None
    error: str | None = None  # the provider's reason when rejected; what it said, if anything, when unknown


@dataclass(frozen=True, slots=True)
class SendResult:
    """One send call's answer. ``units``/``cost`` are the provider's own figures, ``None`` when it gave none."""

    provider: ProviderName
    outcomes: tuple[RecipientOutcome, ...]
    units: int | None
    cost: Decimal | None
    balance_after: Decimal | None
    simulation: bool
    sender_id: str | None
    provider_message: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def accepted(self) -> tuple[RecipientOutcome, ...]:
        return tuple(o for o in self.outcomes if o.state is RecipientState.ACCEPTED)

    @property
    def rejected(self) -> tuple[RecipientOutcome, ...]:
        return tuple(o for o in self.outcomes if o.state is RecipientState.REJECTED)

    @property
    def unknown(self) -> tuple[RecipientOutcome, ...]:
        return tuple(o for o in self.outcomes if o.state is RecipientState.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Balance:
    """Credit left on an account, in SMS units (credits)."""

    provider: ProviderName
    credits: Decimal
    cost_per_unit: Decimal | None = None  # KES per unit, when the provider tells
    account: str | None = None
    default_sender_id: str | None = None
    as_of: str | None = None  # the provider's own timestamp text
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class GatewayResponse:
    """Texin's ``gateway_response``: what the upstream SMS gateway told Texin."""

    status: str | None
    mobile: str | None
    invalid_mobile: str | None
    transaction_id: str | None
    status_code: str | None
    reason: str | None
    msg_id: str | None
    request_time: str | None


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    provider: ProviderName
    provider_message_id: str
    state: DeliveryState
    provider_status: str | None  # the provider's word, kept as it came
    recipient: str | None = None
    sender_id: str | None = None
    units: int | None = None
    cost: Decimal | None = None
    created_at: str | None = None
    sent_at: str | None = None
    delivered_at: str | None = None
    error_message: str | None = None
    gateway: GatewayResponse | None = None
    message_preview: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


class SmsProvider(Protocol):
    """One SMS API. Recipients are always normalised 12-digit numbers (``2547…``/``2541…``)."""

    @property
    def name(self) -> ProviderName: ...

    @property
    def supports_status(self) -> bool:
        """Whether ``status`` asks the provider (254sms has no status call)."""
        ...

    @property
    def max_batch_size(self) -> int:
        """Most recipients one ``send`` call takes."""
        ...

    @property
    def default_sender_id(self) -> str: ...

    async def send(self, recipients: Sequence[str], text: str, sender_id: str | None = None) -> SendResult: ...

    async def balance(self) -> Balance: ...

    async def status(self, provider_message_id: str) -> DeliveryStatus: ...

    async def aclose(self) -> None: ...
