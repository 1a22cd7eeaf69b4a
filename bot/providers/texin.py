"""Client for Texin (RAYPROTECH System SMS API): send, bulk send, delivery status and balance.

Texin answers JSON with ``success: true|false``; how each answer is read into our types (tolerantly: numbers
as text, ``07…`` numbers, figures only in ``details``, bare lists of ids) lives in ``texin_reading``. A
recipient the answer does not mention is ``UNKNOWN``, never assumed sent or failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from bot.providers.answers import unknown_outcome
from bot.providers.errors import ProviderError, ProviderUnavailableError
from bot.providers.http import JsonApiClient, RetryPolicy
from bot.providers.parsing import number_key, provider_text, to_bool, to_decimal, to_int, to_text
from bot.providers.texin_reading import (
    TEXIN_CREDENTIALS,
    delivery_state,
    from_details,
    gateway_response,
    message_ids,
    names_ids,
    no_date,
    read_reasons,
    texin_error,
)
from bot.providers.types import Balance, DeliveryStatus, ProviderName, RecipientOutcome, RecipientState, SendResult

logger = logging.getLogger(__name__)

TEXIN_BASE_URL = "https://texin.hotspotbillingsystem.co.ke/api/"
_PROVIDER = ProviderName.TEXIN


class TexinClient(JsonApiClient):
    """One Texin account. Owns its HTTP connection pool: close it with ``aclose()`` or ``async with``."""

    provider = _PROVIDER
    credentials = TEXIN_CREDENTIALS

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str = TEXIN_BASE_URL,
        sender_id: str = "Texin",
        timeout: httpx.Timeout | None = None,
        max_batch_size: int = 100,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> None:
        super().__init__(
            secrets=(api_key.get_secret_value(),),
            sender_id=sender_id,
            timeout=timeout,
            max_batch_size=max_batch_size,
            retry=retry,
            deadline=deadline,
        )
        self._api_key = api_key
        self._base_url = base_url.rstrip("/") + "/"

    def __repr__(self) -> str:
        return f"TexinClient(base_url={self._base_url!r}, sender_id={self._sender_id!r})"

    @property
    def supports_status(self) -> bool:
        return True

    async def send(self, recipients: Sequence[str], text: str, sender_id: str | None = None) -> SendResult:
        """One text to at most ``max_batch_size`` recipients: ``send_sms`` for one, else ``send_bulk_sms``."""
        numbers = self._batch(recipients)
        if len(numbers) == 1:
            return await self.send_sms(numbers[0], text, sender_id)
        return await self.send_bulk_sms(numbers, text, sender_id)

    async def send_sms(self, recipient: str, text: str, sender_id: str | None = None) -> SendResult:
        payload = {"recipient": recipient, "message": text, "sender_id": sender_id or self._sender_id}
        body = await self._call("send_sms", payload, idempotent=False)
        return self._read_send(body, lambda: self._single_outcomes(recipient, body))

    async def send_bulk_sms(self, recipients: Sequence[str], text: str, sender_id: str | None = None) -> SendResult:
        numbers = self._batch(recipients)
        payload = {"recipients": numbers, "message": text, "sender_id": sender_id or self._sender_id}
        body = await self._call("send_bulk_sms", payload, idempotent=False, partial_ok=True)
        return self._read_send(body, lambda: self._bulk_outcomes(numbers, body))

    async def check_status(self, message_id: str) -> DeliveryStatus:
        body = await self._call("check_status", {"message_id": message_id}, idempotent=True)
        delivered_at = None if no_date(body.get("delivered_at")) else to_text(body.get("delivered_at"))
        provider_status = to_text(body.get("status"))
        return DeliveryStatus(
            provider=_PROVIDER,
            provider_message_id=to_text(body.get("message_id")) or message_id,
            state=delivery_state(provider_status, delivered_at),
            provider_status=provider_status,
            recipient=to_text(body.get("recipient")),
            sender_id=to_text(body.get("sender_id")),
            units=to_int(body.get("units_used")),
            cost=to_decimal(body.get("cost")),
            created_at=to_text(body.get("created_at")),
            sent_at=to_text(body.get("sent_at")),
            delivered_at=delivered_at,
            error_message=to_text(body.get("error_message")),
            gateway=gateway_response(body.get("gateway_response")),
            message_preview=to_text(body.get("message_preview")),
            raw=body,
        )

    async def get_balance(self) -> Balance:
        body = await self._call("get_balance", {}, idempotent=True)
        credits = to_decimal(body.get("sms_balance"))
        if credits is None:
            raise ProviderUnavailableError(_PROVIDER, "Texin's balance answer did not include the balance.")
        # ``email`` and ``user_id`` stay in ``raw`` only: nothing shown to a chat should carry them.
        return Balance(
            provider=_PROVIDER,
            credits=credits,
            cost_per_unit=to_decimal(body.get("sms_cost_per_unit")),
            account=to_text(body.get("username")),
            default_sender_id=to_text(body.get("default_sender_id")),
            as_of=to_text(body.get("timestamp")),
            raw=body,
        )

    async def status(self, provider_message_id: str) -> DeliveryStatus:
        return await self.check_status(provider_message_id)

    async def balance(self) -> Balance:
        return await self.get_balance()

    # -- internals ------------------------------------------------------------------------------------------

    async def _call(
        self, endpoint: str, payload: dict[str, Any], *, idempotent: bool, partial_ok: bool = False
    ) -> dict[str, Any]:
        def check(status: int, body: dict[str, Any]) -> ProviderError | None:
            ok = 200 <= status < 300
            if ok and "success" not in body:
                # Some JSON, but not Texin's: for a send nobody can say whether it went out.
                what = "answered without saying whether it worked"
                if idempotent:
                    return ProviderUnavailableError(_PROVIDER, f"Texin {what}.", status_code=status)
                return unknown_outcome(_PROVIDER, what, status)
            if ok and (to_bool(body["success"]) or (partial_ok and names_ids(body.get("message_ids")))):
                # A bulk answer with message ids sent those messages, even if it says success: false.
                return None
            return texin_error(status, body, self._secrets)

        payload = {"api_key": self._api_key.get_secret_value(), **payload}
        return await self._post(self._base_url + endpoint, payload, idempotent=idempotent, check=check)

    def _owns(self, body: dict[str, Any]) -> bool:
        # Texin's own error: ``success: false`` with an ``error``. A proxy's or framework's JSON lacks one.
        return "success" in body and not to_bool(body["success"]) and to_text(body.get("error")) not in (None, "")

    def _read_send(self, body: dict[str, Any], outcomes: Callable[[], tuple[RecipientOutcome, ...]]) -> SendResult:
        try:
            read = outcomes()
            message = to_text(body.get("message"))
            return SendResult(
                provider=_PROVIDER,
                outcomes=read,
                units=to_int(from_details(body, "units_used", "Units used")),
                cost=to_decimal(
                    body["cost"] if body.get("cost") is not None else from_details(body, "total_cost", "Cost")
                ),
                balance_after=to_decimal(from_details(body, "new_balance", "New balance")),
                simulation=to_bool(body.get("simulation_mode")),
                sender_id=to_text(body.get("sender_id")),
                provider_message=provider_text(message, self._secrets) if message else None,
                raw=body,
            )
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
            # Texin said it sent, but the answer cannot be read: the recipients' fate is unknown, not failed.
            logger.debug("Texin: unreadable send answer (%s)", type(exc).__name__)
            raise unknown_outcome(_PROVIDER, "accepted the send but its answer could not be read") from None

    def _single_outcomes(self, recipient: str, body: dict[str, Any]) -> tuple[RecipientOutcome, ...]:
        message_id = to_text(from_details(body, "message_id", "Message ID")) or None
        return (RecipientOutcome(recipient, RecipientState.ACCEPTED, provider_message_id=message_id),)

    def _bulk_outcomes(self, recipients: Sequence[str], body: dict[str, Any]) -> tuple[RecipientOutcome, ...]:
        ids = message_ids(body.get("message_ids"), recipients)
        invalid = read_reasons(body.get("invalid_numbers"), "invalid number", self._secrets)
        failed = read_reasons(body.get("failed_recipients"), "the SMS gateway failed to send", self._secrets)
        outcomes = []
        for recipient in recipients:
            key = number_key(recipient)
            message_id = ids.get(key)
            # An explicit failure wins over an id, but the id is kept so the status can still be asked.
            reason = failed.get(key) or invalid.get(key)
            if reason is not None:
                outcomes.append(RecipientOutcome(recipient, RecipientState.REJECTED, message_id, reason))
            elif message_id is not None:
                outcomes.append(RecipientOutcome(recipient, RecipientState.ACCEPTED, message_id))
            else:
                outcomes.append(RecipientOutcome(recipient, RecipientState.UNKNOWN))
        statistics = body.get("statistics")
        if isinstance(statistics, dict):
            accepted = sum(o.state is RecipientState.ACCEPTED for o in outcomes)
            if to_int(statistics.get("successful")) not in (None, accepted):
                successful = statistics.get("successful")
                logger.debug("Texin: %s successful by its statistics, %d by message ids", successful, accepted)
        return tuple(outcomes)
