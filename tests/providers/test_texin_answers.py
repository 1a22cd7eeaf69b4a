"""Texin answers outside the spec's exact samples: delivery states that contradict each other, MySQL zero
dates, figures only in ``details``, bare lists of message ids, and "Message not found" with HTTP 200."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
from pydantic import SecretStr

from bot.providers.errors import NotFoundError
from bot.providers.texin import TexinClient
from bot.providers.types import DeliveryState, RecipientState
from tests.fakes.texin_server import TexinFakeServer
from tests.providers.support import FAST_RETRY, FAST_TIMEOUT

A, B, C = "254712345678", "254733000001", "254700000002"


@pytest.fixture
def odd_texin() -> Iterator[TexinFakeServer]:
    """A fake answering single sends with ``details`` only and bulk sends with a bare list of ids."""
    with TexinFakeServer(details_only=True, ids_style="list") as server:
        yield server


@pytest.fixture
async def odd_client(odd_texin: TexinFakeServer) -> AsyncIterator[TexinClient]:
    async with TexinClient(
        api_key=SecretStr(odd_texin.api_key), base_url=odd_texin.base_url, timeout=FAST_TIMEOUT, retry=FAST_RETRY
    ) as client:
        yield client


async def _sent_id(client: TexinClient) -> str:
    sent = await client.send([A], "hi")
    message_id = sent.outcomes[0].provider_message_id
    assert message_id is not None
    return message_id


@pytest.mark.parametrize(
    ("word", "delivered_at", "state"),
    [
        ("failed", "2026-01-12 11:22:03", DeliveryState.FAILED),  # a failure word wins over a delivery time
        ("rejected", "2026-01-12 11:22:03", DeliveryState.FAILED),
        ("sent", "0000-00-00 00:00:00", DeliveryState.SENT),  # MySQL's zero date: never delivered
        ("queued", "0000-00-00", DeliveryState.PENDING),
        ("success", "0000-00-00 00:00:00", DeliveryState.SENT),
        ("sent", "2026-01-12 11:22:03", DeliveryState.DELIVERED),
    ],
)
async def test_status_word_and_delivery_time_are_weighed_failure_first(
    texin_server: TexinFakeServer, texin_client: TexinClient, word: str, delivered_at: str, state: DeliveryState
) -> None:
    message_id = await _sent_id(texin_client)
    texin_server.set_status(message_id, word, delivered_at=delivered_at)

    status = await texin_client.check_status(message_id)

    assert status.state is state
    assert status.delivered_at == (None if delivered_at.startswith("0000") else delivered_at)
    assert status.raw["delivered_at"] == delivered_at


async def test_single_send_figures_are_read_from_details_when_the_top_level_lacks_them(
    odd_texin: TexinFakeServer, odd_client: TexinClient
) -> None:
    odd_texin.credits = Decimal(93)

    result = await odd_client.send([A], "hi")

    [message] = odd_texin.messages.values()
    assert "message_id" not in result.raw
    assert result.outcomes[0].provider_message_id == message.message_id
    assert (result.units, result.cost, result.balance_after) == (1, Decimal("0.30"), Decimal(92))
    # The id read from details is one Texin knows.
    assert (await odd_client.check_status(message.message_id)).recipient == A


async def test_bare_list_of_bulk_ids_is_matched_to_recipients_in_order(
    odd_texin: TexinFakeServer, odd_client: TexinClient
) -> None:
    result = await odd_client.send([A, B, C], "hi")

    assert isinstance(result.raw["message_ids"], list)
    assert [o.state for o in result.outcomes] == [RecipientState.ACCEPTED] * 3
    for outcome in result.outcomes:
        assert outcome.provider_message_id is not None
        assert odd_texin.messages[outcome.provider_message_id].recipient == outcome.recipient


async def test_bare_list_of_bulk_ids_shorter_than_the_recipients_is_not_guessed(
    odd_texin: TexinFakeServer, odd_client: TexinClient
) -> None:
    odd_texin.invalid_numbers.add(B)

    result = await odd_client.send([A, B, C], "hi")

    assert len(result.raw["message_ids"]) == 2
    assert [(o.state, o.provider_message_id) for o in result.outcomes] == [
        (RecipientState.UNKNOWN, None),
        (RecipientState.REJECTED, None),
        (RecipientState.UNKNOWN, None),
    ]


async def test_message_not_found_with_http_200_is_not_found_and_not_retried(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.reply_next(200, {"success": False, "error": "Message not found"})

    with pytest.raises(NotFoundError, match="Message not found"):
        await texin_client.check_status("API-404")

    assert len(texin_server.requests_to("/api/check_status")) == 1
