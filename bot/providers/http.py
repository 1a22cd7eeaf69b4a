"""One way to POST JSON to an SMS API, and the plumbing both clients share.

The hard rule lives here: a send is repeated only when the request provably never left this machine,
because a send that reached the provider and is sent again reaches the recipient twice. Balance and status
calls change nothing and are retried with backoff. Every failure becomes a ``ProviderError`` whose text is
safe to show: provider words are shortened and every secret in them is replaced by ``***``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self

import httpx

from bot.providers.errors import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ProviderError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from bot.providers.parsing import redact, sentence
from bot.providers.types import ProviderName

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=5.0)
_HEADERS = {"Accept": "application/json"}

# Raised before a single byte of the request was written: always safe to repeat.
_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

JsonCheck = Callable[[int, dict[str, Any]], ProviderError | None]
TextCheck = Callable[[int, str], ProviderError | None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a call that may be repeated is tried."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25  # each pause is shortened by up to this fraction, so clients do not retry in step

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy needs attempts >= 1, delays >= 0 and 0 <= jitter <= 1")

    def delay(self, attempt: int) -> float:
        """Pause after failed attempt number ``attempt`` (1-based): exponential, capped, jittered."""
        pause = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return float(pause * (1 - self.jitter * random.random()))


def error_for_status(provider: ProviderName, status: int, detail: str | None, *, credentials: str) -> ProviderError:
    """The generic reading of an HTTP status; ``detail`` is provider text already made safe to show."""
    name = provider.label
    said = f": {detail}" if detail else ""
    cls: type[ProviderError]
    if status == 401:
        cls, text = (
            AuthenticationError,
            f"{sentence(f'{name} refused the API key (HTTP 401){said}')} Check {credentials}.",
        )
    elif status == 403:
        why = said or ": the account may be inactive or not allowed to do this"
        cls, text = PermissionDeniedError, f"{name} refused access (HTTP 403){why}"
    elif status == 402:
        cls, text = InsufficientCreditError, f"{name} says the account has too little credit (HTTP 402){said}"
    elif status == 404:
        cls, text = NotFoundError, f"{name} does not know this (HTTP 404){said}"
    elif status == 405:
        cls, text = BadRequestError, f"{name} does not accept this call (HTTP 405){said}"
    elif status in (400, 422):
        cls, text = BadRequestError, f"{name} says the request was wrong (HTTP {status}){said}"
    elif status == 429 or not 200 <= status < 300:  # 5xx, and redirects or oddities: not a usable API
        cls, text = ProviderUnavailableError, f"{name} is having trouble (HTTP {status}){said}"
    else:
        cls, text = ProviderRejectedError, f"{name} refused the request (HTTP {status}){said}"
    return cls(provider, sentence(text), status_code=status)


# Where a person can find out whether an unknown send went out (254sms has no status call).
_LOOK_UP = {ProviderName.TEXIN: "check /status", ProviderName.SMS254: "check the 254sms dashboard"}


def unknown_outcome(provider: ProviderName, what: str, status: int | None = None) -> OutcomeUnknownError:
    """A send whose fate nobody can tell: ``what`` says what happened, the rest says what to do."""
    look_up = _LOOK_UP.get(provider, f"check with {provider.label}")
    return OutcomeUnknownError(
        provider,
        f"{provider.label} {what}; the SMS may or may not have been sent — {look_up} before resending.",
        status_code=status,
    )


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype", "<html", "<?xml", "<head", "<body")) or "<html" in head


def _not_the_api(provider: ProviderName, status: int, text: str) -> ProviderUnavailableError:
    # The page itself stays out of the message: it is noise for a person and may echo the request.
    what = "a web page" if _looks_like_html(text) else "something that is not JSON"
    message = f"{provider.label} answered with {what} instead of its API (HTTP {status})."
    return ProviderUnavailableError(provider, message, status_code=status)


def _seconds(value: float | None) -> str:
    return "the time limit" if value is None else f"{value:g} s"


def _scrubbed(error: ProviderError, secrets: Collection[str], note: str = "") -> ProviderError:
    """``error`` with ``note`` added and, as a last guard, every secret hidden from its message."""
    message = redact(f"{error.message}{note}", secrets)
    if message == error.message:
        return error
    return type(error)(error.provider, message, status_code=error.status_code)


@dataclass(frozen=True, slots=True)
class _Failed:
    error: ProviderError
    never_left: bool = False


async def _attempt(
    client: httpx.AsyncClient,
    url: str,
    payload: Mapping[str, Any],
    *,
    provider: ProviderName,
    idempotent: bool,
    credentials: str,
    check: JsonCheck,
    check_text: TextCheck | None,
) -> tuple[int, dict[str, Any]] | _Failed:
    name = provider.label
    timeout = client.timeout
    try:
        response = await client.post(url, json=dict(payload), headers=_HEADERS)
    except _NEVER_LEFT as exc:
        logger.debug("%s: %s before the request was sent", name, type(exc).__name__)
        sent = "" if idempotent else "; nothing was sent"
        if isinstance(exc, httpx.TimeoutException):
            limit = timeout.pool if isinstance(exc, httpx.PoolTimeout) else timeout.connect
            cls = ProviderTimeoutError if idempotent else ProviderUnavailableError
            message = f"Could not reach {name} within {_seconds(limit)}{sent}."
            return _Failed(cls(provider, message), never_left=True)
        message = f"Could not reach {name} (connection failed){sent}."
        return _Failed(ProviderUnavailableError(provider, message), never_left=True)
    except httpx.TimeoutException as exc:
        logger.debug("%s: %s after the request was sent", name, type(exc).__name__)
        limit = timeout.write if isinstance(exc, httpx.WriteTimeout) else timeout.read
        if not idempotent:
            return _Failed(unknown_outcome(provider, f"did not answer within {_seconds(limit)}"))
        return _Failed(ProviderTimeoutError(provider, f"{name} did not answer within {_seconds(limit)}."))
    except httpx.HTTPError as exc:
        # The request may have been written before the connection broke, or the reply could not be decoded.
        logger.debug("%s: %s during the call", name, type(exc).__name__)
        if not idempotent:
            return _Failed(unknown_outcome(provider, "closed the connection without a usable answer"))
        return _Failed(ProviderUnavailableError(provider, f"{name} closed the connection without an answer."))

    status = response.status_code
    logger.debug("%s: HTTP %d from %s", name, status, response.url.path)
    if not idempotent and status == 504:
        # A gateway timeout says nothing about whether the provider behind it sent the SMS.
        return _Failed(unknown_outcome(provider, "timed out behind its gateway (HTTP 504)", status))
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        # Not chained anywhere on purpose: a JSONDecodeError carries the whole text, which may echo the key.
        body = None
    if isinstance(body, dict):
        error = check(status, body)
        if error is None and not 200 <= status < 300:
            error = error_for_status(provider, status, None, credentials=credentials)
        return (status, body) if error is None else _Failed(error)

    text = response.text
    if check_text is not None and (error := check_text(status, text)) is not None:
        return _Failed(error)
    if 200 <= status < 300:
        if not idempotent:
            return _Failed(unknown_outcome(provider, f"answered HTTP {status} with something other than its API"))
        return _Failed(_not_the_api(provider, status, text))
    if status >= 500:
        return _Failed(_not_the_api(provider, status, text))
    return _Failed(error_for_status(provider, status, None, credentials=credentials))


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    payload: Mapping[str, Any],
    *,
    provider: ProviderName,
    idempotent: bool,
    retry: RetryPolicy,
    secrets: Collection[str],
    credentials: str,
    check: JsonCheck,
    check_text: TextCheck | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST ``payload`` as JSON and return ``(status, body)`` for an answer ``check`` accepts.

    ``check`` reads a JSON object answer and returns the error it means (or ``None``); ``check_text`` does
    the same for an answer that is not a JSON object (254sms may answer a bare ``X001``). ``idempotent`` says
    whether the call may be repeated after it could have reached the provider. ``secrets`` are hidden from
    every message (checks should already pass provider words through ``provider_text``). ``credentials``
    names the settings to look at when the key is refused. Raises ``ProviderError``.
    """
    for attempt in range(1, retry.attempts + 1):
        result = await _attempt(
            client,
            url,
            payload,
            provider=provider,
            idempotent=idempotent,
            credentials=credentials,
            check=check,
            check_text=check_text,
        )
        if not isinstance(result, _Failed):
            return result
        error = result.error
        retryable = result.never_left or (idempotent and isinstance(error, ProviderUnavailableError))
        if not retryable:
            raise _scrubbed(error, secrets)
        if attempt == retry.attempts:
            raise _scrubbed(error, secrets, f" Tried {attempt} times." if attempt > 1 else "")
        pause = retry.delay(attempt)
        logger.debug(
            "%s: attempt %d/%d failed (%s); retrying in %.2f s",
            provider.label,
            attempt,
            retry.attempts,
            type(error).__name__,
            pause,
        )
        await asyncio.sleep(pause)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


class JsonApiClient:
    """What both clients share: one connection pool, the batch limit, the secrets to hide, ``async with``."""

    provider: ClassVar[ProviderName]
    credentials: ClassVar[str]  # the settings to look at when the provider refuses the key

    def __init__(
        self,
        *,
        secrets: Sequence[str],
        sender_id: str,
        timeout: httpx.Timeout | None,
        max_batch_size: int,
        retry: RetryPolicy | None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self._secrets = tuple(secrets)
        self._sender_id = sender_id
        self._max_batch_size = max_batch_size
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(timeout=timeout or DEFAULT_TIMEOUT, headers={"User-Agent": "smsrelay"})

    @property
    def name(self) -> ProviderName:
        return self.provider

    @property
    def max_batch_size(self) -> int:
        return self._max_batch_size

    @property
    def default_sender_id(self) -> str:
        return self._sender_id

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _batch(self, recipients: Sequence[str]) -> list[str]:
        """The recipients of one call; splitting a long list into batches is the caller's job."""
        if isinstance(recipients, str):
            raise TypeError("recipients must be a sequence of numbers, not one string")
        numbers = list(recipients)
        if not numbers:
            raise ValueError("no recipients to send to")
        if len(numbers) > self._max_batch_size:
            raise ValueError(
                f"{len(numbers)} recipients are more than one {self.provider.label} call takes "
                f"({self._max_batch_size}); send them in batches"
            )
        return numbers

    async def _post(
        self,
        url: str,
        payload: Mapping[str, Any],
        *,
        idempotent: bool,
        check: JsonCheck,
        check_text: TextCheck | None = None,
    ) -> dict[str, Any]:
        _, body = await post_json(
            self._http,
            url,
            payload,
            provider=self.provider,
            idempotent=idempotent,
            retry=self._retry,
            secrets=self._secrets,
            credentials=self.credentials,
            check=check,
            check_text=check_text,
        )
        return body
