"""One way to POST JSON to an SMS API, and the plumbing both clients share.

The hard rule lives here: a send is repeated only when the request provably never left this machine,
because a send that reached the provider and is sent again reaches the recipient twice. Balance and status
calls change nothing and are retried with backoff. For the same reason a send answered with a 5xx that is not
the provider's own error (a proxy's 502 page, Cloudflare's 520/524, a PHP fatal error on 500) has an unknown
outcome: the provider behind the proxy may have done the work. Only 503 says the request was not processed.
Every attempt also has an overall deadline, because httpx's read timeout restarts with every chunk and a
server dripping bytes would otherwise hold a call forever. Every failure becomes a ``ProviderError`` whose
text is safe to show: provider words are shortened and every secret in them is replaced by ``***``.
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

from bot.providers.answers import error_for_status, maybe_processed, not_the_api, unknown_outcome, what_came
from bot.providers.errors import (
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    ProviderUnreachableError,
)
from bot.providers.parsing import redact
from bot.providers.types import ProviderName

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=5.0)
_HEADERS = {"Accept": "application/json"}

# Raised before a single byte of the request was written: always safe to repeat.
_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

JsonCheck = Callable[[int, dict[str, Any]], ProviderError | None]
TextCheck = Callable[[int, str], ProviderError | None]
OwnJson = Callable[[dict[str, Any]], bool]


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


def attempt_deadline(timeout: httpx.Timeout) -> float | None:
    """The longest one attempt may take: pool + connect + write + two reads; ``None`` without a read limit.

    Two reads' worth leaves room for an honest but slow answer, while a server that drips its answer a byte
    at a time (never tripping the per-chunk read timeout) is cut off.
    """
    if timeout.read is None:
        return None
    return sum(t or 0.0 for t in (timeout.pool, timeout.connect, timeout.write)) + 2 * timeout.read


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
    deadline: float | None,
    credentials: str,
    check: JsonCheck,
    check_text: TextCheck | None,
    owns: OwnJson,
) -> tuple[int, dict[str, Any]] | _Failed:
    name = provider.label
    timeout = client.timeout
    try:
        async with asyncio.timeout(deadline):
            response = await client.post(url, json=dict(payload), headers=_HEADERS)
    except _NEVER_LEFT as exc:
        logger.debug("%s: %s before the request was sent", name, type(exc).__name__)
        sent = "" if idempotent else "; nothing was sent"
        cls: type[ProviderUnavailableError] = ProviderUnavailableError
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            cls = ProviderUnreachableError  # no connection at all: what provider failover may act on
        if isinstance(exc, httpx.TimeoutException):
            limit = timeout.pool if isinstance(exc, httpx.PoolTimeout) else timeout.connect
            cls = ProviderTimeoutError if idempotent else cls
            message = f"Could not reach {name} within {_seconds(limit)}{sent}."
            return _Failed(cls(provider, message), never_left=True)
        message = f"Could not reach {name} (connection failed){sent}."
        return _Failed(cls(provider, message), never_left=True)
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
    except TimeoutError:
        # Our overall deadline, not one of httpx's: the answer came too slowly. By default it is longer than
        # pool + connect + write, so the request was out; and for a send "unknown" is the safe reading anyway.
        logger.debug("%s: the attempt ran past its %s deadline", name, _seconds(deadline))
        what = f"did not finish answering within {_seconds(deadline)}"
        if not idempotent:
            return _Failed(unknown_outcome(provider, what))
        return _Failed(ProviderTimeoutError(provider, f"{name} {what}."))

    status = response.status_code
    logger.debug("%s: HTTP %d from %s", name, status, response.url.path)
    try:
        body: Any = json.loads(response.content)
    except ValueError:
        # Not chained anywhere on purpose: a JSONDecodeError carries the whole text, which may echo the key.
        body = None
    text = "" if isinstance(body, dict) else response.text
    # The provider's own words: its JSON error shape, or (254sms) an error code as the bare body.
    text_error = check_text(status, text) if check_text is not None and not isinstance(body, dict) else None
    own = text_error is not None or (isinstance(body, dict) and owns(body))
    if not idempotent and maybe_processed(status, own):
        if status == 504:
            # A gateway timeout says nothing about whether the provider behind it sent the SMS.
            return _Failed(unknown_outcome(provider, "timed out behind its gateway (HTTP 504)", status))
        what = f"answered with {what_came(body, text)} instead of its API (HTTP {status})"
        return _Failed(unknown_outcome(provider, what, status))
    if isinstance(body, dict):
        error = check(status, body)
        if error is None and not 200 <= status < 300:
            error = error_for_status(provider, status, None, credentials=credentials)
        return (status, body) if error is None else _Failed(error)

    if text_error is not None:
        return _Failed(text_error)
    if 200 <= status < 300:
        if not idempotent:
            return _Failed(unknown_outcome(provider, f"answered HTTP {status} with something other than its API"))
        return _Failed(not_the_api(provider, status, body, text))
    if status >= 500:
        return _Failed(not_the_api(provider, status, body, text))
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
    owns: OwnJson,
    check_text: TextCheck | None = None,
    deadline: float | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST ``payload`` as JSON and return ``(status, body)`` for an answer ``check`` accepts.

    ``check`` reads a JSON object answer and returns the error it means (or ``None``); ``check_text`` does
    the same for an answer that is not a JSON object (254sms may answer a bare ``X001``). ``owns`` says
    whether a JSON object is the provider's own answer rather than a proxy's or a framework's: on a send, a
    5xx without it has an unknown outcome. ``idempotent`` says whether the call may be repeated after it
    could have reached the provider. ``deadline`` bounds each attempt as a whole (seconds; ``None``: from
    the client's timeout, see ``attempt_deadline``). ``secrets`` are hidden from every message (checks
    should already pass provider words through ``provider_text``). ``credentials`` names the settings to
    look at when the key is refused. Raises ``ProviderError``.
    """
    limit = deadline if deadline is not None else attempt_deadline(client.timeout)
    for attempt in range(1, retry.attempts + 1):
        result = await _attempt(
            client,
            url,
            payload,
            provider=provider,
            idempotent=idempotent,
            deadline=limit,
            credentials=credentials,
            check=check,
            check_text=check_text,
            owns=owns,
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
        deadline: float | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        if deadline is not None and deadline <= 0:
            raise ValueError("deadline must be positive seconds, or None to derive it from the timeout")
        self._secrets = tuple(secrets)
        self._sender_id = sender_id
        self._max_batch_size = max_batch_size
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(timeout=timeout or DEFAULT_TIMEOUT, headers={"User-Agent": "smsrelay"})
        self._deadline = deadline if deadline is not None else attempt_deadline(self._http.timeout)

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

    def _owns(self, body: dict[str, Any]) -> bool:
        """Whether a JSON object is this provider's own (error) answer; see ``post_json``."""
        raise NotImplementedError

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
            owns=self._owns,
            check_text=check_text,
            deadline=self._deadline,
        )
        return body
