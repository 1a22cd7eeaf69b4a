"""How 254sms answers are read where a wrong reading sends an SMS twice or hides why it failed: per-recipient
words it does not know, refusals that still carry per-recipient details, sender id and credit wording, a
credits answer without a status code, and a short username echoed back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from bot.providers.errors import (
    AuthenticationError,
    InsufficientCreditError,
    InvalidSenderIdError,
    ProviderError,
    ProviderRejectedError,
)
from bot.providers.sms254 import Sms254Client
from bot.providers.types import RecipientState
from tests.fakes.sms254_server import CREDITS_PATH, Sms254FakeServer
from tests.providers.support import FAST_RETRY, FAST_TIMEOUT

A, B, C = "254712345678", "254733000001", "254700000002"


def _client_for(server: Sms254FakeServer) -> Sms254Client:
    return Sms254Client(
        username=server.username,
        api_key=SecretStr(server.api_key),
        send_url=server.send_url,
        credits_url=server.credits_url,
        timeout=FAST_TIMEOUT,
        retry=FAST_RETRY,
    )


def _answer(code: object, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    return {
        "recipientsCount": len(details),
        "statusMessage": message,
        "statusCode": code,
        "Balance": "50",
        "messageDetails": [{"message": "hi", **d} for d in details],
    }


async def test_recipient_sent_but_reported_pending_is_unknown_not_failed() -> None:
    with Sms254FakeServer(pending_numbers={B}) as server:
        async with _client_for(server) as client:
            result = await client.send([A, B], "hi")

    # B did go out: had it been read as failed, an admin's /retry would have sent it a second time.
    assert server.received == {A: 1, B: 1}
    states = {o.recipient: (o.state, o.error) for o in result.outcomes}
    assert states == {A: (RecipientState.ACCEPTED, None), B: (RecipientState.UNKNOWN, "254sms said “Pending”")}


@pytest.mark.parametrize(
    ("detail", "said"),
    [
        ({"statusCode": "Pending", "statusMessage": 1}, "254sms said “Pending”"),
        ({"statusCode": "Submitted"}, "254sms said “Submitted”"),
        ({"statusMessage": "Processing"}, "254sms said “Processing”"),
        ({"statusCode": 1}, "254sms status 1"),
        ({"statusCode": "1", "statusMessage": ""}, "254sms status 1"),
        ({}, "254sms gave no status"),
        ({"statusCode": "Pending", "statusMessage": 2}, "254sms said “Pending”"),  # words outrank a bare code
    ],
)
async def test_unrecognised_recipient_status_under_success_is_unknown(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client, detail: dict[str, Any], said: str
) -> None:
    sms254_server.reply_next(200, _answer(101, "Success", {"recipient": A, **detail}))

    result = await sms254_client.send([A], "hi")

    assert [(o.state, o.error) for o in result.outcomes] == [(RecipientState.UNKNOWN, said)]


@pytest.mark.parametrize(
    ("detail", "state"),
    [
        ({"statusCode": "Successfully Sent", "statusMessage": 2}, RecipientState.ACCEPTED),  # the spec's sample
        ({"statusCode": 2, "statusMessage": "Delivered"}, RecipientState.ACCEPTED),
        ({"statusCode": "Queued"}, RecipientState.ACCEPTED),
        ({"statusCode": "Unsuccessful", "statusMessage": 2}, RecipientState.REJECTED),
        ({"statusCode": "Not delivered"}, RecipientState.REJECTED),
        ({"statusCode": "Blacklisted number"}, RecipientState.REJECTED),
        ({"statusMessage": "Error: network"}, RecipientState.REJECTED),
        ({"statusCode": "Rejected by operator"}, RecipientState.REJECTED),
    ],
)
async def test_only_clear_words_make_a_recipient_rejected_or_accepted(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client, detail: dict[str, Any], state: RecipientState
) -> None:
    sms254_server.reply_next(200, _answer("101", "Success", {"recipient": A, **detail}))

    result = await sms254_client.send([A], "hi")

    assert result.outcomes[0].state is state


async def test_refusal_with_details_keeps_the_recipients_that_were_sent() -> None:
    with Sms254FakeServer(credits=Decimal(1), partial_sends=True) as server:
        async with _client_for(server) as client:
            result = await client.send([A, B], "hi")

    assert server.received == {A: 1}
    assert result.raw["statusCode"] == 102
    states = {o.recipient: (o.state, o.error) for o in result.outcomes}
    assert states == {
        A: (RecipientState.ACCEPTED, None),
        B: (RecipientState.REJECTED, "Insufficient balance"),
    }
    assert result.balance_after == Decimal(0)
    assert result.provider_message == "Insufficient balance, please top up"


async def test_refusal_whose_details_are_unclear_leaves_those_recipients_unknown(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    sms254_server.reply_next(
        200, _answer(100, "Message sending failed", {"recipient": A, "statusCode": "Failed"}, {"recipient": B})
    )

    result = await sms254_client.send([A, B, C], "hi")

    assert [(o.recipient, o.state) for o in result.outcomes] == [
        (A, RecipientState.REJECTED),
        (B, RecipientState.UNKNOWN),
        (C, RecipientState.UNKNOWN),  # not mentioned at all
    ]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        # Every detail failed: the call's own typed error, so a bulk job stops on insufficient credit.
        (
            _answer(102, "Insufficient balance", {"recipient": A, "statusCode": "Insufficient balance"}),
            InsufficientCreditError,
        ),
        # The credentials were refused: nothing can have been sent, whatever the details say.
        (
            _answer("X001", "Unknown secret_key", {"recipient": A, "statusCode": "Successfully Sent"}),
            AuthenticationError,
        ),
        # Details about other numbers say nothing about ours.
        (
            _answer(100, "Message sending failed", {"recipient": C, "statusCode": "Successfully Sent"}),
            ProviderRejectedError,
        ),
    ],
)
async def test_refusal_whose_details_show_nothing_sent_raises_its_error(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client, answer: dict[str, Any], error: type[ProviderError]
) -> None:
    sms254_server.reply_next(200, answer)

    with pytest.raises(error) as caught:
        await sms254_client.send([A, B], "hi")

    assert type(caught.value) is error


@pytest.mark.parametrize(
    "words",
    ["Invalid sender id", "SenderID not registered for this account", "Sender name ACME is not approved"],
)
async def test_sender_id_refusals_are_invalid_sender_id_errors(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client, words: str
) -> None:
    sms254_server.reply_next(200, {"statusCode": 103, "statusMessage": words})

    with pytest.raises(InvalidSenderIdError, match=words):
        await sms254_client.send([A], "hi", sender_id="ACME")


@pytest.mark.parametrize(
    ("words", "insufficient"),
    [
        ("Insufficient credits", True),
        ("Not enough SMS units to send", True),
        ("Low balance", True),
        ("No credits left on the account", True),
        ("Please top up to continue", True),
        ("Invalid phone list; balance unchanged", False),
        ("Credit report unavailable", False),
        ("Insufficient permissions for this API", False),
    ],
)
async def test_only_credit_phrases_mean_insufficient_credit(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client, words: str, insufficient: bool
) -> None:
    sms254_server.reply_next(200, {"statusCode": 104, "statusMessage": words})

    with pytest.raises(ProviderRejectedError) as caught:
        await sms254_client.send([A], "hi")

    assert isinstance(caught.value, InsufficientCreditError) is insufficient
    assert words in str(caught.value)


async def test_credits_answer_without_a_status_code_is_accepted(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    sms254_server.reply_next(200, {"credits": "345"})

    balance = await sms254_client.balance()

    assert balance.credits == Decimal(345)
    assert len(sms254_server.requests_to(CREDITS_PATH)) == 1


async def test_short_username_echoed_in_an_error_is_hidden_without_garbling_words() -> None:
    with Sms254FakeServer(username="bob") as server:
        server.reply_next(200, {"statusCode": 100, "statusMessage": "user bob blocked; bobby unaffected"})
        async with _client_for(server) as client:
            with pytest.raises(ProviderRejectedError) as caught:
                await client.send([A], "hi")

    assert "user *** blocked; bobby unaffected" in str(caught.value)
    assert " bob " not in str(caught.value)
