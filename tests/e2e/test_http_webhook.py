"""Webhook mode end to end, as processes: the fake Bot API POSTs updates to the bot's HTTP server like Telegram.

A /send typed by the admin arrives over the webhook (polling would get 409 Conflict while the webhook is set) and
goes out by SMS; requests without the right secret header get 403 and are counted; restarting in polling mode
removes the webhook (python-telegram-bot's polling start calls deleteWebhook) and /send works again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import (
    ADMIN,
    REPO,
    process_environment,
    start_bot,
    start_bot_process,
    stop_bot_process,
    wait_until,
)
from tests.e2e.http_process import free_port, wait_for_answer
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

SECRET = "hook_Secret-42"


def refused_count(metrics: str) -> float:
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "smsrelay_webhook_refused_total":
                return float(sample.value)
    raise AssertionError("smsrelay_webhook_refused_total missing")


async def test_send_over_webhook_then_back_to_polling(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database, log = tmp_path / "smsrelay.db", tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        common = {"BALANCE_CHECK_INTERVAL": "0", "DELIVERY_CHECK_INTERVAL": "0", "HTTP_PORT": str(port)}
        hooked = process_environment(
            telegram, database, texin, WEBHOOK_URL=f"{base}/tg/hook", WEBHOOK_SECRET=SECRET, **common
        )
        process = start_bot_process(hooked, log)
        try:
            # A request is recorded on arrival, before it is handled: wait for the webhook itself.
            await wait_until(lambda: telegram.webhook is not None, 30, "setWebhook")
            hook = telegram.webhook
            assert hook is not None and hook.url == f"{base}/tg/hook" and hook.secret_token == SECRET
            assert hook.allowed_updates == ["message", "callback_query"]
            await wait_for_answer(f"{base}/healthz", lambda a: a.status_code == 200, 30, "the server")

            mark = telegram.mark()
            telegram.send_text(ADMIN, "/send 0712345678 Webhook works")
            reply = await telegram.wait_for_message(ADMIN, lambda m: "Sent" in m.text, after=mark, timeout=30)
            assert texin.received["254712345678"] == 1, reply.text
            assert all(200 <= status < 300 for status in hook.answers)
            assert not [r for r in telegram.requests() if r.method == "getUpdates"]

            async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
                update = {
                    "update_id": 999,
                    "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
                }
                assert (await client.post("/tg/hook", json=update)).status_code == 403
                wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
                assert (await client.post("/tg/hook", json=update, headers=wrong)).status_code == 403
                assert refused_count((await client.get("/metrics")).text) == 2
                right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                assert (await client.post("/tg/hook", content=b"[]", headers=right)).status_code == 400
                assert (await client.post("/tg/hook", json={"message": {}}, headers=right)).status_code == 400
                # A string where Telegram puts an object: PTB raises AttributeError, still a 400, not a 500.
                odd = {"update_id": 1, "message": "x"}
                assert (await client.post("/tg/hook", json=odd, headers=right)).status_code == 400
        finally:
            stop_bot_process(process)
        assert telegram.webhook is not None  # stopping keeps it: Telegram holds updates for the restart

        polling = process_environment(telegram, database, texin, **common)
        process = start_bot_process(polling, log)
        try:
            await telegram.wait_for_request("deleteWebhook", timeout=30)
            await wait_until(lambda: telegram.webhook is None, 10, "the webhook to be removed")
            mark = telegram.mark()
            telegram.send_text(ADMIN, "/send 0712345679 Polling again")
            await telegram.wait_for_message(ADMIN, lambda m: "Sent" in m.text, after=mark, timeout=30)
            assert texin.received["254712345679"] == 1
        finally:
            stop_bot_process(process)
    output = log.read_text()
    assert "webhook registered" in output  # the log was written at INFO
    assert SECRET not in output and telegram.token.split(":")[1] not in output


def test_webhook_url_without_secret_is_a_readable_start_up_error(tmp_path: Path) -> None:
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = process_environment(
            telegram, tmp_path / "smsrelay.db", texin, WEBHOOK_URL="https://bot.example.com/tg", HTTP_PORT="8080"
        )
        done = subprocess.run(
            [sys.executable, "-m", "bot"], cwd=REPO, env=environment, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2
    assert "WEBHOOK_SECRET: required with WEBHOOK_URL" in done.stderr
    assert telegram.token not in done.stderr


async def test_update_arriving_while_the_bot_is_not_running_gets_503_so_telegram_retries(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> None:
    application, _ = await start_bot(
        telegram,
        texin,
        sms254,
        database_path,
        http_port=0,
        webhook_url="https://bot.example.com/tg",
        webhook_secret=SECRET,
    )
    await application.initialize()
    try:
        assert application.post_init is not None
        await application.post_init(application)  # services and HTTP server up, the Application not started
        web = application.bot_data.web
        assert web is not None
        update = {"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": ADMIN, "type": "private"}}}
        async with httpx.AsyncClient(trust_env=False) as client:
            answer = await client.post(
                f"http://127.0.0.1:{web.port}/tg", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
        assert answer.status_code == 503
        assert application.update_queue.empty()
    finally:
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)
