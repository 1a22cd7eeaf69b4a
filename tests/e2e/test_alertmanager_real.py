"""A real Alertmanager (Debian's package) and a real ``python -m bot`` both ways: Alertmanager notifies the bot's
webhook receiver (its own bearer token), and the post's Silence and Expire buttons make and end silences on
Alertmanager's API (basic auth in ALERTMANAGER_URL, never shown). The resolve edits the post; a re-fire is new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.alertmanager_server import Alertmanager
from tests.e2e.harness import ADMIN, button_data, process_environment, start_bot_process, stop_bot_process
from tests.e2e.http_process import free_port, wait_for_answer
from tests.fakes.telegram_server import FakeTelegram

TOKEN = "alertmanager-token-0123"
PASSWORD = "am-pass-4711"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_alertmanager_alerts_are_posted_silenced_expired_and_resolved_from_the_chat(
    tmp_path: Path, alertmanager_binary: Path
) -> None:
    port = free_port()
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram:
        receiver = f"http://127.0.0.1:{port}/alerts/alertmanager"
        with Alertmanager(alertmanager_binary, receiver, TOKEN) as alertmanager:
            environment = process_environment(
                telegram, tmp_path / "smsrelay.db", SMS_SIMULATOR="true", HTTP_PORT=str(port),
                ALERT_WEBHOOK_TOKEN=TOKEN, BALANCE_CHECK_INTERVAL="0", DELIVERY_CHECK_INTERVAL="0",
                ALERTMANAGER_URL=alertmanager.url.replace("http://", f"http://oncall:{PASSWORD}@"),
            )  # fmt: skip
            bot = start_bot_process(environment, log)
            try:
                await wait_for_answer(f"http://127.0.0.1:{port}/readyz", lambda a: a.status_code == 200, 30, "ready")
                started = datetime.now(UTC) - timedelta(minutes=3)
                labels = {"alertname": "DiskFull", "instance": "db1:9100", "severity": "warning"}
                alert = {
                    "labels": labels,
                    "annotations": {"summary": "Disk / is 97% full"},
                    "startsAt": rfc3339(started),
                }
                alertmanager.post_alerts([alert])
                post = await telegram.wait_for_message(
                    ADMIN, lambda m: "DiskFull" in m.text and "FIRING" in m.text, timeout=30
                )
                assert "db1:9100" in post.text and "Disk / is 97% full" in post.text

                # 🔕 Silence 1h: one isEqual matcher per label, createdBy the person, the chat in the comment.
                pressed_at = datetime.now(UTC)
                telegram.press_button(ADMIN, post.message_id, button_data(post, "Silence 1h"), user_id=ADMIN)
                silenced = await telegram.wait_for_message(
                    ADMIN, lambda m: m.message_id == post.message_id and "Silenced by" in m.text, timeout=30
                )
                [silence] = alertmanager.silences()
                assert silence["status"]["state"] == "active"
                assert sorted((m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in silence["matchers"]) == [
                    (name, value, True, False) for name, value in sorted(labels.items())
                ]
                assert silence["createdBy"].startswith("Test") and str(ADMIN) in silence["comment"]
                ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
                assert timedelta(minutes=59) < ends - pressed_at < timedelta(minutes=61)
                assert silence["id"] in silenced.text and "Expire silence" in str(silenced.reply_markup)

                # 🔔 Expire silence: the silence ends on Alertmanager, the Silence buttons come back.
                telegram.press_button(ADMIN, post.message_id, button_data(silenced, "Expire"), user_id=ADMIN)
                await telegram.wait_for_message(
                    ADMIN,
                    lambda m: m.message_id == post.message_id and "Silence 4h" in str(m.reply_markup),
                    after=silenced.seq,
                    timeout=30,
                )
                assert [s["status"]["state"] for s in alertmanager.silences()] == ["expired"]

                # Resolved through Alertmanager: the same post says so; nothing new is posted.
                alertmanager.post_alerts([alert | {"endsAt": rfc3339(datetime.now(UTC))}])
                resolved = await telegram.wait_for_message(
                    ADMIN, lambda m: m.message_id == post.message_id and "Resolved at" in m.text, timeout=30
                )
                assert "RESOLVED" in resolved.text and "lasted" in resolved.text
                assert [m.message_id for m in telegram.messages(ADMIN) if "DiskFull" in m.text] == [post.message_id]

                # It fires again (a new start): a new post.
                alertmanager.post_alerts([alert | {"startsAt": rfc3339(datetime.now(UTC))}])
                refired = await telegram.wait_for_message(
                    ADMIN, lambda m: m.message_id != post.message_id and "DiskFull" in m.text, timeout=30
                )
                assert "FIRING" in refired.text
            finally:
                stop_bot_process(bot)
    assert bot.returncode == 0
    written = log.read_text(errors="replace")
    assert "Traceback" not in written and PASSWORD not in written
