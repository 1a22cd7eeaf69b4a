"""A real Alertmanager (Debian's package) notifying a real ``python -m bot`` through its webhook receiver: the
firing alert and its resolve reach the admins, with Alertmanager's own bearer token. The ground for the on-call
buttons: silences can be made and read back on this server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.alertmanager_server import Alertmanager
from tests.e2e.harness import ADMIN, process_environment, start_bot_process, stop_bot_process
from tests.e2e.http_process import free_port, wait_for_answer
from tests.fakes.telegram_server import FakeTelegram

TOKEN = "alertmanager-token-0123"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_alertmanager_notifies_the_bot_of_a_firing_alert_and_its_resolve(
    tmp_path: Path, alertmanager_binary: Path
) -> None:
    port = free_port()
    with FakeTelegram() as telegram:
        environment = process_environment(
            telegram, tmp_path / "smsrelay.db", SMS_SIMULATOR="true", HTTP_PORT=str(port),
            ALERT_WEBHOOK_TOKEN=TOKEN, BALANCE_CHECK_INTERVAL="0", DELIVERY_CHECK_INTERVAL="0",
        )  # fmt: skip
        bot = start_bot_process(environment, tmp_path / "bot.log")
        try:
            await wait_for_answer(f"http://127.0.0.1:{port}/readyz", lambda a: a.status_code == 200, 30, "ready")
            receiver = f"http://127.0.0.1:{port}/alerts/alertmanager"
            with Alertmanager(alertmanager_binary, receiver, TOKEN) as alertmanager:
                started = datetime.now(UTC) - timedelta(minutes=3)
                alert = {
                    "labels": {"alertname": "DiskFull", "instance": "db1:9100", "severity": "warning"},
                    "annotations": {"summary": "Disk / is 97% full"},
                    "startsAt": rfc3339(started),
                }
                mark = telegram.mark()
                alertmanager.post_alerts([alert])
                firing = await telegram.wait_for_message(
                    ADMIN, lambda m: "DiskFull" in m.text and "FIRING" in m.text, after=mark, timeout=30
                )
                assert "db1:9100" in firing.text and "Disk / is 97% full" in firing.text

                alertmanager.post_alerts([alert | {"endsAt": rfc3339(datetime.now(UTC))}])
                await telegram.wait_for_message(
                    ADMIN, lambda m: "DiskFull" in m.text and "RESOLVED" in m.text, after=firing.seq, timeout=30
                )

                silence = {
                    "matchers": [{"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}],
                    "startsAt": rfc3339(datetime.now(UTC)),
                    "endsAt": rfc3339(datetime.now(UTC) + timedelta(hours=1)),
                    "createdBy": "test",
                    "comment": "the ground for the Silence button",
                }
                async with httpx.AsyncClient(timeout=5) as client:
                    made = await client.post(f"{alertmanager.url}/api/v2/silences", json=silence)
                assert made.status_code == 200, made.text
                silence_id = made.json()["silenceID"]
                states = {s["id"]: s["status"]["state"] for s in alertmanager.silences()}
                assert states[silence_id] == "active"
        finally:
            stop_bot_process(bot)
    assert bot.returncode == 0
    assert "Traceback" not in (tmp_path / "bot.log").read_text(errors="replace")
