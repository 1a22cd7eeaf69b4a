"""Provider failover: which refusals prove nothing was sent, and when the other provider may take the same SMS.

The rules and their reasons: ``docs/failover.md``.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from bot.config import FailoverMode
from bot.providers.errors import (
    AuthenticationError,
    InsufficientCreditError,
    InvalidSenderIdError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnreachableError,
)
from bot.providers.types import ProviderName


class SendPurpose(StrEnum):
    """Why an SMS goes out; ``PROVIDER_FAILOVER`` decides per purpose."""

    USER = "user"  # /send, bulk jobs, scheduled sends: what a person asked for
    ALERT = "alert"  # alert SMS and escalations: the bot's own pages to people on call


# Refusals that come before the request could have done anything: no connection, or the account refused outright.
REFUSED_BEFORE_SENDING: tuple[type[ProviderError], ...] = (
    ProviderUnreachableError,
    AuthenticationError,
    PermissionDeniedError,
    InsufficientCreditError,
    InvalidSenderIdError,
)

_OTHER = {ProviderName.TEXIN: ProviderName.SMS254, ProviderName.SMS254: ProviderName.TEXIN}


def refused_before_sending(error: ProviderError) -> bool:
    """Whether ``error`` proves the provider sent nothing (never an unknown outcome, a 5xx or a bad request)."""
    return isinstance(error, REFUSED_BEFORE_SENDING)


def mode_covers(mode: FailoverMode, purpose: SendPurpose) -> bool:
    """``alerts`` covers alert SMS; ``all`` every send; ``off`` none."""
    return mode is FailoverMode.ALL or (mode is FailoverMode.ALERTS and purpose is SendPurpose.ALERT)


def failover_target(
    mode: FailoverMode,
    purpose: SendPurpose,
    failed: ProviderName,
    *,
    chosen: bool,
    configured: Collection[ProviderName],
) -> ProviderName | None:
    """The provider that may take what ``failed`` refused before sending, or ``None`` (no failover for this send).

    ``chosen``: the person named the provider (``via:``). Only Texin and 254sms stand in for each other.
    """
    other = _OTHER.get(failed)
    if chosen or other is None or other not in configured or not mode_covers(mode, purpose):
        return None
    return other


def backup_provider(
    mode: FailoverMode,
    purpose: SendPurpose,
    failed: ProviderName,
    error: ProviderError,
    *,
    chosen: bool,
    configured: Collection[ProviderName],
) -> ProviderName | None:
    """The provider to hand the same SMS to after ``failed`` refused it with ``error``; ``None``: no failover."""
    if not refused_before_sending(error):
        return None
    return failover_target(mode, purpose, failed, chosen=chosen, configured=configured)
