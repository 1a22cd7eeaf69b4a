"""A provider that sends nothing: for trying the bot (``make demo``) and staging it without paying for SMS.

It sits behind the same ``SmsProvider`` interface as Texin and 254sms, so everything above it runs unchanged; its
results say ``simulation=True`` and its name is ``simulator``, which is how replies, records and exports mark what
it "sent". What it does, in a real provider's shape:

- answers after ``latency`` seconds, counts units with ``bot/sms_text.py`` as networks bill them, and takes them
  from a balance that starts at ``balance`` (kept in this process only: a restart starts it again);
- refuses a send the balance cannot cover (``InsufficientCreditError``, nothing sent), as real providers do;
- rejects a share ``failure_rate`` of recipients, chosen by a hash of number and text (``fails``), so the same
  message to the same number always fares the same and tests can predict it;
- gives each accepted message an id that carries its send time, so ``status`` says ``delivered`` once
  ``delivered_after`` seconds have passed, also after a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from bot.providers.errors import BadRequestError, InsufficientCreditError, NotFoundError
from bot.providers.types import (
    Balance,
    DeliveryState,
    DeliveryStatus,
    ProviderName,
    RecipientOutcome,
    RecipientState,
    SendResult,
)
from bot.sms_text import measure

_PROVIDER = ProviderName.SIMULATOR
_NUMBER = re.compile(r"^254[17]\d{8}$")
_ID = re.compile(r"^sim-(\d{13})-(\d+)$")
FAILURE_REASON = "made-up failure: the network refused this number (the simulator's failure rate)"
NOTE = "Simulated: nothing was sent to a phone."


def fails(recipient: str, text: str, rate: float) -> bool:
    """Whether the simulator rejects ``text`` to ``recipient``: the same answer every time for the same pair."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{recipient}\n{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


class SimulatorProvider:
    """The ``simulator`` provider. ``clock`` (Unix seconds) exists for tests of the delivery delay."""

    def __init__(
        self,
        *,
        latency: float = 0.2,
        balance: Decimal = Decimal(10_000),
        delivered_after: float = 5.0,
        failure_rate: float = 0.0,
        sender_id: str = "Simulator",
        max_batch_size: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._latency = latency
        self._credits = balance
        self._delivered_after = delivered_after
        self._failure_rate = failure_rate
        self._sender_id = sender_id
        self._max_batch_size = max_batch_size
        self._clock = clock
        self._serial = itertools.count(1)

    def __repr__(self) -> str:
        return f"SimulatorProvider(latency={self._latency!r}, failure_rate={self._failure_rate!r})"

    @property
    def name(self) -> ProviderName:
        return _PROVIDER

    @property
    def supports_status(self) -> bool:
        return True

    @property
    def max_batch_size(self) -> int:
        return self._max_batch_size

    @property
    def default_sender_id(self) -> str:
        return self._sender_id

    async def send(self, recipients: Sequence[str], text: str, sender_id: str | None = None) -> SendResult:
        if not 1 <= len(recipients) <= self._max_batch_size:
            raise BadRequestError(_PROVIDER, f"A simulated send takes 1 to {self._max_batch_size} recipients.")
        await asyncio.sleep(self._latency)
        segments = measure(text).segments
        outcomes = [self._outcome(recipient, text) for recipient in recipients]
        units = segments * sum(o.state is RecipientState.ACCEPTED for o in outcomes)
        if units > self._credits:
            raise InsufficientCreditError(
                _PROVIDER, f"Simulator: not enough credit ({self._credits} units left, {units} needed)."
            )
        self._credits -= units
        sent_at = int(self._clock() * 1000)
        outcomes = [
            o if o.state is not RecipientState.ACCEPTED else RecipientOutcome(o.recipient, o.state, self._id(sent_at))
            for o in outcomes
        ]
        return SendResult(
            provider=_PROVIDER,
            outcomes=tuple(outcomes),
            units=units,
            cost=None,
            balance_after=self._credits,
            simulation=True,
            sender_id=sender_id or self._sender_id,
            provider_message=NOTE,
            raw={"simulated": True, "units": units, "balance": str(self._credits)},
        )

    async def balance(self) -> Balance:
        await asyncio.sleep(self._latency)
        return Balance(
            provider=_PROVIDER,
            credits=self._credits,
            account="simulator",
            default_sender_id=self._sender_id,
            raw={"simulated": True},
        )

    async def status(self, provider_message_id: str) -> DeliveryStatus:
        await asyncio.sleep(self._latency)
        match = _ID.match(provider_message_id)
        if match is None:
            raise NotFoundError(_PROVIDER, f"Simulator: no message {provider_message_id[:40]!r}.")
        sent_at = int(match.group(1)) / 1000
        delivered = self._clock() - sent_at >= self._delivered_after
        sent_text = _iso(sent_at)
        return DeliveryStatus(
            provider=_PROVIDER,
            provider_message_id=provider_message_id,
            state=DeliveryState.DELIVERED if delivered else DeliveryState.SENT,
            provider_status="Delivered" if delivered else "Sent",
            sent_at=sent_text,
            delivered_at=_iso(sent_at + self._delivered_after) if delivered else None,
            raw={"simulated": True},
        )

    async def aclose(self) -> None:
        """Nothing to close: no connections."""

    def _outcome(self, recipient: str, text: str) -> RecipientOutcome:
        if not _NUMBER.match(recipient):
            return RecipientOutcome(recipient, RecipientState.REJECTED, error="invalid number")
        if fails(recipient, text, self._failure_rate):
            return RecipientOutcome(recipient, RecipientState.REJECTED, error=FAILURE_REASON)
        return RecipientOutcome(recipient, RecipientState.ACCEPTED)

    def _id(self, sent_at_ms: int) -> str:
        return f"sim-{sent_at_ms:013d}-{next(self._serial)}"


def _iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
