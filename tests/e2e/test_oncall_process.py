"""On call with real processes: an unacknowledged critical alert is texted after its step, exactly once across a
restart before the step and a SIGKILL while the step's SMS is at the provider; an acknowledged one never is."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.harness import (
    ADMIN,
    button_data,
    process_environment,
    start_bot_process,
    stop_bot_process,
    wait_until,
)
from tests.e2e.http_process import free_port, wait_for_answer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer

TOKEN = "oncall-process-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MANAGER = "254712000301"
STEP_SECONDS = 8  # long enough to post, press and stop before it on a loaded machine


def critical(name: str) -> dict[str, Any]:
    alert = {
        "status": "firing",
        "labels": {"alertname": name, "severity": "CRITICAL", "instance": "web1:443"},
        "annotations": {"summary": f"{name} answers no probe"},
        "startsAt": "2026-11-28T09:15:00.5Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": f"fp-{name}",
    }
    return {"version": "4", "status": "firing", "receiver": "smsrelay", "groupKey": name, "alerts": [alert]}


def texts_about(texin: TexinFakeServer, name: str) -> list[str]:
    bodies = [r.body for r in texin.requests_to("/api/send_sms") if isinstance(r.body, dict)]
    return [str(b["message"]) for b in bodies if b.get("recipient") == MANAGER and name in str(b.get("message"))]


async def post_alert(port: int, name: str, telegram: FakeTelegram) -> SentMessage:
    mark = telegram.mark()
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        answer = await client.post(f"http://127.0.0.1:{port}/alerts/alertmanager", json=critical(name), headers=AUTH)
    assert answer.status_code == 200, answer.text
    return await telegram.wait_for_message(ADMIN, lambda m: name in m.text, after=mark, timeout=30)


async def test_an_unacknowledged_critical_alert_is_texted_once_across_a_restart_and_a_kill_mid_step(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer(hold_seconds=60) as texin:
        environment = process_environment(
            telegram,
            tmp_path / "smsrelay.db",
            texin,
            HTTP_PORT=str(port),
            ALERT_WEBHOOK_TOKEN=TOKEN,
            ALERT_ESCALATION=f"{STEP_SECONDS}s:0712000301",
            ALERT_SMS_NUMBERS="0712000999",  # replaced by the steps for the alerts they cover
            PROVIDER_TIMEOUT="30",
            BALANCE_CHECK_INTERVAL="0",
            DELIVERY_CHECK_INTERVAL="0",
        )
        ready = f"http://127.0.0.1:{port}/readyz"
        bot = start_bot_process(environment, log)
        try:
            await wait_for_answer(ready, lambda a: a.status_code == 200, 30, "the first start")
            unacked = await post_alert(port, "Unacked", telegram)
            acked = await post_alert(port, "Acked", telegram)
            assert "⏱ Texts +254 712 000 301 at" in unacked.text
            mark = telegram.mark()
            telegram.press_button(ADMIN, acked.message_id, button_data(acked, "Ack"), user_id=ADMIN)
            await telegram.wait_for_message(ADMIN, lambda m: "Acknowledged by" in m.text, after=mark, timeout=30)
            stop_bot_process(bot)  # before the step is due: the restart must not lose it
            assert texin.received[MANAGER] == 0

            # The step comes due while the bot is down; at start-up it goes out, and its SMS is held at Texin
            # (sent, no answer yet) when the bot is killed: the worst moment, between the SMS and its record.
            texin.fail_next("timeout")
            bot = start_bot_process(environment, log)
            await wait_until(lambda: texin.received[MANAGER] == 1, 60, "the step's SMS at Texin")
            os.kill(bot.pid, signal.SIGKILL)
            bot.wait(timeout=10)

            bot = start_bot_process(environment, log)
            await wait_for_answer(ready, lambda a: a.status_code == 200, 30, "the third start")
            await post_alert(port, "Witness", telegram)  # a later alert: once it is texted, rounds have run
            await wait_until(lambda: len(texts_about(texin, "Witness")) == 1, 60, "the witness's step")
            # The post made before both restarts is the one edited (the incident and its posts live in the database).
            await telegram.wait_for_message(
                ADMIN,
                lambda m: m.message_id == unacked.message_id and "📟 Texted: +254 712 000 301" in m.text,
                timeout=30,
            )
            # Its resolve: the one it paged (while the bot was killed) hears the all-clear, once.
            resolved = critical("Unacked")
            resolved["alerts"][0]["status"] = "resolved"
            async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
                for _ in range(2):  # Alertmanager repeating the resolve
                    answer = await client.post(
                        f"http://127.0.0.1:{port}/alerts/alertmanager", json=resolved, headers=AUTH
                    )
                    assert answer.status_code == 200
            await wait_until(lambda: len(texts_about(texin, "[RESOLVED] Unacked")) == 1, 30, "the all-clear")
            await post_alert(port, "Second", telegram)  # once it is texted, later rounds have run too
            await wait_until(lambda: len(texts_about(texin, "Second")) == 1, 60, "the second witness")
        finally:
            stop_bot_process(bot)
        assert texts_about(texin, "Unacked") == [
            "[FIRING] Unacked - web1:443 - Unacked answers no probe",
            "[RESOLVED] Unacked - web1:443 - Unacked answers no probe",
        ]
        assert texts_about(texin, "Acked") == []
        assert texin.received["254712000999"] == 0
    assert "Traceback" not in log.read_text(errors="replace")
