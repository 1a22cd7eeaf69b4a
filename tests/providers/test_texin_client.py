"""Texin client against the fake Texin server: every answer field mapped, every refusal typed."""

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
    PermissionDeniedError,
    ProviderError,
    ProviderRejectedError,
    ProviderUnavailableError,
)
from bot.providers.texin import TexinClient
from bot.providers.types import DeliveryState, ProviderName, RecipientState
from tests.fakes.texin_server import INVALID_SENDER_ERROR, TexinFakeServer
from tests.providers.support import FAST_RETRY, FAST_TIMEOUT

A, B, C, D, E = "254712345678", "254733000001", "254700000002", "254700000003", "254700000004"


async def test_single_send_maps_every_field_and_posts_the_spec_body(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    text = "Hello from RAYPROTECH System API!"
    result = await texin_client.send([A], text)

    [message] = texin_server.messages.values()
    assert result.provider is ProviderName.TEXIN
    assert [(o.recipient, o.state, o.provider_message_id) for o in result.outcomes] == [
        (A, RecipientState.ACCEPTED, message.message_id)
    ]
    assert result.units == 1
    assert result.cost == Decimal("0.3")
    assert result.balance_after == texin_server.credits == Decimal(999)
    assert result.simulation is False
    assert result.sender_id == "Texin"
    assert result.provider_message == "SMS sent successfully!"
    assert result.raw["message_length"] == len(text)
    assert result.raw["details"]["Cost"] == "KES 0.30"

    [request] = texin_server.requests
    assert request.path == "/api/send_sms"
    assert request.body == {
        "api_key": texin_server.api_key,
        "recipient": A,
        "message": text,
        "sender_id": "Texin",
    }
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert texin_server.received == {A: 1}


async def test_send_uses_send_sms_for_one_recipient_and_send_bulk_sms_for_more(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    await texin_client.send([A], "one")
    await texin_client.send([A, B], "two")

    assert [r.path for r in texin_server.requests] == ["/api/send_sms", "/api/send_bulk_sms"]
    assert texin_server.requests[1].body["recipients"] == [A, B]
    assert texin_server.received == {A: 2, B: 1}


async def test_bulk_send_maps_ids_invalid_failed_and_unmentioned_recipients(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.invalid_numbers.add(C)
    texin_server.failing_numbers.add(D)
    texin_server.unmentioned_numbers.add(E)

    result = await texin_client.send_bulk_sms([A, B, C, D, E], "Special offer just for you!")

    ids = {m.recipient: m.message_id for m in texin_server.messages.values()}
    by_number = {o.recipient: o for o in result.outcomes}
    assert [o.recipient for o in result.outcomes] == [A, B, C, D, E]
    assert by_number[A].state is RecipientState.ACCEPTED
    assert by_number[A].provider_message_id == ids[A]
    assert by_number[B].state is RecipientState.ACCEPTED
    assert by_number[B].provider_message_id == ids[B]
    assert by_number[C].state is RecipientState.REJECTED
    assert by_number[C].error == "invalid number"
    assert by_number[D].state is RecipientState.REJECTED
    assert "Gateway error" in str(by_number[D].error)
    # The fake sent to E but did not say so: the client must not guess either way.
    assert by_number[E].state is RecipientState.UNKNOWN
    assert by_number[E].provider_message_id is None
    assert result.units == 3
    assert result.cost == Decimal("0.9")
    assert result.balance_after == texin_server.credits == Decimal(997)
    assert result.provider_message == "Bulk SMS sent: 3 successful, 2 failed"
    assert result.raw["statistics"]["total_attempted"] == 5
    assert texin_server.received == {A: 1, B: 1, E: 1}


async def test_bulk_answer_with_local_numbers_and_object_lists_is_read_the_same() -> None:
    with TexinFakeServer(
        invalid_numbers={C}, failing_numbers={D}, key_style="07", invalid_style="objects", failed_style="list"
    ) as server:
        async with TexinClient(
            api_key=SecretStr(server.api_key),
            base_url=server.base_url,
            timeout=FAST_TIMEOUT,
            retry=FAST_RETRY,
        ) as client:
            result = await client.send([A, C, D], "hi")

    [message] = server.messages.values()
    assert result.raw["message_ids"] == {"0712345678": message.message_id}
    states = {o.recipient: (o.state, o.provider_message_id, o.error) for o in result.outcomes}
    assert states[A] == (RecipientState.ACCEPTED, message.message_id, None)
    assert states[C] == (RecipientState.REJECTED, None, "Invalid phone number format")
    assert states[D][0] is RecipientState.REJECTED
    assert "Gateway error" in str(states[D][2])


async def test_long_text_costs_units_per_segment_and_recipient(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    result = await texin_client.send([A, B], "x" * 161)  # two GSM segments each

    assert result.units == 4
    assert result.cost == Decimal("1.2")
    assert texin_server.credits == Decimal(996)


async def test_simulation_mode_and_chosen_sender_id_are_reported(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.simulation_mode = True
    texin_server.sender_ids.add("ACME")

    result = await texin_client.send([A, B], "hi", sender_id="ACME")

    assert result.simulation is True
    assert result.sender_id == "ACME"
    assert texin_server.requests[0].body["sender_id"] == "ACME"


async def test_numbers_given_as_text_are_read_as_exact_decimals(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.reply_next(
        200,
        {
            "success": True,
            "message": "SMS sent successfully!",
            "message_id": "API-7",
            "recipient": "0712345678",
            "units_used": "1",
            "cost": "KES 0.30",
            "new_balance": "92 credits",
            "simulation_mode": "false",
        },
    )

    result = await texin_client.send([A], "hi")

    assert result.outcomes[0].provider_message_id == "API-7"
    assert (result.units, result.cost, result.balance_after) == (1, Decimal("0.30"), Decimal(92))
    assert result.simulation is False


async def test_check_status_maps_every_field_including_the_gateway_response(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    sent = await texin_client.send([A], "Test SMS at 11:21:55")
    message_id = sent.outcomes[0].provider_message_id
    assert message_id is not None

    status = await texin_client.check_status(message_id)

    message = texin_server.messages[message_id]
    assert status.provider is ProviderName.TEXIN
    assert status.provider_message_id == message_id
    assert (status.state, status.provider_status) == (DeliveryState.SENT, "sent")
    assert (status.recipient, status.sender_id, status.units) == (A, "Texin", 1)
    assert status.cost == Decimal("0.30")
    assert status.created_at == status.sent_at == message.created_at
    assert status.delivered_at is None
    assert status.error_message is None
    assert status.message_preview == "Test SMS at 11:21:55"
    gateway = status.gateway
    assert gateway is not None
    assert (gateway.status, gateway.mobile, gateway.invalid_mobile) == ("success", A, "")
    assert gateway.transaction_id is not None
    assert gateway.transaction_id.isdigit()
    assert (gateway.status_code, gateway.reason, gateway.msg_id) == ("200", "success", "")
    assert gateway.request_time == message.created_at


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("sent", DeliveryState.SENT),
        ("Submitted", DeliveryState.SENT),
        ("accepted", DeliveryState.SENT),
        ("delivered", DeliveryState.DELIVERED),
        ("success", DeliveryState.SENT),  # the gateway's word for "taken", as in the spec's gateway_response
        ("successful", DeliveryState.SENT),
        ("failed", DeliveryState.FAILED),
        ("rejected", DeliveryState.FAILED),
        ("undelivered", DeliveryState.FAILED),
        ("expired", DeliveryState.FAILED),
        ("error", DeliveryState.FAILED),
        ("queued", DeliveryState.PENDING),
        ("processing", DeliveryState.PENDING),
        ("", DeliveryState.PENDING),
    ],
)
async def test_status_words_map_to_delivery_states(
    texin_server: TexinFakeServer, texin_client: TexinClient, word: str, state: DeliveryState
) -> None:
    sent = await texin_client.send([A], "hi")
    message_id = sent.outcomes[0].provider_message_id
    assert message_id is not None
    texin_server.set_status(message_id, word)

    status = await texin_client.status(message_id)

    assert status.state is state
    assert status.provider_status == word


async def test_delivery_time_means_delivered_and_failure_keeps_its_reason(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    sent = await texin_client.send([A, B], "hi")
    first, second = (o.provider_message_id for o in sent.outcomes)
    assert first is not None
    assert second is not None
    texin_server.set_status(first, "sent", delivered_at="2026-01-12 11:22:03")
    texin_server.set_status(second, "failed", error_message="Absent subscriber")

    delivered = await texin_client.check_status(first)
    failed = await texin_client.check_status(second)

    assert (delivered.state, delivered.delivered_at) == (DeliveryState.DELIVERED, "2026-01-12 11:22:03")
    assert (failed.state, failed.error_message) == (DeliveryState.FAILED, "Absent subscriber")


async def test_unknown_message_id_is_not_found_and_not_retried(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    with pytest.raises(NotFoundError, match="Message not found"):
        await texin_client.check_status("API-0")

    assert len(texin_server.requests_to("/api/check_status")) == 1


async def test_balance_maps_fields_and_keeps_email_and_user_id_out_of_shown_values(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.credits = Decimal(86)

    balance = await texin_client.balance()

    assert balance.provider is ProviderName.TEXIN
    assert balance.credits == Decimal(86)
    assert balance.cost_per_unit == Decimal("0.30")
    assert balance.account == "testuser"
    assert balance.default_sender_id == "Texin"
    assert balance.as_of is not None
    assert balance.as_of[:2] == "20"
    assert "test@example.com" not in repr(balance)
    assert balance.raw["email"] == "test@example.com"
    assert (await texin_client.get_balance()).credits == balance.credits


async def test_unregistered_sender_id_is_invalid_sender_id_error_naming_it(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    with pytest.raises(InvalidSenderIdError) as caught:
        await texin_client.send([A, B], "hi", sender_id="TEXIN")

    assert "“TEXIN”" in str(caught.value)
    assert INVALID_SENDER_ERROR in str(caught.value)
    assert texin_server.received == {}


@pytest.mark.parametrize("recipients", [[A], [A, B]])
async def test_too_little_balance_is_insufficient_credit(
    texin_server: TexinFakeServer, texin_client: TexinClient, recipients: list[str]
) -> None:
    texin_server.credits = Decimal(0)

    with pytest.raises(InsufficientCreditError, match="Insufficient SMS balance"):
        await texin_client.send(recipients, "hi")

    assert texin_server.received == {}


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("auth", AuthenticationError, "Check the Texin API key"),
        ("forbidden", PermissionDeniedError, "HTTP 403"),
        ("not_found", NotFoundError, "HTTP 404"),
        ("bad_request", BadRequestError, "HTTP 400"),
        ("method_not_allowed", BadRequestError, "HTTP 405"),
        ("http500", ProviderUnavailableError, "HTTP 500"),
        ("http503", ProviderUnavailableError, "web page instead of its API (HTTP 503)"),
        ("success_false", ProviderRejectedError, "Message rejected by the SMS gateway"),
        ("insufficient", InsufficientCreditError, "not enough SMS balance"),
    ],
)
async def test_each_refusal_becomes_its_typed_error_and_a_send_is_not_repeated(
    texin_server: TexinFakeServer,
    texin_client: TexinClient,
    fault: str,
    error: type[ProviderError],
    words: str,
) -> None:
    texin_server.fail_next(fault)

    with pytest.raises(ProviderError) as caught:
        await texin_client.send([A], "hi")

    assert type(caught.value) is error
    assert words in str(caught.value)
    assert "<" not in str(caught.value)
    assert len(texin_server.requests) == 1


async def test_wrong_api_key_is_authentication_error(texin_server: TexinFakeServer) -> None:
    async with TexinClient(
        api_key=SecretStr("not-the-key"),
        base_url=texin_server.base_url,
        timeout=FAST_TIMEOUT,
        retry=FAST_RETRY,
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.balance()

    assert caught.value.status_code == 401
    assert len(texin_server.requests) == 1  # a refused key is not asked again


async def test_missing_message_text_is_bad_request(texin_client: TexinClient) -> None:
    with pytest.raises(BadRequestError, match="Missing required fields"):
        await texin_client.send([A], "")


async def test_invalid_number_and_gateway_failure_on_single_send_are_typed(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.failing_numbers.add(D)

    with pytest.raises(BadRequestError, match="Invalid phone number"):
        await texin_client.send(["2547"], "hi")
    with pytest.raises(ProviderUnavailableError, match="SMS gateway failure"):
        await texin_client.send([D], "hi")

    assert texin_server.received == {}


async def test_send_refuses_oversized_empty_and_string_recipient_lists(texin_server: TexinFakeServer) -> None:
    async with TexinClient(
        api_key=SecretStr(texin_server.api_key),
        base_url=texin_server.base_url,
        max_batch_size=2,
        timeout=FAST_TIMEOUT,
        retry=FAST_RETRY,
    ) as client:
        with pytest.raises(ValueError, match="send them in batches"):
            await client.send([A, B, C], "hi")
        with pytest.raises(ValueError, match="more than one Texin call takes"):
            await client.send_bulk_sms([A, B, C], "hi")
        with pytest.raises(ValueError, match="no recipients"):
            await client.send([], "hi")
        with pytest.raises(TypeError):
            await client.send(A, "hi")

    assert texin_server.requests == []


async def test_base_url_works_with_and_without_trailing_slash(texin_server: TexinFakeServer) -> None:
    for base_url in (texin_server.url("/api"), texin_server.url("/api/")):
        async with TexinClient(
            api_key=SecretStr(texin_server.api_key), base_url=base_url, timeout=FAST_TIMEOUT, retry=FAST_RETRY
        ) as client:
            assert (await client.balance()).credits == texin_server.credits

    assert [r.path for r in texin_server.requests] == ["/api/get_balance", "/api/get_balance"]


async def test_client_describes_itself_as_the_protocol_asks(texin_client: TexinClient) -> None:
    assert texin_client.name is ProviderName.TEXIN
    assert texin_client.supports_status is True
    assert texin_client.max_batch_size == 100
    assert texin_client.default_sender_id == "Texin"
    assert "test-texin-key" not in repr(texin_client)
