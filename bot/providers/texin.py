"""Client for Texin (RAYPROTECH System SMS API): send, bulk send, delivery status and balance.

Texin answers JSON with ``success: true|false``; numbers come as numbers or as text (``"0.30"``,
``"KES 0.30"``), phone numbers as ``2547…`` or ``07…``, and a bulk answer names each recipient in
``message_ids``, ``invalid_numbers`` or ``failed_recipients``. All of it is read tolerantly into our types; a
recipient the answer does not mention is ``UNKNOWN``, never assumed sent or failed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from bot.providers.errors import (
    AuthenticationError,
    InsufficientCreditError,
    InvalidSenderIdError,
    ProviderError,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from bot.providers.http import JsonApiClient, RetryPolicy, error_for_status, unknown_outcome
from bot.providers.parsing import (
    first,
    number_key,
    provider_text,
    sentence,
    to_bool,
    to_decimal,
    to_int,
    to_text,
)
from bot.providers.types import (
    Balance,
    DeliveryState,
    DeliveryStatus,
    GatewayResponse,
    ProviderName,
    RecipientOutcome,
    RecipientState,
    SendResult,
)

logger = logging.getLogger(__name__)

TEXIN_BASE_URL = "https://texin.hotspotbillingsystem.co.ke/api/"
_PROVIDER = ProviderName.TEXIN
_CREDENTIALS = "TEXIN_API_KEY"

_SENDER_ID = re.compile(r"sender\s*[-_ ]?\s*id", re.IGNORECASE)
_BAD_KEY = re.compile(r"(?:invalid|missing|unknown|expired|wrong)\s+api\s*[-_ ]?key", re.IGNORECASE)
_INSUFFICIENT = re.compile(
    r"insufficient\s+(?:sms\s+)?(?:balance|credits?|units|funds)"
    r"|not\s+enough\s+(?:sms\s+)?(?:balance|credits?|units|funds)"
    r"|(?:balance|credits?|units)\s+(?:is\s+|are\s+)?(?:too\s+low|insufficient|exhausted)"
    r"|low\s+(?:sms\s+)?balance|out\s+of\s+(?:credits?|units)",
    re.IGNORECASE,
)
_DELIVERED = {"delivered", "delivrd", "success", "successful", "delivered_to_handset", "delivery_success"}
_SENT = {"sent", "submitted", "accepted", "sent_to_gateway", "sent_to_network"}
_FAILED = {"failed", "failure", "rejected", "undelivered", "undeliverable", "expired", "error", "blacklisted"}
_NUMBER_FIELDS = ("recipient", "number", "phone", "mobile", "msisdn", "to")
_REASON_FIELDS = ("reason", "error", "message", "status", "error_message")
_ID_FIELDS = ("message_id", "messageId", "id", "msg_id")


def delivery_state(provider_status: str | None, delivered_at: object = None) -> DeliveryState:
    """Texin's status word as our state; a delivery time means delivered, an unknown word means pending."""
    if delivered_at not in (None, ""):
        return DeliveryState.DELIVERED
    word = re.sub(r"[\s-]+", "_", (provider_status or "").strip().lower())
    if word in _DELIVERED:
        return DeliveryState.DELIVERED
    if word in _SENT:
        return DeliveryState.SENT
    if word in _FAILED:
        return DeliveryState.FAILED
    return DeliveryState.PENDING


def _reasons(value: object, default: str, secrets: Sequence[str]) -> dict[str, str]:
    """``invalid_numbers`` / ``failed_recipients`` as {number key: reason}, from a list or an object."""
    found: dict[str, str] = {}
    if isinstance(value, dict):
        pairs: list[tuple[object, object]] = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for item in value:
            if isinstance(item, dict):
                pairs.append((first(item, _NUMBER_FIELDS), item))
            else:
                pairs.append((item, None))
    else:
        return found
    for number, why in pairs:
        if number in (None, "") or isinstance(number, dict | list):
            continue
        reason = first(why, _REASON_FIELDS) if isinstance(why, dict) else why
        text = to_text(reason)
        found[number_key(number)] = provider_text(text, secrets) if text else default
    return found


def _message_ids(value: object) -> dict[str, str]:
    """``message_ids`` as {number key: id}; an object keyed by number, or a list of objects."""
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for number, item in value.items():
            message_id = first(item, _ID_FIELDS) if isinstance(item, dict) else item
            if (text := to_text(message_id)) is not None:
                found[number_key(number)] = text
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                number, message_id = first(item, _NUMBER_FIELDS), to_text(first(item, _ID_FIELDS))
                if number is not None and message_id is not None:
                    found[number_key(number)] = message_id
    return found


def _gateway(value: object) -> GatewayResponse | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    return GatewayResponse(
        status=to_text(value.get("status")),
        mobile=to_text(value.get("mobile")),
        invalid_mobile=to_text(value.get("invalidMobile")),
        transaction_id=to_text(value.get("transactionId")),
        status_code=to_text(value.get("statusCode")),
        reason=to_text(value.get("reason")),
        msg_id=to_text(value.get("msgId")),
        request_time=to_text(value.get("requestTime")),
    )


def texin_error(status: int, body: dict[str, Any], secrets: Sequence[str]) -> ProviderError:
    """The error a Texin ``success: false`` (or error status) answer means."""
    said = body.get("error") or body.get("message")
    detail = provider_text(said, secrets) if said not in (None, "") else None
    if detail and _SENDER_ID.search(detail) and "invalid" in detail.lower():
        used = to_text(body.get("sender_id_used"))
        which = f" “{provider_text(used, secrets, limit=40)}”" if used else ""
        message = f"Texin refused the sender id{which} for this account. It said: {detail}"
        return InvalidSenderIdError(_PROVIDER, message, status_code=status)
    if status == 402 or (detail and _INSUFFICIENT.search(detail)):
        said = f"It said: {detail}" if detail else "(HTTP 402)"
        return InsufficientCreditError(_PROVIDER, f"Texin: not enough SMS balance. {said}", status_code=status)
    if status != 401 and detail and _BAD_KEY.search(detail):
        # Whatever the HTTP status, these words are about the key: say which setting to fix.
        message = f"Texin refused the API key (HTTP {status}): {sentence(detail)} Check {_CREDENTIALS}."
        return AuthenticationError(_PROVIDER, message, status_code=status)
    if 200 <= status < 300:
        return ProviderRejectedError(
            _PROVIDER, f"Texin refused the request: {detail or 'no reason given'}.", status_code=status
        )
    return error_for_status(_PROVIDER, status, detail, credentials=_CREDENTIALS)


class TexinClient(JsonApiClient):
    """One Texin account. Owns its HTTP connection pool: close it with ``aclose()`` or ``async with``."""

    provider = _PROVIDER
    credentials = _CREDENTIALS

    def __init__(
        self,
        *,
        api_key: SecretStr,
        base_url: str = TEXIN_BASE_URL,
        sender_id: str = "Texin",
        timeout: httpx.Timeout | None = None,
        max_batch_size: int = 100,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(
            secrets=(api_key.get_secret_value(),),
            sender_id=sender_id,
            timeout=timeout,
            max_batch_size=max_batch_size,
            retry=retry,
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
        delivered_at = to_text(body.get("delivered_at"))
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
            gateway=_gateway(body.get("gateway_response")),
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
            if ok and (to_bool(body["success"]) or (partial_ok and _message_ids(body.get("message_ids")))):
                # A bulk answer with message ids sent those messages, even if it says success: false.
                return None
            return texin_error(status, body, self._secrets)

        payload = {"api_key": self._api_key.get_secret_value(), **payload}
        return await self._post(self._base_url + endpoint, payload, idempotent=idempotent, check=check)

    def _read_send(self, body: dict[str, Any], outcomes: Callable[[], tuple[RecipientOutcome, ...]]) -> SendResult:
        try:
            read = outcomes()
            message = to_text(body.get("message"))
            return SendResult(
                provider=_PROVIDER,
                outcomes=read,
                units=to_int(body.get("units_used")),
                cost=to_decimal(body["cost"] if body.get("cost") is not None else body.get("total_cost")),
                balance_after=to_decimal(body.get("new_balance")),
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
        message_id = to_text(body.get("message_id")) or None
        return (RecipientOutcome(recipient, RecipientState.ACCEPTED, provider_message_id=message_id),)

    def _bulk_outcomes(self, recipients: Sequence[str], body: dict[str, Any]) -> tuple[RecipientOutcome, ...]:
        ids = _message_ids(body.get("message_ids"))
        invalid = _reasons(body.get("invalid_numbers"), "invalid number", self._secrets)
        failed = _reasons(body.get("failed_recipients"), "the SMS gateway failed to send", self._secrets)
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
