"""``/metrics`` and the alert intake of a real ``python -m bot`` process, over loopback HTTP (issue 12: each
endpoint is tested against the running bot process; /healthz and the webhook have their own process tests).

One process serves every check, in order: a /send through the fake Bot API then a scrape; an Alertmanager
notification (critical, so also an SMS to ALERT_SMS_NUMBERS), the same one again, a wrong token, a malformed body,
a too big one; a notification written exactly as Alertmanager writes it; the plain form. BOT_TIMEZONE is not the
default, so the start time shown proves the setting reaches the message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import ADMIN, process_environment, start_bot_process, stop_bot_process
from tests.e2e.http_process import ALERTMANAGER_BODY, free_port, wait_for_answer
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

TOKEN = "process-alert-token-0123456789"
ON_CALL = "254712000111"
CUSTOMER = "254712345678"


def samples(text: str, name: str, **labels: str) -> list[float]:
    """Values of every sample called ``name`` whose labels include ``labels``."""
    return [
        float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    ]


def critical_alert() -> dict[str, Any]:
    alert = {
        "status": "firing",
        "labels": {"alertname": "SiteDown", "severity": "critical", "instance": "web1:443", "job": "blackbox"},
        "annotations": {"summary": "web1 answers no probe"},
        "startsAt": "2026-11-28T09:15:00.5Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=probe_success+%3D%3D+0",
        "fingerprint": "8f1c2a9e0d3b4c51",
    }
    return {
        "receiver": "smsrelay",
        "status": "firing",
        "alerts": [alert],
        "groupLabels": {"alertname": "SiteDown"},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="SiteDown"}',
        "truncatedAlerts": 0,
    }


async def test_metrics_and_alert_intake_of_the_running_process(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = process_environment(
            telegram,
            tmp_path / "smsrelay.db",
            texin,
            HTTP_PORT=str(port),
            ALERT_WEBHOOK_TOKEN=TOKEN,
            ALERT_SMS_NUMBERS="0712000111",
            BOT_TIMEZONE="Asia/Kolkata",  # UTC+05:30: 09:15 UTC shows as 14:45 IST
            BALANCE_CHECK_INTERVAL="0",
            DELIVERY_CHECK_INTERVAL="0",
        )
        process = start_bot_process(environment, log)
        try:
            await wait_for_answer(f"{base}/healthz", lambda a: a.status_code == 200, 30, "the HTTP side")
            await telegram.wait_for_request("setMyCommands", timeout=30)
            async with httpx.AsyncClient(base_url=base, timeout=10, trust_env=False) as client:
                # /metrics after one real /send.
                telegram.send_text(ADMIN, "/send 0712345678 Server back up")
                await telegram.wait_for_message(ADMIN, lambda m: "Sent" in m.text, timeout=30)
                scrape = await client.get("/metrics")
                assert scrape.status_code == 200
                assert samples(scrape.text, "smsrelay_sms_sent_total", provider="texin") == [1]
                latency = dict(provider="texin", endpoint="send")
                assert samples(scrape.text, "smsrelay_provider_request_seconds_count", **latency) == [1]
                assert samples(scrape.text, "smsrelay_provider_request_seconds_bucket", le="+Inf", **latency) == [1]
                assert samples(scrape.text, "smsrelay_provider_request_seconds_sum", **latency)[0] > 0

                # Alertmanager: a critical firing alert reaches the admins, and ALERT_SMS_NUMBERS by SMS.
                bearer = {"Authorization": f"Bearer {TOKEN}"}
                mark = telegram.mark()
                answer = await client.post("/alerts/alertmanager", json=critical_alert(), headers=bearer)
                assert answer.status_code == 200, answer.text
                assert answer.json() == {"alerts": 1, "sms": 1, "left_out": 0}
                message = await telegram.wait_for_message(ADMIN, lambda m: "SiteDown" in m.text, after=mark)
                assert "FIRING" in message.text and "(critical)" in message.text
                assert "Instance: web1:443" in message.text and "web1 answers no probe" in message.text
                assert "Since 2026-11-28 14:45 IST" in message.text
                assert texin.received[ON_CALL] == 1
                [alert_sms] = [r.body for r in texin.requests_to("/api/send_sms") if ON_CALL in json.dumps(r.body)]
                assert "SiteDown" in alert_sms["message"] and "web1:443" in alert_sms["message"]

                # Alertmanager repeats the notification: folded, no second message, no second SMS.
                again = await client.post("/alerts/alertmanager", json=critical_alert(), headers=bearer)
                assert again.status_code == 200 and again.json()["sms"] == 0

                # Refusals: wrong token, malformed body (one line saying why); neither reaches anyone.
                wrong = await client.post(
                    "/alerts/alertmanager", json=critical_alert(), headers={"Authorization": "Bearer nope"}
                )
                assert wrong.status_code == 401
                malformed = await client.post(
                    "/alerts/alertmanager", content=b'{"version": "4", "alerts": {}}', headers=bearer
                )
                assert malformed.status_code == 400
                reason = malformed.json()["error"]
                assert "alerts" in reason and "\n" not in reason

                huge = await client.post("/alerts/alertmanager", content=b" " * 1_100_000, headers=bearer)
                assert huge.status_code == 413 and "max_alerts" in huge.json()["error"]

                # A notification exactly as Alertmanager writes it: both alerts shown, the two it left out counted.
                real = await client.post("/alerts/alertmanager", content=ALERTMANAGER_BODY, headers=bearer)
                assert real.status_code == 200, real.text
                assert real.json() == {"alerts": 2, "sms": 0, "left_out": 2}
                shown = await telegram.wait_for_message(ADMIN, lambda m: "db1:9100" in m.text, after=mark)
                assert (
                    "FIRING" in shown.text and "DiskFull" in shown.text and "Since 2026-11-28 14:45 IST" in shown.text
                )
                over = await telegram.wait_for_message(ADMIN, lambda m: "db2:9100" in m.text, after=mark)
                assert "RESOLVED" in over.text and "Since 2026-11-28 14:10 IST" in over.text
                notice = await telegram.wait_for_message(ADMIN, lambda m: "more alerts" in m.text, after=mark)
                assert "2 more alerts of group alertname=DiskFull" in notice.text

                # The plain form.
                plain = await client.post("/alerts/plain", json={"text": "Backup <failed> on nas1"}, headers=bearer)
                assert plain.status_code == 200
                await telegram.wait_for_message(ADMIN, lambda m: "Backup <failed> on nas1" in m.text, after=mark)

                final = (await client.get("/metrics")).text
            assert sum("SiteDown" in m.text for m in telegram.messages(ADMIN)) == 1
            assert texin.received[ON_CALL] == 1 and texin.received.total() == 2
            assert samples(final, "smsrelay_sms_sent_total", provider="texin") == [2]
            assert samples(final, "smsrelay_alerts_received_total", source="alertmanager") == [4]
            assert samples(final, "smsrelay_alerts_received_total", source="plain") == [1]
            for scraped in (scrape.text, final):
                for secret in ("712345678", "712000111", TOKEN, texin.api_key, telegram.token):
                    assert secret not in scraped
        finally:
            stop_bot_process(process)
    assert process.returncode == 0
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
    assert TOKEN not in output and texin.api_key not in output
