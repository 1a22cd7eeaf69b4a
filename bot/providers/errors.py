"""Errors raised by the SMS provider clients.

Every message is written for the person in the chat: it names the provider and what went wrong, and never
contains an API key, a username or a request body. The tree::

    ProviderError                       anything a provider call can raise
    ├── ProviderRejectedError           the provider answered and refused the request
    │   ├── AuthenticationError         401, 254sms X001/X002/X003: wrong or expired key
    │   ├── PermissionDeniedError       403: account inactive or not allowed
    │   ├── BadRequestError             400, 405, 254sms X000: our request was wrong
    │   │   └── InvalidSenderIdError    the sender id is not registered for the account
    │   ├── NotFoundError               404: unknown endpoint or message id
    │   └── InsufficientCreditError     not enough credit to send
    ├── ProviderUnavailableError        5xx, connection refused, HTML or garbage: nothing was sent
    │   ├── ProviderUnreachableError    no connection (refused, DNS, TLS, connect timeout): the request never left
    │   └── ProviderTimeoutError        no answer in time on a call that is safe to repeat
    └── OutcomeUnknownError             a send may or may not have gone out: never retried automatically

Callers catch ``ProviderError`` for "tell the user", ``OutcomeUnknownError`` to mark rows ``unknown`` instead of
``failed``, and ``ProviderUnavailableError`` to decide whether a safe call may be tried again.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base of every provider failure; ``str(error)`` is safe to show a user."""

    def __init__(self, provider: str, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.message = message
        self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class ProviderRejectedError(ProviderError):
    """The provider answered and refused the request: repeating it unchanged will not help."""


class AuthenticationError(ProviderRejectedError):
    """The API key (or 254sms username/token) was refused."""


class PermissionDeniedError(ProviderRejectedError):
    """The account is inactive or may not use this call (HTTP 403)."""


class BadRequestError(ProviderRejectedError):
    """The provider says our request was malformed or missing a field."""


class InvalidSenderIdError(BadRequestError):
    """The sender id is not registered for this account."""


class NotFoundError(ProviderRejectedError):
    """Unknown endpoint or unknown message id (HTTP 404)."""


class InsufficientCreditError(ProviderRejectedError):
    """The account has too little credit for the send."""


class ProviderUnavailableError(ProviderError):
    """The provider could not be reached or answered with something that is not its API; nothing was sent."""


class ProviderUnreachableError(ProviderUnavailableError):
    """No connection could be made (refused, DNS, TLS, connect timeout): not a byte of the request was written."""


class ProviderTimeoutError(ProviderUnavailableError):
    """No answer in time on a call that changes nothing (balance, status)."""


class OutcomeUnknownError(ProviderError):
    """A send request may have reached the provider but no usable answer came back.

    The messages may or may not have gone out, so they are recorded as ``unknown`` and never resent without a
    person deciding to: resending is how people receive the same SMS twice.
    """
