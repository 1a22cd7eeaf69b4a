"""Reading Texin's JSON into our words: delivery states, bulk recipient lists, the gateway block, refusals.

Numbers come as numbers or as text (``"0.30"``, ``"KES 0.30"``), phone numbers as ``2547…`` or ``07…``, and
a bulk answer names each recipient in ``message_ids``, ``invalid_numbers`` or ``failed_recipients``. A single
send's figures are also read from its ``details`` block ("Message ID", "Cost": "KES 0.30", "New balance":
"92 credits") when the top-level fields are missing; a bare list of ``message_ids`` is matched to the
recipients in order only when it has one id for each.

Delivery status: a failure word in ``status`` wins over everything; then a real ``delivered_at`` (MySQL's
zero date ``0000-00-00 00:00:00`` counts as none) means delivered. "success" is what the upstream gateway
says when it takes a message (the spec's ``gateway_response``), so it reads as sent, not delivered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from bot.providers.answers import error_for_status
from bot.providers.errors import (
    AuthenticationError,
    InsufficientCreditError,
    InvalidSenderIdError,
    NotFoundError,
    ProviderError,
    ProviderRejectedError,
)
from bot.providers.parsing import first, number_key, provider_text, refuses_sender_id, sentence, to_text
from bot.providers.types import DeliveryState, GatewayResponse, ProviderName

_PROVIDER = ProviderName.TEXIN
TEXIN_CREDENTIALS = "the Texin API key in the bot's settings"

_BAD_KEY = re.compile(r"(?:invalid|missing|unknown|expired|wrong)\s+api\s*[-_ ]?key", re.IGNORECASE)
_INSUFFICIENT = re.compile(
    r"insufficient\s+(?:sms\s+)?(?:balance|credits?|units|funds)"
    r"|not\s+enough\s+(?:sms\s+)?(?:balance|credits?|units|funds)"
    r"|(?:balance|credits?|units)\s+(?:is\s+|are\s+)?(?:too\s+low|insufficient|exhausted)"
    r"|low\s+(?:sms\s+)?balance|out\s+of\s+(?:credits?|units)",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(r"not\s+found|does\s+not\s+exist|no\s+such\s+message|unknown\s+message", re.IGNORECASE)
_DELIVERED = {"delivered", "delivrd", "delivered_to_handset", "delivery_success"}
# "success"/"successful": the gateway took the message (the spec's gateway_response), which is not delivery.
_SENT = {"sent", "submitted", "accepted", "success", "successful", "sent_to_gateway", "sent_to_network"}
_FAILED = {"failed", "failure", "rejected", "undelivered", "undeliverable", "expired", "error", "blacklisted"}
# MySQL writes a "zero" DATETIME for a time that never came.
_ZERO_DATE = re.compile(r"0000-00-00(?:[ T]00:00:00(?:\.0+)?)?")
_NUMBER_FIELDS = ("recipient", "number", "phone", "mobile", "msisdn", "to")
_REASON_FIELDS = ("reason", "error", "message", "status", "error_message")
_ID_FIELDS = ("message_id", "messageId", "id", "msg_id")


def no_date(value: object) -> bool:
    """Whether a time field says "never": null, empty, or MySQL's zero date."""
    text = to_text(value)
    return text is None or not text.strip() or _ZERO_DATE.fullmatch(text.strip()) is not None


def delivery_state(provider_status: str | None, delivered_at: object = None) -> DeliveryState:
    """Texin's status word as our state: a failure word wins, then a delivery time; unknown words are pending."""
    word = re.sub(r"[\s-]+", "_", (provider_status or "").strip().lower())
    if word in _FAILED:
        return DeliveryState.FAILED
    if not no_date(delivered_at) or word in _DELIVERED:
        return DeliveryState.DELIVERED
    if word in _SENT:
        return DeliveryState.SENT
    return DeliveryState.PENDING


def read_reasons(value: object, default: str, secrets: Sequence[str]) -> dict[str, str]:
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


def message_ids(value: object, recipients: Sequence[str] = ()) -> dict[str, str]:
    """``message_ids`` as {number key: id}: an object keyed by number, a list of objects, or a bare list of ids.

    A bare list names no numbers, so it is read only when it has one id per recipient, taken in order.
    """
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for number, item in value.items():
            message_id = first(item, _ID_FIELDS) if isinstance(item, dict) else item
            if (text := to_text(message_id)) is not None:
                found[number_key(number)] = text
    elif isinstance(value, list):
        if value and not any(isinstance(item, dict | list) for item in value):
            if len(value) == len(recipients):
                for recipient, item in zip(recipients, value, strict=True):
                    if (text := to_text(item)) not in (None, ""):
                        found[number_key(recipient)] = text
            return found
        for item in value:
            if isinstance(item, dict):
                number, message_id = first(item, _NUMBER_FIELDS), to_text(first(item, _ID_FIELDS))
                if number is not None and message_id is not None:
                    found[number_key(number)] = message_id
    return found


def names_ids(value: object) -> bool:
    """Whether ``message_ids`` holds any id at all, in whatever shape."""
    if isinstance(value, dict):
        return bool(message_ids(value))
    return isinstance(value, list) and any(
        to_text(first(item, _ID_FIELDS) if isinstance(item, dict) else item) not in (None, "") for item in value
    )


def from_details(body: dict[str, Any], field: str, detail: str) -> Any:
    """A top-level field, else its counterpart in the single-send ``details`` block (``"Message ID"``…)."""
    value = body.get(field)
    details = body.get("details")
    if value in (None, "") and isinstance(details, dict):
        return details.get(detail)
    return value


def gateway_response(value: object) -> GatewayResponse | None:
    """``gateway_response`` (an object, or JSON text of one) as our value; ``None`` when it is neither."""
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
    if detail and refuses_sender_id(detail):
        used = to_text(body.get("sender_id_used"))
        which = f" “{provider_text(used, secrets, limit=40)}”" if used else ""
        message = f"Texin refused the sender id{which} for this account. It said: {detail}"
        return InvalidSenderIdError(_PROVIDER, message, status_code=status)
    if status == 402 or (detail and _INSUFFICIENT.search(detail)):
        said = f"It said: {detail}" if detail else "(HTTP 402)"
        return InsufficientCreditError(_PROVIDER, f"Texin: not enough SMS balance. {said}", status_code=status)
    if status != 401 and detail and _BAD_KEY.search(detail):
        # Whatever the HTTP status, these words are about the key: say which setting to fix.
        message = f"Texin refused the API key (HTTP {status}): {sentence(detail)} Check {TEXIN_CREDENTIALS}."
        return AuthenticationError(_PROVIDER, message, status_code=status)
    if 200 <= status < 300 and detail and _NOT_FOUND.search(detail):
        # check_status answers an unknown id with 200 and "Message not found" as well as with 404.
        return NotFoundError(_PROVIDER, f"Texin does not know this: {sentence(detail)}", status_code=status)
    if 200 <= status < 300:
        return ProviderRejectedError(
            _PROVIDER, f"Texin refused the request: {detail or 'no reason given'}.", status_code=status
        )
    return error_for_status(_PROVIDER, status, detail, credentials=TEXIN_CREDENTIALS)
