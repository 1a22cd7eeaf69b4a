"""254sms client against the fake 254sms server: the swapped sample fields, string numbers, X codes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import SecretStr

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
    ProviderUnavailableError,
)
from bot.providers.sms254 import Sms254Client
from bot.providers.types import ProviderName, RecipientState
from tests.fakes.sms254_server import CREDITS_PATH, SEND_PATH, DetailStyle, Sms254FakeServer
from tests.providers.support import FAST_RETRY, FAST_TIMEOUT

A, B, C, D, E = "254712345678", "254733000001", "254700000002", "254700000003", "254700000004"


def _client_for(server: Sms254FakeServer, **overrides: str) -> Sms254Client:
    return Sms254Client(
        username=overrides.get("username", server.username),
        api_key=SecretStr(overrides.get("api_key", server.api_key)),
        send_url=server.send_url,
        credits_url=server.credits_url,
        timeout=FAST_TIMEOUT,
        retry=FAST_RETRY,
    )


async def test_send_posts_one_call_with_comma_joined_phone_and_credentials(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    await sms254_client.send([A, B], "Hello world")

    [request] = sms254_server.requests
    assert request.path == SEND_PATH
    assert request.body == {
        "username": sms254_server.username,
        "api_key": sms254_server.api_key,
        "sender_id": "254sms",
        "phone": f"{A},{B}",
        "message": "Hello world",
    }
    assert request.headers["content-type"] == "application/json"
    assert sms254_server.received == {A: 1, B: 1}


async def test_send_reads_the_published_swapped_details_and_balance(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    result = await sms254_client.send([A, B], "Hello world", sender_id="254sms")

    assert result.provider is ProviderName.SMS254
    assert [(o.recipient, o.state, o.error) for o in result.outcomes] == [
        (A, RecipientState.ACCEPTED, None),
        (B, RecipientState.ACCEPTED, None),
    ]
    # The sample's own shape: words in statusCode, the number in statusMessage.
    assert result.raw["messageDetails"][0]["statusCode"] == "Successfully Sent"
    assert result.raw["messageDetails"][0]["statusMessage"] == 2
    assert result.balance_after == sms254_server.credits == Decimal(998)
    assert (result.units, result.cost) == (None, None)
    assert all(o.provider_message_id is None for o in result.outcomes)
    assert result.provider_message == "Success"
    assert result.sender_id == "254sms"
    assert result.simulation is False


@pytest.mark.parametrize("style", ["spec", "unswapped"])
@pytest.mark.parametrize("string_numbers", [False, True])
async def test_invalid_failed_and_unmentioned_recipients_are_told_apart(
    style: DetailStyle, string_numbers: bool
) -> None:
    with Sms254FakeServer(
        invalid_numbers={C},
        failing_numbers={D},
        unmentioned_numbers={E},
        details_style=style,
        string_numbers=string_numbers,
    ) as server:
        async with _client_for(server) as client:
            result = await client.send([A, C, D, E], "hi")

    states = {o.recipient: (o.state, o.error) for o in result.outcomes}
    assert states == {
        A: (RecipientState.ACCEPTED, None),
        C: (RecipientState.REJECTED, "Invalid Phone Number"),
        D: (RecipientState.REJECTED, "Failed"),
        E: (RecipientState.UNKNOWN, None),
    }
    assert result.balance_after == server.credits == Decimal(998)
    assert server.received == {A: 1, E: 1}
    if string_numbers:
        assert result.raw["statusCode"] == "101"
        assert result.raw["Balance"] == "998"


async def test_answer_without_details_accepts_every_recipient() -> None:
    with Sms254FakeServer(details_style="absent") as server:
        async with _client_for(server) as client:
            result = await client.send([A, B], "hi")

    assert "messageDetails" not in result.raw
    assert [o.state for o in result.outcomes] == [RecipientState.ACCEPTED, RecipientState.ACCEPTED]


@pytest.mark.parametrize(
    ("detail", "state"),
    [
        ({"statusCode": "Successfully Sent", "statusMessage": 2}, RecipientState.ACCEPTED),
        ({"statusCode": "2", "statusMessage": "sent"}, RecipientState.ACCEPTED),
        ({"statusCode": 101, "statusMessage": ""}, RecipientState.ACCEPTED),
        ({"statusMessage": "2"}, RecipientState.ACCEPTED),
        ({"statusCode": "Failed", "statusMessage": 2}, RecipientState.REJECTED),
        ({"statusCode": "Not Sent", "statusMessage": 5}, RecipientState.REJECTED),
        ({"statusCode": "DND active", "statusMessage": 7}, RecipientState.REJECTED),
        ({"statusCode": 9}, RecipientState.UNKNOWN),  # a bare code it does not know: maybe sent
    ],
)
async def test_each_detail_shape_is_read_from_whichever_field_speaks(
    sms254_server: Sms254FakeServer,
    sms254_client: Sms254Client,
    detail: dict[str, object],
    state: RecipientState,
) -> None:
    sms254_server.reply_next(
        200,
        {
            "recipientsCount": 1,
            "statusMessage": "Success",
            "statusCode": "101",
            "Balance": "8823",
            "messageDetails": [{"recipient": "0712345678", "message": "hi", **detail}],
        },
    )

    result = await sms254_client.send([A], "hi")

    assert result.outcomes[0].state is state
    assert result.balance_after == Decimal(8823)
    if state is RecipientState.REJECTED:
        assert result.outcomes[0].error


async def test_credits_text_is_read_as_a_decimal_balance(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    sms254_server.credits = Decimal(345)

    balance = await sms254_client.balance()

    assert balance.provider is ProviderName.SMS254
    assert balance.credits == Decimal(345)
    assert balance.raw == {"credits": "345", "statusCode": 101}
    assert balance.account is None  # the username is a credential here, not shown
    [request] = sms254_server.requests
    assert request.path == CREDITS_PATH
    assert request.body == {"username": sms254_server.username, "api_key": sms254_server.api_key}


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        ("x000", BadRequestError, "254sms: some parameters are missing (X000)."),
        (
            "x001",
            AuthenticationError,
            "254sms: unknown or expired API key (X001). Check the 254sms API key in the settings.",
        ),
        (
            "x002",
            AuthenticationError,
            "254sms: the API key is not valid for this domain (X002). Check the 254sms API key in the settings.",
        ),
        (
            "x003",
            AuthenticationError,
            "254sms: unknown or expired user token (X003). Check the 254sms username and API key in the settings.",
        ),
    ],
)
async def test_each_x_code_becomes_its_error_on_send_and_on_credits(
    sms254_server: Sms254FakeServer,
    sms254_client: Sms254Client,
    fault: str,
    error: type[ProviderError],
    text: str,
) -> None:
    sms254_server.fail_next(fault, count=2)

    with pytest.raises(error) as on_send:
        await sms254_client.send([A], "hi")
    with pytest.raises(error) as on_credits:
        await sms254_client.balance()

    assert str(on_send.value) == str(on_credits.value) == text
    assert len(sms254_server.requests) == 2  # refusals are not retried, not even for credits
    assert sms254_server.received == {}


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error"),
    [
        (200, "X001", "text/plain", AuthenticationError),
        (401, "Error X002", "text/html", AuthenticationError),
        (200, {"code": "X003", "message": "token"}, "application/json", AuthenticationError),
        (200, {"errorCode": "X000"}, "application/json", BadRequestError),
        (200, {"error": "X001: secret_key"}, "application/json", AuthenticationError),
        (200, {"status": "failed", "reason": "X002"}, "application/json", AuthenticationError),
    ],
)
async def test_x_codes_are_found_wherever_they_appear(
    sms254_server: Sms254FakeServer,
    sms254_client: Sms254Client,
    status: int,
    body: object,
    content_type: str,
    error: type[ProviderError],
) -> None:
    sms254_server.reply_next(status, body, content_type)

    with pytest.raises(error) as caught:
        await sms254_client.send([A], "hi")

    assert type(caught.value) is error


async def test_wrong_key_and_wrong_username_are_authentication_errors(
    sms254_server: Sms254FakeServer,
) -> None:
    async with _client_for(sms254_server, api_key="wrong-key-123") as client:
        with pytest.raises(AuthenticationError, match="X001"):
            await client.balance()
    async with _client_for(sms254_server, username="someone-else") as client:
        with pytest.raises(AuthenticationError, match="X003"):
            await client.send([A], "hi")

    assert sms254_server.received == {}


async def test_too_little_credit_is_insufficient_credit(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    sms254_server.credits = Decimal(1)

    with pytest.raises(InsufficientCreditError, match="Insufficient balance"):
        await sms254_client.send([A, B], "hi")

    assert sms254_server.received == {}


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("success_false", ProviderRejectedError, "Message sending failed (status 100)"),
        ("insufficient", InsufficientCreditError, "not enough credit"),
        ("forbidden", PermissionDeniedError, "HTTP 403"),
        ("not_found", NotFoundError, "HTTP 404"),
        ("method_not_allowed", BadRequestError, "HTTP 405"),
        ("http500", ProviderUnavailableError, "HTTP 500"),
        ("html", OutcomeUnknownError, "web page instead of its API (HTTP 502)"),
        ("http503", ProviderUnavailableError, "web page instead of its API (HTTP 503)"),
        ("garbage", OutcomeUnknownError, "something other than its API"),
    ],
)
async def test_other_failures_on_send_are_typed_and_not_repeated(
    sms254_server: Sms254FakeServer,
    sms254_client: Sms254Client,
    fault: str,
    error: type[ProviderError],
    words: str,
) -> None:
    sms254_server.fail_next(fault)

    with pytest.raises(ProviderError) as caught:
        await sms254_client.send([A], "hi")

    assert type(caught.value) is error
    assert words in str(caught.value)
    assert len(sms254_server.requests) == 1


async def test_unregistered_sender_id_is_invalid_sender_id_error_with_the_provider_words(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    with pytest.raises(InvalidSenderIdError, match="Invalid sender id ACME"):
        await sms254_client.send([A], "hi", sender_id="ACME")

    assert sms254_server.received == {}


async def test_json_without_a_status_code_is_unknown_for_send_and_unavailable_for_credits(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    sms254_server.reply_next(200, {"ok": True})
    with pytest.raises(OutcomeUnknownError, match="without a status code"):
        await sms254_client.send([A], "hi")

    for _ in range(FAST_RETRY.attempts):
        sms254_server.reply_next(200, {"ok": True})
    with pytest.raises(ProviderUnavailableError, match="without a status code"):
        await sms254_client.balance()
    assert len(sms254_server.requests_to(CREDITS_PATH)) == FAST_RETRY.attempts


async def test_credits_are_retried_after_one_server_error(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    sms254_server.fail_next("http500")

    balance = await sms254_client.balance()

    assert balance.credits == sms254_server.credits
    assert len(sms254_server.requests_to(CREDITS_PATH)) == 2


async def test_status_is_not_supported(sms254_client: Sms254Client) -> None:
    assert sms254_client.supports_status is False
    with pytest.raises(NotImplementedError, match="254sms has no delivery status call"):
        await sms254_client.status("anything")


async def test_send_refuses_oversized_and_empty_recipient_lists(sms254_server: Sms254FakeServer) -> None:
    async with Sms254Client(
        username=sms254_server.username,
        api_key=SecretStr(sms254_server.api_key),
        send_url=sms254_server.send_url,
        credits_url=sms254_server.credits_url,
        max_batch_size=2,
    ) as client:
        assert client.max_batch_size == 2
        with pytest.raises(ValueError, match="more than one 254sms call takes"):
            await client.send([A, B, C], "hi")
        with pytest.raises(ValueError, match="no recipients"):
            await client.send([], "hi")

    assert sms254_server.requests == []


async def test_client_describes_itself_without_its_credentials(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    assert sms254_client.name is ProviderName.SMS254
    assert sms254_client.default_sender_id == "254sms"
    assert sms254_server.api_key not in repr(sms254_client)
    assert sms254_server.username not in repr(sms254_client)
