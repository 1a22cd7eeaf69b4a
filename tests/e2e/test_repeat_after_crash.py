"""A /send whose update comes back after a crash is not sent again.

The bot runs as a real process (``python -m bot``). The fake Texin answers slowly, so the process can be killed
after Texin received the SMS and before the bot stored the outcome or answered. Telegram then delivers the same
update again (as it does when the bot died before confirming it): the restarted bot turns the row left in
``sending`` into ``unknown`` (start-up recovery) and ignores the repeated command, so the number gets one SMS.
"""

from __future__ import annotations

import signal
from pathlib import Path

from storage import MessageStatus, open_database
from tests.e2e.harness import ADMIN, process_environment, start_bot_process, stop_bot_process, wait_until
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

NUMBER = "254712345678"


def bot_environment(telegram: FakeTelegram, texin: TexinFakeServer, database: Path) -> dict[str, str]:
    return process_environment(
        telegram,
        database,
        texin,
        PROVIDER_TIMEOUT="20",
        BALANCE_CHECK_INTERVAL="0",
        DELIVERY_CHECK_INTERVAL="0",
        LOG_LEVEL="INFO",  # the ignored repeat is an INFO line
    )


async def test_send_redelivered_after_a_kill_is_not_sent_again(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer(latency=4.0) as texin:
        environment = bot_environment(telegram, texin, database)
        first = start_bot_process(environment, log)
        try:
            await telegram.wait_for_request("setMyCommands", timeout=30)
            message_id = telegram.send_text(ADMIN, "/send 0712345678 Power is back")
            await wait_until(lambda: texin.received.total() >= 1, 30, "Texin to receive the SMS")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        assert not any("Power is back" in m.text or "Sent" in m.text for m in telegram.messages(ADMIN))

        # Telegram did not see the confirmation: the same update, same id, for the next getUpdates at offset 0.
        telegram.redeliver(telegram.update_id_of(ADMIN, message_id=message_id))
        key = f"msg:{ADMIN}:{message_id}"
        mark = telegram.mark()
        second = start_bot_process(environment, log)
        try:
            notice = await telegram.wait_for_message(
                ADMIN, lambda m: "being sent when the bot stopped" in m.text, after=mark, timeout=30
            )
            assert "+254 712 345 678" in notice.text
            await wait_until(
                lambda: key in log.read_text(errors="replace") or texin.received.total() > 1,
                30,
                "the repeated /send to be ignored (or sent again)",
            )
            await wait_until(lambda: telegram.pending_updates() == [], 10, "the repeat to be confirmed")
        finally:
            stop_bot_process(second)

    assert texin.received[NUMBER] == 1
    async with await open_database(database) as db:
        [row] = await db.messages.list_for_chat(ADMIN)
        assert await db.spend_requests.seen(key)
    assert row.status is MessageStatus.UNKNOWN and row.recipient == NUMBER
    answers = [m for m in telegram.messages(ADMIN) if m.seq > mark and m.message_id != notice.message_id]
    assert answers == [], [m.text for m in answers]
    output = log.read_text(errors="replace")
    assert f"ignored a repeated delivery of update {key}" in output
    assert "Traceback" not in output, output[-3000:]
    assert texin.api_key not in output and telegram.token not in output
