"""Provider failover in a real ``python -m bot`` process (issue 26): Texin refusing the key or not listening hands
the SMS to 254sms, and the record says so; Texin taking the request and answering too late hands nothing over.

The fakes run in this test; the bot reaches them over loopback HTTP like real providers. The record is read from
the bot's own database file once the process has stopped.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import httpx

from tests.e2e.harness import ADMIN, process_environment, start_bot_process, stop_bot_process
from tests.e2e.http_process import free_port, wait_for_answer
from tests.e2e.test_http_process import critical_alert
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

TOKEN = "failover-alert-token-0123456789"
ON_CALL = "254712000111"
CUSTOMER = "254712345678"


def environment(
    telegram: FakeTelegram, database: Path, texin: TexinFakeServer, sms254: Sms254FakeServer, **variables: str
) -> dict[str, str]:
    """Both real providers, Texin the default; quick provider calls and no periodic checks."""
    return process_environment(
        telegram,
        database,
        texin,
        SMS254_USERNAME=sms254.username,
        SMS254_API_KEY=sms254.api_key,
        SMS254_SEND_URL=sms254.send_url,
        SMS254_CREDITS_URL=sms254.credits_url,
        PROVIDER_TIMEOUT="1",
        BALANCE_CHECK_INTERVAL="0",
        DELIVERY_CHECK_INTERVAL="0",
        **variables,
    )


def stored_messages(database: Path) -> list[tuple[str, str, str | None, str | None]]:
    """(provider, status, failover_from, failover_reason) of every message row, oldest first."""
    with closing(sqlite3.connect(database)) as conn:
        rows = conn.execute("SELECT provider, status, failover_from, failover_reason FROM messages ORDER BY id")
        return [(str(p), str(s), f, r) for p, s, f, r in rows]


def assert_clean_exit(process_log: Path, returncode: int | None) -> None:
    assert returncode == 0
    output = process_log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]


async def test_an_alert_sms_goes_through_254sms_when_texin_refuses_the_key(tmp_path: Path) -> None:
    """Default PROVIDER_FAILOVER (alerts): Texin answers 401, the critical alert's SMS goes out through 254sms."""
    port = free_port()
    database, log = tmp_path / "smsrelay.db", tmp_path / "bot.log"
    with (
        FakeTelegram() as telegram,
        TexinFakeServer(api_key="the-key-texin-knows") as texin,
        Sms254FakeServer() as sms254,
    ):
        variables = {"HTTP_PORT": str(port), "ALERT_WEBHOOK_TOKEN": TOKEN, "ALERT_SMS_NUMBERS": "0712000111"}
        env = environment(telegram, database, texin, sms254, **variables)
        env["TEXIN_API_KEY"] = "a-key-texin-does-not-know"
        process = start_bot_process(env, log)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_for_answer(f"{base}/healthz", lambda a: a.status_code == 200, 30, "the HTTP side")
            async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as client:
                answer = await client.post(
                    "/alerts/alertmanager", json=critical_alert(), headers={"Authorization": f"Bearer {TOKEN}"}
                )
            assert answer.status_code == 200, answer.text
            assert answer.json()["sms"] == 1
            told = await telegram.wait_for_message(ADMIN, lambda m: "handed to 254sms" in m.text, timeout=30)
            assert "Texin refused" in told.text and "HTTP 401" in told.text and "Through 254sms: sent" in told.text
        finally:
            stop_bot_process(process)
    assert_clean_exit(log, process.returncode)
    assert sms254.received[ON_CALL] == 1
    assert texin.received.total() == 0 and len(texin.requests_to("/api/send_sms")) == 1
    [(provider, status, failover_from, reason)] = stored_messages(database)
    assert (provider, status, failover_from) == ("sms254", "sent", "texin")
    assert reason is not None and "Texin refused the API key (HTTP 401)" in reason


async def test_a_send_goes_through_254sms_when_nothing_listens_on_texins_port(tmp_path: Path) -> None:
    """PROVIDER_FAILOVER=all: Texin's port is closed, /send is answered "Sent via 254sms" with the reason."""
    database, log = tmp_path / "smsrelay.db", tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer() as texin, Sms254FakeServer() as sms254:
        env = environment(telegram, database, texin, sms254, PROVIDER_FAILOVER="all")
        env["TEXIN_BASE_URL"] = f"http://127.0.0.1:{free_port()}/api/"  # nobody listens there
        process = start_bot_process(env, log)
        try:
            await telegram.wait_for_request("setMyCommands", timeout=30)
            telegram.send_text(ADMIN, "/send 0712345678 Water back on at 6pm")
            reply = await telegram.wait_for_message(ADMIN, lambda m: "Sent" in m.text, timeout=30)
        finally:
            stop_bot_process(process)
    assert_clean_exit(log, process.returncode)
    assert reply.text.startswith("✅ Sent to +254 712 345 678 via 254sms\n")
    assert "↪️ Via 254sms because Texin refused before sending: Could not reach Texin (connection failed)" in reply.text
    assert sms254.received[CUSTOMER] == 1 and texin.requests == []
    [(provider, status, failover_from, reason)] = stored_messages(database)
    assert (provider, status, failover_from) == ("sms254", "sent", "texin")
    assert reason is not None and "connection failed" in reason


async def test_a_texin_answer_that_comes_too_late_is_unknown_and_never_handed_over(tmp_path: Path) -> None:
    """Texin takes the request and answers after PROVIDER_TIMEOUT: it may have sent, so 254sms gets nothing."""
    database, log = tmp_path / "smsrelay.db", tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer(hold_seconds=4) as texin, Sms254FakeServer() as sms254:
        env = environment(telegram, database, texin, sms254, PROVIDER_FAILOVER="all")
        process = start_bot_process(env, log)
        try:
            await telegram.wait_for_request("setMyCommands", timeout=30)
            texin.fail_next("timeout")
            telegram.send_text(ADMIN, "/send 0712345678 Water back on at 6pm")
            reply = await telegram.wait_for_message(ADMIN, lambda m: "Not confirmed" in m.text, timeout=30)
        finally:
            stop_bot_process(process)
    assert_clean_exit(log, process.returncode)
    assert "via Texin" in reply.text and "254sms" not in reply.text
    assert texin.received[CUSTOMER] == 1  # the fake did the work; its answer came too late
    assert sms254.requests == []
    assert stored_messages(database) == [("texin", "unknown", None, None)]
