"""Sends whose fate nobody can tell: a proxy's 5xx page after the provider did the work, and an answer dripped
so slowly that only an overall deadline ends the wait. Both are OutcomeUnknownError and never repeated;
the same faults on balance and status calls are retried."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from bot.providers.errors import (
    InsufficientCreditError,
    OutcomeUnknownError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from bot.providers.http import attempt_deadline
from bot.providers.sms254 import Sms254Client
from bot.providers.texin import TexinClient
from bot.providers.types import RecipientState
from tests.fakes.sms254_server import CREDITS_PATH, Sms254FakeServer
from tests.fakes.texin_server import TexinFakeServer
from tests.providers.support import FAST_RETRY, FAST_TIMEOUT

A, B = "254712345678", "254733000001"
PROXY_PAGES = [("html", 502), ("cloudflare520", 520), ("cloudflare524", 524), ("php500", 500)]
TELL = "may or may not have been sent — check /status before resending."
# Each dripped byte comes well within the read timeout, so only the overall deadline can end the wait.
DRIP_TIMEOUT = httpx.Timeout(connect=1.0, read=0.3, write=1.0, pool=1.0)
DEADLINE = 0.4
DRIP_SECONDS = 0.02  # a Texin answer is a few hundred bytes: several seconds of dripping


@pytest.fixture
async def dripped_texin(texin_server: TexinFakeServer) -> AsyncIterator[TexinClient]:
    texin_server.drip_seconds = DRIP_SECONDS
    async with TexinClient(
        api_key=SecretStr(texin_server.api_key),
        base_url=texin_server.base_url,
        timeout=DRIP_TIMEOUT,
        retry=FAST_RETRY,
        deadline=DEADLINE,
    ) as client:
        yield client


@pytest.mark.parametrize(("fault", "status"), PROXY_PAGES)
@pytest.mark.parametrize("recipients", [[A], [A, B]])
async def test_proxy_error_page_after_texin_sent_is_outcome_unknown_and_not_repeated(
    texin_server: TexinFakeServer, texin_client: TexinClient, fault: str, status: int, recipients: list[str]
) -> None:
    texin_server.fail_next(fault, after_work=True)

    with pytest.raises(OutcomeUnknownError) as caught:
        await texin_client.send(recipients, "hi")

    # The fake did send: calling this "failed" would let a retry send it twice.
    assert texin_server.received == dict.fromkeys(recipients, 1)
    assert len(texin_server.requests) == 1
    assert caught.value.status_code == status
    # PHP's fatal error output starts with "<br />": markup, so it is called a web page too.
    assert str(caught.value) == f"Texin answered with a web page instead of its API (HTTP {status}); the SMS {TELL}"


@pytest.mark.parametrize(("fault", "status"), PROXY_PAGES)
async def test_proxy_error_page_after_254sms_sent_is_outcome_unknown_and_not_repeated(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client, fault: str, status: int
) -> None:
    sms254_server.fail_next(fault, after_work=True)

    with pytest.raises(OutcomeUnknownError) as caught:
        await sms254_client.send([A, B], "hi")

    assert sms254_server.received == {A: 1, B: 1}
    assert len(sms254_server.requests) == 1
    assert f"(HTTP {status}); the SMS may or may not have been sent — check the 254sms dashboard" in str(caught.value)
    assert "<" not in str(caught.value)


async def test_503_on_send_is_unavailable_because_nothing_was_processed(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.fail_next("http503")

    with pytest.raises(ProviderUnavailableError) as caught:
        await texin_client.send([A, B], "hi")

    assert type(caught.value) is ProviderUnavailableError
    assert caught.value.status_code == 503
    assert texin_server.received == {}
    assert len(texin_server.requests) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"success": False, "error": "Internal server error"}, ProviderUnavailableError),
        (
            {"success": False, "message": "Failed to send SMS", "error": "Insufficient SMS balance"},
            InsufficientCreditError,
        ),
    ],
)
async def test_texin_own_error_on_a_5xx_send_stays_a_typed_failure(
    texin_server: TexinFakeServer, texin_client: TexinClient, body: dict[str, object], error: type[Exception]
) -> None:
    texin_server.reply_next(500, body)

    with pytest.raises(error) as caught:
        await texin_client.send([A], "hi")

    assert type(caught.value) is error
    assert not isinstance(caught.value, OutcomeUnknownError)


async def test_254sms_status_code_on_a_5xx_send_stays_a_failure(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    sms254_server.reply_next(502, {"statusCode": 502, "statusMessage": "Upstream error"})

    with pytest.raises(ProviderUnavailableError) as caught:
        await sms254_client.send([A], "hi")

    assert type(caught.value) is ProviderUnavailableError
    assert "HTTP 502" in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        {"message": "Internal Server Error"},  # a framework's error, not Texin's
        {"success": False, "errors": [{"code": 1020, "message": "Access denied"}]},  # Cloudflare's JSON
        {"success": False},  # no error said: not Texin's error shape
    ],
)
async def test_foreign_json_on_a_5xx_send_is_outcome_unknown(
    texin_server: TexinFakeServer, texin_client: TexinClient, body: dict[str, object]
) -> None:
    texin_server.reply_next(500, body)

    with pytest.raises(
        OutcomeUnknownError, match=r"answered with JSON of another kind instead of its API \(HTTP 500\)"
    ):
        await texin_client.send([A], "hi")

    assert len(texin_server.requests) == 1


@pytest.mark.parametrize(("fault", "status"), PROXY_PAGES)
async def test_proxy_error_page_on_status_is_retried_and_the_next_answer_used(
    texin_server: TexinFakeServer, texin_client: TexinClient, fault: str, status: int
) -> None:
    sent = await texin_client.send([A], "hi")
    message_id = sent.outcomes[0].provider_message_id
    assert message_id is not None
    texin_server.fail_next(fault)

    answer = await texin_client.status(message_id)

    assert answer.provider_message_id == message_id
    assert len(texin_server.requests_to("/api/check_status")) == 2


async def test_dripped_answer_to_a_send_is_cut_at_the_deadline_and_outcome_unknown(
    texin_server: TexinFakeServer, dripped_texin: TexinClient
) -> None:
    texin_server.fail_next("drip")
    started = time.monotonic()

    with pytest.raises(OutcomeUnknownError) as caught:
        await dripped_texin.send([A, B], "hi")

    assert time.monotonic() - started < DEADLINE + 0.5
    assert str(caught.value) == f"Texin did not finish answering within {DEADLINE:g} s; the SMS {TELL}"
    assert texin_server.received == {A: 1, B: 1}
    assert len(texin_server.requests) == 1


async def test_dripped_balance_answers_are_retried_then_a_timeout(
    texin_server: TexinFakeServer, dripped_texin: TexinClient
) -> None:
    texin_server.fail_next("drip", count=FAST_RETRY.attempts)

    with pytest.raises(ProviderTimeoutError) as caught:
        await dripped_texin.balance()

    assert str(caught.value) == f"Texin did not finish answering within {DEADLINE:g} s. Tried 3 times."
    assert len(texin_server.requests_to("/api/get_balance")) == FAST_RETRY.attempts


async def test_dripped_credits_answer_is_retried_and_the_next_answer_used(
    sms254_server: Sms254FakeServer,
) -> None:
    sms254_server.drip_seconds = 0.2  # the credits answer is short: it must still outlast the deadline
    sms254_server.fail_next("drip")
    async with Sms254Client(
        username=sms254_server.username,
        api_key=SecretStr(sms254_server.api_key),
        send_url=sms254_server.send_url,
        credits_url=sms254_server.credits_url,
        timeout=DRIP_TIMEOUT,
        retry=FAST_RETRY,
        deadline=DEADLINE,
    ) as client:
        balance = await client.balance()

    assert balance.credits == sms254_server.credits
    assert len(sms254_server.requests_to(CREDITS_PATH)) == 2


async def test_a_slow_but_whole_answer_within_the_deadline_is_used(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.drip_seconds = 0.0005  # a few hundred bytes, well within the default deadline
    texin_server.fail_next("drip")

    result = await texin_client.send([A], "hi")

    assert [o.state for o in result.outcomes] == [RecipientState.ACCEPTED]


def test_default_deadline_is_the_time_to_connect_write_and_read_twice() -> None:
    assert attempt_deadline(httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=5.0)) == 80.0
    assert attempt_deadline(FAST_TIMEOUT) == pytest.approx(3.6)
    assert attempt_deadline(httpx.Timeout(connect=5.0, read=None, write=10.0, pool=5.0)) is None


def test_a_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="deadline must be positive"):
        TexinClient(api_key=SecretStr("k"), deadline=0)
