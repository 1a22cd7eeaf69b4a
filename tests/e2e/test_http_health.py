"""``/healthz`` of a real ``python -m bot`` process: healthy, then Telegram gone longer than HEALTH_STALE_SECONDS
(503 naming Telegram), then back (200)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import process_environment, start_bot_process, stop_bot_process
from tests.e2e.http_process import free_port, wait_for_answer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer


async def test_healthz_follows_telegram_reachability_and_shows_no_secrets(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = process_environment(
            telegram,
            tmp_path / "smsrelay.db",
            texin,
            HTTP_PORT=str(port),
            HEALTH_STALE_SECONDS="3",
            BALANCE_CHECK_INTERVAL="0",
            DELIVERY_CHECK_INTERVAL="0",
        )
        process = start_bot_process(environment, tmp_path / "bot.log")
        try:
            healthy = await wait_for_answer(url, lambda a: a.status_code == 200, 30, "a healthy bot")
            assert healthy.json()["database"] == "ok" and healthy.json()["telegram"] == "ok"
            # An idle bot hears from Telegram only when a long poll ends: polls must be shorter than the limit.
            await telegram.wait_for_request("getUpdates", timeout=30)  # healthy can come before the first poll
            polls = [r.params.get("timeout") for r in telegram.requests() if r.method == "getUpdates"]
            assert polls and all(isinstance(t, int) and t <= 1 for t in polls), polls
            with telegram.outage():
                down = await wait_for_answer(url, lambda a: a.status_code == 503, 30, "503 while Telegram is down")
                body = down.json()
                assert body["status"] == "unhealthy" and body["database"] == "ok"
                assert "not reached" in body["telegram"]
                assert telegram.token.split(":")[1] not in down.text and texin.api_key not in down.text
            await wait_for_answer(url, lambda a: a.status_code == 200, 30, "healthy again after Telegram came back")
        finally:
            stop_bot_process(process)
        assert process.returncode == 0
