"""Client for 254sms: bulk send (comma-joined ``phone``) and credits. 254sms has no delivery status call.

Success is ``statusCode`` 101, as a number or as text. Failures are the codes X000–X003, which may come in
``statusCode`` or another field, or as the bare body text; other codes carry a ``statusMessage``. The
published sample of ``messageDetails`` has ``statusCode`` and ``statusMessage`` swapped (``"Successfully
Sent"`` / ``2``), so a recipient's fate is read from whichever field speaks. 254sms gives no message ids,
units or cost.

A recipient is ``REJECTED`` only when its detail says so in clear words (failed, invalid, blacklisted…).
Anything else it does not recognise ("Pending", "Processing", a bare code, no status) is ``UNKNOWN``: read
as failed, an admin's retry would send it a second time. A refused send (2xx, not 101, no X code) whose
``messageDetails`` say of one of our numbers that it was sent, or leave it unclear, is read per recipient
for the same reason (numbers it leaves out are ``UNKNOWN``); when every detail about our numbers says
failed, the call's own typed error is raised instead (insufficient credit, say, which stops a bulk job).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from bot.providers.answers import error_for_status, unknown_outcome
from bot.providers.errors import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditError,
    InvalidSenderIdError,
    ProviderError,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from bot.providers.http import JsonApiClient, JsonCheck, RetryPolicy
from bot.providers.parsing import number_key, provider_text, refuses_sender_id, to_decimal, to_int, to_text
from bot.providers.types import (
    Balance,
    DeliveryStatus,
    ProviderName,
    RecipientOutcome,
    RecipientState,
    SendResult,
)

logger = logging.getLogger(__name__)

SMS254_SEND_URL = "https://api.254sms.com/version1/sendsms"
SMS254_CREDITS_URL = "https://api.254sms.com/version1/credits"
_PROVIDER = ProviderName.SMS254
_CREDENTIALS = "the 254sms username and API key in the bot's settings"
_SUCCESS = "101"
# The numbers the published sample uses for a sent message (``statusMessage: 2``) and for a good call.
_SUCCESS_NUMBERS = {"2", "101"}

_X_CODE = re.compile(r"\bX00[0-3]\b", re.IGNORECASE)
_X_ERRORS: dict[str, tuple[type[ProviderError], str]] = {
    "X000": (BadRequestError, "254sms: some parameters are missing (X000)."),
    "X001": (
        AuthenticationError,
        "254sms: unknown or expired API key (X001). Check the 254sms API key in the settings.",
    ),
    "X002": (
        AuthenticationError,
        "254sms: the API key is not valid for this domain (X002). Check the 254sms API key in the settings.",
    ),
    "X003": (
        AuthenticationError,
        "254sms: unknown or expired user token (X003). Check the 254sms username and API key in the settings.",
    ),
}
_X_FIELDS = ("statusCode", "code", "errorCode", "error", "status", "statusMessage")
# Phrases that mean "too little credit"; a bare "balance" or "credit" does not ("…; balance unchanged").
_CREDIT_WORDS = re.compile(
    r"\b(?:insufficient|not\s+enough)\b(?!\s+(?:permissions?|privileges?|rights|access|parameters|fields))"
    r"|\blow\s+(?:sms\s+|account\s+)?(?:balance|credits?)\b|\bno\s+(?:sms\s+)?credits?\b"
    r"|\bout\s+of\s+(?:sms\s+)?credits?\b|\btop[\s-]?up\b",
    re.IGNORECASE,
)
# Clear refusals of one recipient; only these make it REJECTED (DND: the subscriber blocks bulk SMS).
_FAILED_WORDS = re.compile(
    r"fail|reject|invalid|error|blacklist|insufficient|unsuccessful|undeliver|blocked|\bdnd\b"
    r"|not\s+(?:sent|delivered)|unsent",
    re.IGNORECASE,
)
_SENT_WORDS = re.compile(r"success|\bsent\b|\bdelivered\b|\baccepted\b|\bqueued\b", re.IGNORECASE)


def _is_success_code(code: object) -> bool:
    if isinstance(code, bool):
        return False
    return isinstance(code, int | str) and str(code).strip() == _SUCCESS


def _x_error(text: str, status: int) -> ProviderError | None:
    match = _X_CODE.search(text)
    if match is None:
        return None
    cls, message = _X_ERRORS[match.group().upper()]
    return cls(_PROVIDER, message, status_code=status)


def _x_error_in(body: dict[str, Any], status: int) -> ProviderError | None:
    """An X code in the usual fields first, then in any other top-level value (never in echoed messages)."""
    fields = [*_X_FIELDS, *(k for k in body if k not in _X_FIELDS and k != "messageDetails")]
    for field in fields:
        value = body.get(field)
        if isinstance(value, str) and (error := _x_error(value, status)) is not None:
            return error
    return None


def sms254_error(status: int, body: dict[str, Any], secrets: Sequence[str]) -> ProviderError | None:
    """The error a 254sms JSON answer means, or ``None`` when it is a success (``statusCode`` 101)."""
    code = body.get("statusCode")
    if 200 <= status < 300 and _is_success_code(code):
        return None
    if (error := _x_error_in(body, status)) is not None:
        return error
    said = body.get("statusMessage") or body.get("message") or body.get("error")
    detail = provider_text(said, secrets) if to_text(said) else None
    if detail and refuses_sender_id(detail):
        message = f"254sms refused the sender id for this account. It said: {detail}"
        return InvalidSenderIdError(_PROVIDER, message, status_code=status)
    if detail and _CREDIT_WORDS.search(detail):
        return InsufficientCreditError(_PROVIDER, f"254sms: not enough credit. It said: {detail}", status_code=status)
    if not 200 <= status < 300:
        return error_for_status(_PROVIDER, status, detail, credentials=_CREDENTIALS)
    shown_code = provider_text(code, secrets, limit=20) if to_text(code) else "none"
    message = f"254sms refused the request: {detail or 'no reason given'} (status {shown_code})."
    return ProviderRejectedError(_PROVIDER, message, status_code=status)


def _detail_outcome(recipient: str, item: dict[str, Any], secrets: Sequence[str]) -> RecipientOutcome:
    """One ``messageDetails`` entry; whichever of ``statusCode``/``statusMessage`` holds words decides."""
    said = [t.strip() for t in (to_text(item.get(f)) for f in ("statusCode", "statusMessage", "status")) if t]
    words = [t for t in said if not t.isdigit()]
    if (failure := next((t for t in words if _FAILED_WORDS.search(t)), None)) is not None:
        return RecipientOutcome(recipient, RecipientState.REJECTED, error=provider_text(failure, secrets))
    # Words decide when there are any; a bare code only when it is one the sample uses for "sent".
    if any(_SENT_WORDS.search(t) for t in words) or (not words and any(t in _SUCCESS_NUMBERS for t in said)):
        return RecipientOutcome(recipient, RecipientState.ACCEPTED)
    # "Pending", "Processing", a bare 1, nothing at all: it may have gone out, so it is never resent unasked.
    what = f"254sms said “{words[0]}”" if words else f"254sms status {said[0]}" if said else "254sms gave no status"
    return RecipientOutcome(recipient, RecipientState.UNKNOWN, error=provider_text(what, secrets))


def _details_by_number(details: object) -> dict[str, dict[str, Any]]:
    if isinstance(details, dict):
        # One entry on its own, or an object keyed by number.
        if "recipient" in details:
            details = [details]
        else:
            details = [
                {"recipient": number, **(item if isinstance(item, dict) else {"status": item})}
                for number, item in details.items()
            ]
    found: dict[str, dict[str, Any]] = {}
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and item.get("recipient") not in (None, ""):
                found.setdefault(number_key(item["recipient"]), item)
    return found


def _outcomes(numbers: Sequence[str], details: object, secrets: Sequence[str]) -> tuple[RecipientOutcome, ...]:
    """Each number's detail read; a number the details leave out is ``UNKNOWN``."""
    by_number = _details_by_number(details)
    return tuple(
        _detail_outcome(n, item, secrets)
        if (item := by_number.get(number_key(n))) is not None
        else RecipientOutcome(n, RecipientState.UNKNOWN)
        for n in numbers
    )


def _details_outweigh_refusal(numbers: Sequence[str], status: int, body: dict[str, Any]) -> bool:
    """Whether a refused send's ``messageDetails`` are read per recipient instead of raising (module docstring).

    Only when a detail about one of our numbers says sent or leaves it unclear; never for an X code (the
    credentials were refused: nothing went out).
    """
    if not 200 <= status < 300 or _x_error_in(body, status) is not None:
        return False
    by_number = _details_by_number(body.get("messageDetails"))
    return any(
        _detail_outcome(n, item, ()).state is not RecipientState.REJECTED
        for n in numbers
        if (item := by_number.get(number_key(n))) is not None
    )


class Sms254Client(JsonApiClient):
    """One 254sms account. Owns its HTTP connection pool: close it with ``aclose()`` or ``async with``."""

    provider = _PROVIDER
    credentials = _CREDENTIALS

    def __init__(
        self,
        *,
        username: str,
        api_key: SecretStr,
        send_url: str = SMS254_SEND_URL,
        credits_url: str = SMS254_CREDITS_URL,
        sender_id: str = "254sms",
        timeout: httpx.Timeout | None = None,
        max_batch_size: int = 100,
        retry: RetryPolicy | None = None,
        deadline: float | None = None,
    ) -> None:
        # With the key, the username is a login: both stay out of everything shown to a chat.
        super().__init__(
            secrets=(api_key.get_secret_value(), username),
            sender_id=sender_id,
            timeout=timeout,
            max_batch_size=max_batch_size,
            retry=retry,
            deadline=deadline,
        )
        self._username = username
        self._api_key = api_key
        self._send_url = send_url
        self._credits_url = credits_url

    def __repr__(self) -> str:
        return f"Sms254Client(send_url={self._send_url!r}, sender_id={self._sender_id!r})"

    @property
    def supports_status(self) -> bool:
        return False

    async def send(self, recipients: Sequence[str], text: str, sender_id: str | None = None) -> SendResult:
        """Send one text to up to ``max_batch_size`` recipients in one call."""
        numbers = self._batch(recipients)
        sender = sender_id or self._sender_id
        payload = {"sender_id": sender, "phone": ",".join(numbers), "message": text}

        def check(status: int, body: dict[str, Any]) -> ProviderError | None:
            if 200 <= status < 300 and "statusCode" not in body and _x_error_in(body, status) is None:
                # Some JSON, but not 254sms's: nobody can say whether it went out.
                return unknown_outcome(_PROVIDER, "answered without a status code", status)
            error = sms254_error(status, body, self._secrets)
            if error is not None and _details_outweigh_refusal(numbers, status, body):
                return None
            return error

        body = await self._call(self._send_url, payload, idempotent=False, check=check)
        try:
            return self._send_result(numbers, sender, body)
        except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError) as exc:
            # 254sms said 101 but the rest cannot be read: the recipients' fate is unknown, not failed.
            logger.debug("254sms: unreadable send answer (%s)", type(exc).__name__)
            raise unknown_outcome(_PROVIDER, "accepted the send but its answer could not be read") from None

    async def balance(self) -> Balance:
        """Credits left (SMS units), from the credits call."""

        def check(status: int, body: dict[str, Any]) -> ProviderError | None:
            if 200 <= status < 300 and "statusCode" not in body and _x_error_in(body, status) is None:
                if to_decimal(body.get("credits")) is not None:
                    return None  # the credits alone, without a status code: still the figure asked for
                return ProviderUnavailableError(_PROVIDER, "254sms answered without a status code.", status_code=status)
            return sms254_error(status, body, self._secrets)

        body = await self._call(self._credits_url, {}, idempotent=True, check=check)
        credits = to_decimal(body.get("credits"))
        if credits is None:
            raise ProviderUnavailableError(_PROVIDER, "254sms's credits answer did not include the credits.")
        # The username is a credential here, so it is not put in ``account`` where it would be shown.
        return Balance(provider=_PROVIDER, credits=credits, raw=body)

    async def status(self, provider_message_id: str) -> DeliveryStatus:
        raise NotImplementedError("254sms has no delivery status call")

    # -- internals ------------------------------------------------------------------------------------------

    async def _call(self, url: str, payload: dict[str, Any], *, idempotent: bool, check: JsonCheck) -> dict[str, Any]:
        def check_text(status: int, text: str) -> ProviderError | None:
            return _x_error(text, status)

        payload = {"username": self._username, "api_key": self._api_key.get_secret_value(), **payload}
        return await self._post(url, payload, idempotent=idempotent, check=check, check_text=check_text)

    def _owns(self, body: dict[str, Any]) -> bool:
        # 254sms's own answers carry a statusCode (101, 102…) or an X code; a proxy's JSON has neither.
        return "statusCode" in body or _x_error_in(body, 0) is not None

    def _send_result(self, numbers: Sequence[str], sender: str, body: dict[str, Any]) -> SendResult:
        details = body.get("messageDetails")
        if details is None:
            # A 101 without any details: the call as a whole was accepted for every number in it. (A refusal
            # reaches here only with details that name our numbers: see ``_details_outweigh_refusal``.)
            outcomes = tuple(RecipientOutcome(n, RecipientState.ACCEPTED) for n in numbers)
        else:
            outcomes = _outcomes(numbers, details, self._secrets)
        count = to_int(body.get("recipientsCount"))
        if count is not None and count != len(numbers):
            logger.debug("254sms: recipientsCount %d for %d numbers sent", count, len(numbers))
        message = to_text(body.get("statusMessage"))
        return SendResult(
            provider=_PROVIDER,
            outcomes=outcomes,
            units=None,
            cost=None,
            balance_after=to_decimal(body.get("Balance", body.get("balance"))),
            simulation=False,
            sender_id=sender,
            provider_message=provider_text(message, self._secrets) if message else None,
            raw=body,
        )
