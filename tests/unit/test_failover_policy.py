"""Provider failover's policy: which refusals prove nothing was sent, which sends each PROVIDER_FAILOVER covers."""

from __future__ import annotations

import pytest

from bot.config import FailoverMode
from bot.providers.errors import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditError,
    InvalidSenderIdError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ProviderError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    ProviderUnreachableError,
)
from bot.providers.sms254 import sms254_error
from bot.providers.types import ProviderName
from bot.services.failover import SendPurpose, backup_provider, refused_before_sending

TEXIN, SMS254, SIMULATOR = ProviderName.TEXIN, ProviderName.SMS254, ProviderName.SIMULATOR
BOTH = (TEXIN, SMS254)


@pytest.mark.parametrize(
    "error",
    [
        ProviderUnreachableError,
        AuthenticationError,
        PermissionDeniedError,
        InsufficientCreditError,
        InvalidSenderIdError,
    ],
)
def test_refusals_before_anything_was_sent_allow_failover(error: type[ProviderError]) -> None:
    assert refused_before_sending(error("texin", "refused"))


@pytest.mark.parametrize(
    "error",
    [
        OutcomeUnknownError,  # a timeout after the request was written, an unreadable answer
        ProviderUnavailableError,  # a 5xx the provider itself sent, a pool timeout
        ProviderTimeoutError,
        BadRequestError,
        NotFoundError,
        ProviderRejectedError,
    ],
)
def test_other_errors_never_fail_over(error: type[ProviderError]) -> None:
    assert not refused_before_sending(error("texin", "no"))
    assert backup_provider(FailoverMode.ALL, SendPurpose.ALERT, TEXIN, error("texin", "no"), chosen=False,
                           configured=BOTH) is None  # fmt: skip


@pytest.mark.parametrize(
    ("code", "error"), [("X001", AuthenticationError), ("X002", AuthenticationError), ("X003", AuthenticationError)]
)
def test_254sms_credential_codes_are_refusals_before_sending(code: str, error: type[ProviderError]) -> None:
    found = sms254_error(200, {"statusCode": code}, ())
    assert type(found) is error
    assert found is not None and refused_before_sending(found)


def test_254sms_missing_parameters_is_not_a_reason_to_fail_over() -> None:
    found = sms254_error(200, {"statusCode": "X000"}, ())
    assert found is not None and not refused_before_sending(found)


@pytest.mark.parametrize(
    ("mode", "purpose", "expected"),
    [
        (FailoverMode.OFF, SendPurpose.ALERT, None),
        (FailoverMode.OFF, SendPurpose.USER, None),
        (FailoverMode.ALERTS, SendPurpose.ALERT, SMS254),
        (FailoverMode.ALERTS, SendPurpose.USER, None),
        (FailoverMode.ALL, SendPurpose.ALERT, SMS254),
        (FailoverMode.ALL, SendPurpose.USER, SMS254),
    ],
)
def test_each_mode_covers_its_sends(mode: FailoverMode, purpose: SendPurpose, expected: ProviderName | None) -> None:
    refused = AuthenticationError("texin", "key refused")
    assert backup_provider(mode, purpose, TEXIN, refused, chosen=False, configured=BOTH) is expected


def test_texin_and_254sms_stand_in_for_each_other_only() -> None:
    refused = InsufficientCreditError("sms254", "no credit")
    everything = (TEXIN, SMS254, SIMULATOR)
    assert backup_provider(FailoverMode.ALL, SendPurpose.USER, SMS254, refused, chosen=False,
                           configured=everything) is TEXIN  # fmt: skip
    # Never to or from the simulator, never to a provider that is not configured.
    assert backup_provider(FailoverMode.ALL, SendPurpose.USER, SIMULATOR, refused, chosen=False,
                           configured=everything) is None  # fmt: skip
    assert backup_provider(FailoverMode.ALL, SendPurpose.USER, SMS254, refused, chosen=False,
                           configured=(SMS254, SIMULATOR)) is None  # fmt: skip


def test_a_provider_the_person_chose_is_never_replaced() -> None:
    refused = AuthenticationError("texin", "key refused")
    assert backup_provider(FailoverMode.ALL, SendPurpose.USER, TEXIN, refused, chosen=True, configured=BOTH) is None
