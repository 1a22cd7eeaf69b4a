"""What an HTTP answer from an SMS API means when it is not a plain success, in words for the chat.

The generic reading of a status code, the unknown outcome of a send (and where to look it up), and answers
that are not the provider's API at all: a proxy's page, a PHP error, JSON of another kind. Which of these
leave a send's fate open is decided in ``maybe_processed``; ``http`` applies it.
"""

from __future__ import annotations

from typing import Any

from bot.providers.errors import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ProviderError,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from bot.providers.parsing import sentence
from bot.providers.types import ProviderName


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


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    # "<" first also covers PHP's fatal error output, which starts with "<br />".
    return head.startswith("<") or "<html" in head


def what_came(body: Any, text: str) -> str:
    """What an answer that is not the provider's API looked like, for a person (never the answer itself)."""
    if body is not None:
        return "JSON of another kind"
    if not text.strip():
        return "an empty answer"
    return "a web page" if looks_like_html(text) else "something that is not JSON"


def not_the_api(provider: ProviderName, status: int, body: Any, text: str) -> ProviderUnavailableError:
    # The page itself stays out of the message: it is noise for a person and may echo the request.
    message = f"{provider.label} answered with {what_came(body, text)} instead of its API (HTTP {status})."
    return ProviderUnavailableError(provider, message, status_code=status)


def maybe_processed(status: int, own: bool) -> bool:
    """Whether a 5xx answer to a send leaves open that the provider did the work.

    A 504 always does (the provider behind the gateway may still have sent). Any other 5xx does unless the
    provider itself answered with its own error, or it is a 503, which says the request was not taken.
    """
    return status == 504 or (status >= 500 and status != 503 and not own)
