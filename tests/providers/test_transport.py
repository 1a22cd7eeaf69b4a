"""Timeouts, retries and unusable answers over real sockets: a send that may have left is never repeated."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from pydantic import SecretStr

from bot.providers.errors import (
    AuthenticationError,
    BadRequestError,
    OutcomeUnknownError,
    ProviderError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    ProviderUnreachableError,
)
from bot.providers.http import RetryPolicy
from bot.providers.sms254 import Sms254Client
from bot.providers.texin import TexinClient
from bot.providers.types import DeliveryState
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.texin_server import TexinFakeServer
from tests.providers.support import FAST_RETRY, FAST_TIMEOUT, READ_TIMEOUT, closed_port, silent_port

A, B = "254712345678", "254733000001"


def _shown(error: BaseException) -> str:
    """Everything of an error that could end up in a chat or a log line."""
    return " ".join([str(error), repr(error), *map(str, error.args)])


@pytest.mark.parametrize("recipients", [[A], [A, B]])
async def test_read_timeout_after_send_is_outcome_unknown_and_sent_exactly_once(
    texin_server: TexinFakeServer, texin_client: TexinClient, recipients: list[str]
) -> None:
    texin_server.fail_next("timeout")
    started = time.monotonic()

    with pytest.raises(OutcomeUnknownError) as caught:
        await texin_client.send(recipients, "hi")

    assert time.monotonic() - started < READ_TIMEOUT + 0.5  # the client did not wait for the held answer
    assert f"did not answer within {READ_TIMEOUT:g} s" in str(caught.value)
    assert "may or may not have been sent — check /status before resending" in str(caught.value)
    assert len(texin_server.requests) == 1
    assert texin_server.received == dict.fromkeys(recipients, 1)


async def test_254sms_read_timeout_after_send_is_outcome_unknown_and_sent_exactly_once(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    sms254_server.fail_next("timeout")

    with pytest.raises(OutcomeUnknownError, match="254sms dashboard"):
        await sms254_client.send([A, B], "hi")

    assert len(sms254_server.requests) == 1
    assert sms254_server.received == {A: 1, B: 1}


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("drop", "closed the connection without a usable answer"),
        ("html200", "answered HTTP 200 with something other than its API"),
        ("garbage", "answered HTTP 200 with something other than its API"),
        ("http504", "timed out behind its gateway (HTTP 504)"),
    ],
)
async def test_send_without_a_usable_answer_is_outcome_unknown_and_not_repeated(
    texin_server: TexinFakeServer, texin_client: TexinClient, fault: str, words: str
) -> None:
    texin_server.fail_next(fault)

    with pytest.raises(OutcomeUnknownError) as caught:
        await texin_client.send([A], "hi")

    assert words in str(caught.value)
    assert "<" not in str(caught.value)
    assert len(texin_server.requests) == 1


async def test_send_answer_of_json_that_is_not_the_api_is_outcome_unknown(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.reply_next(200, {"status": "ok"})
    with pytest.raises(OutcomeUnknownError, match="without saying whether it worked"):
        await texin_client.send([A], "hi")

    texin_server.reply_next(200, [1, 2, 3])
    with pytest.raises(OutcomeUnknownError):
        await texin_client.send([A], "hi")


@pytest.mark.parametrize("fault", ["http500", "http503"])
async def test_provider_error_or_503_on_send_is_unavailable_and_not_repeated(
    texin_server: TexinFakeServer, texin_client: TexinClient, fault: str
) -> None:
    texin_server.fail_next(fault)

    with pytest.raises(ProviderUnavailableError) as caught:
        await texin_client.send([A, B], "hi")

    assert type(caught.value) is ProviderUnavailableError
    assert len(texin_server.requests) == 1
    assert texin_server.received == {}


async def test_slow_answer_within_the_timeout_is_a_normal_answer(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.fail_next("slow")

    result = await texin_client.send([A], "hi")

    assert len(result.accepted) == 1
    assert texin_server.received == {A: 1}


async def test_refused_connection_on_send_is_retried_then_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.providers.http")
    async with TexinClient(
        api_key=SecretStr("k"),
        base_url=f"http://127.0.0.1:{closed_port()}/api/",
        timeout=FAST_TIMEOUT,
        retry=FAST_RETRY,
    ) as client:
        with pytest.raises(ProviderUnavailableError) as caught:
            await client.send([A], "hi")

    assert type(caught.value) is ProviderUnreachableError  # provider failover may act on it: nothing left
    assert str(caught.value) == "Could not reach Texin (connection failed); nothing was sent. Tried 3 times."
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == FAST_RETRY.attempts - 1


async def test_connect_timeout_on_send_is_unreachable_and_nothing_was_sent() -> None:
    with silent_port() as port:
        async with Sms254Client(
            username="someuser",
            api_key=SecretStr("some-key"),
            send_url=f"http://127.0.0.1:{port}/version1/sendsms",
            timeout=httpx.Timeout(connect=0.2, read=1.0, write=1.0, pool=1.0),
            retry=RetryPolicy(attempts=1),
        ) as client:
            with pytest.raises(ProviderUnreachableError) as caught:
                await client.send([A], "hi")

    assert str(caught.value) == "Could not reach 254sms within 0.2 s; nothing was sent."


async def test_refused_connection_on_254sms_credits_is_retried_then_unavailable() -> None:
    async with Sms254Client(
        username="someuser",
        api_key=SecretStr("some-key"),
        send_url=f"http://127.0.0.1:{closed_port()}/version1/sendsms",
        credits_url=f"http://127.0.0.1:{closed_port()}/version1/credits",
        timeout=FAST_TIMEOUT,
        retry=RetryPolicy(attempts=2, base_delay=0.01, jitter=0),
    ) as client:
        with pytest.raises(ProviderUnavailableError, match=r"Could not reach 254sms .*Tried 2 times"):
            await client.balance()


async def test_balance_is_retried_after_one_server_error_then_succeeds(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.fail_next("http500")

    balance = await texin_client.balance()

    assert balance.credits == texin_server.credits
    assert len(texin_server.requests_to("/api/get_balance")) == 2


@pytest.mark.parametrize("fault", ["html", "html200", "garbage", "drop", "cloudflare524", "php500"])
async def test_balance_gives_up_after_repeated_unusable_answers(
    texin_server: TexinFakeServer, texin_client: TexinClient, fault: str
) -> None:
    texin_server.fail_next(fault, count=FAST_RETRY.attempts)

    with pytest.raises(ProviderUnavailableError) as caught:
        await texin_client.balance()

    assert f"Tried {FAST_RETRY.attempts} times" in str(caught.value)
    assert "<" not in str(caught.value)
    assert len(texin_server.requests) == FAST_RETRY.attempts


async def test_status_timeout_is_retried_and_the_second_answer_is_used(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    sent = await texin_client.send([A], "hi")
    message_id = sent.outcomes[0].provider_message_id
    assert message_id is not None
    texin_server.fail_next("timeout")

    status = await texin_client.status(message_id)

    assert status.state is DeliveryState.SENT
    assert len(texin_server.requests_to("/api/check_status")) == 2


async def test_status_timeouts_on_every_attempt_end_as_provider_timeout(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.fail_next("timeout", count=FAST_RETRY.attempts)

    with pytest.raises(ProviderTimeoutError) as caught:
        await texin_client.check_status("API-1")

    assert str(caught.value) == f"Texin did not answer within {READ_TIMEOUT:g} s. Tried 3 times."
    assert len(texin_server.requests_to("/api/check_status")) == FAST_RETRY.attempts


async def test_refusals_on_safe_calls_are_not_retried(texin_server: TexinFakeServer, texin_client: TexinClient) -> None:
    texin_server.fail_next("forbidden")

    with pytest.raises(ProviderRejectedError):
        await texin_client.balance()

    assert len(texin_server.requests) == 1


async def test_texin_key_echoed_by_the_provider_never_reaches_an_error(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.fail_next("echo_key", count=2)

    with pytest.raises(AuthenticationError) as on_send:
        await texin_client.send([A], "hi")
    with pytest.raises(AuthenticationError) as on_balance:
        await texin_client.balance()

    for caught in (on_send, on_balance):
        assert "Invalid API key '***'" in str(caught.value)
        assert texin_server.api_key not in _shown(caught.value)
        assert "Check the Texin API key" in str(caught.value)


async def test_254sms_key_and_username_echoed_by_the_provider_never_reach_an_error(
    sms254_server: Sms254FakeServer, sms254_client: Sms254Client
) -> None:
    secrets = (sms254_server.api_key, sms254_server.username)
    sms254_server.fail_next("echo_key")
    with pytest.raises(AuthenticationError) as x001:
        await sms254_client.send([A], "hi")
    sms254_server.reply_next(
        200, {"statusCode": 100, "statusMessage": f"Bad call by {secrets[1]} using key {secrets[0]}"}
    )
    with pytest.raises(ProviderRejectedError) as rejected:
        await sms254_client.send([A], "hi")
    sms254_server.reply_next(400, {"statusCode": 400, "statusMessage": f"{secrets[0]} is malformed"})
    with pytest.raises(BadRequestError) as bad:
        await sms254_client.balance()

    assert "Bad call by *** using key ***" in str(rejected.value)
    assert "*** is malformed" in str(bad.value)
    for caught in (x001, rejected, bad):
        for secret in secrets:
            assert secret not in _shown(caught.value)


async def test_long_provider_text_is_shortened_for_a_chat(
    texin_server: TexinFakeServer, texin_client: TexinClient
) -> None:
    texin_server.reply_next(400, {"success": False, "error": "word " * 400})

    with pytest.raises(BadRequestError) as caught:
        await texin_client.send([A], "hi")

    assert "…" in str(caught.value)
    assert len(str(caught.value)) < 300


async def test_connections_are_reused_between_calls(texin_server: TexinFakeServer, texin_client: TexinClient) -> None:
    for _ in range(3):
        await texin_client.balance()

    # One keep-alive connection serves all three calls: the fake saw them come from the same client port.
    assert len(texin_server.requests) == 3
    assert len({r.client_port for r in texin_server.requests}) == 1


async def test_errors_name_their_provider(
    texin_server: TexinFakeServer,
    texin_client: TexinClient,
    sms254_server: Sms254FakeServer,
    sms254_client: Sms254Client,
) -> None:
    texin_server.fail_next("http500")
    sms254_server.fail_next("http500")
    errors: list[ProviderError] = []
    for client in (texin_client, sms254_client):
        with pytest.raises(ProviderError) as caught:
            await client.send([A], "hi")
        errors.append(caught.value)

    assert [e.provider for e in errors] == ["texin", "sms254"]
    assert [e.status_code for e in errors] == [500, 500]
    assert str(errors[0]).startswith("Texin")
    assert str(errors[1]).startswith("254sms")
