"""A bot started with ADMIN_CHAT_IDS empty, as a real ``python -m bot``: it logs a one-time code, ``/claim <code>``
from a chat makes that chat its admin, a wrong code is refused like a stranger, and a second claim does nothing."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from storage import Role, audit_actions, open_database
from tests.e2e.harness import process_environment, start_bot_process, stop_bot_process, wait_until
from tests.fakes.telegram_server import FakeTelegram
from tests.fakes.texin_server import TexinFakeServer

FIRST = 5005
OTHER = 6006
CODE_LINE = re.compile(r"No admin yet: send /claim (\S+) to the bot from the chat that should be its admin")


def text_of(log: Path) -> str:
    return log.read_text(errors="replace")


async def logged_code(log: Path, process: subprocess.Popen[bytes], *, after: int = 0) -> str:
    """The code of the ``after``-th start's "No admin yet" line, waiting for the process to write it."""
    for _ in range(1500):
        codes = CODE_LINE.findall(text_of(log))
        if len(codes) > after:
            return str(codes[after])
        assert process.poll() is None, text_of(log)
        await asyncio.sleep(0.02)
    raise AssertionError(f"no 'No admin yet' line in the log:\n{text_of(log)}")


def replies(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [sent.text for sent in telegram.messages(chat_id)]


async def answered(telegram: FakeTelegram, chat_id: int, count: int) -> str:
    await wait_until(lambda: len(replies(telegram, chat_id)) >= count, 20, f"answer {count} in chat {chat_id}")
    return replies(telegram, chat_id)[count - 1]


async def test_the_first_admin_claims_the_bot_with_the_code_from_its_log(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"
    log = tmp_path / "bot.log"
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = process_environment(telegram, database, texin, ADMIN_CHAT_IDS="")
        process = start_bot_process(environment, log)
        try:
            code = await logged_code(log, process)
            assert len(code) >= 8
            telegram.send_text(OTHER, "/start")
            text = await answered(telegram, OTHER, 1)
            assert "no admin yet" in text and "log" in text and "/claim" in text, text

            telegram.send_text(FIRST, "/claim wrongcode1")
            wrong = await answered(telegram, FIRST, 1)
            assert "not the code" in wrong, wrong

            telegram.send_text(FIRST, f"/claim {code}")
            granted = await answered(telegram, FIRST, 2)
            assert "now the bot's admin" in granted, granted

            telegram.send_text(8008, f"/claim {code}")  # the code is dead: a stranger's refusal, no role
            assert "Ask an admin to run" in await answered(telegram, 8008, 1)

            telegram.send_text(FIRST, f"/allow {OTHER} sender")
            allowed = await answered(telegram, FIRST, 3)
            assert str(OTHER) in allowed and "sender" in allowed, allowed

            telegram.send_text(FIRST, "/chats")
            listed = await answered(telegram, FIRST, 4)
            assert f"{FIRST}: admin, added by {FIRST}," in listed, listed
        finally:
            stop_bot_process(process)
        assert text_of(log).count("No admin yet") == 1
        async with await open_database(database) as db:
            assert await db.chats.role(FIRST) is Role.ADMIN
            assert await db.chats.role(OTHER) is Role.SENDER
            assert await db.chats.role(8008) is None
            records = await db.audit.list(limit=20)
        grants = [r for r in records if r.action == audit_actions.GRANT and r.target == str(FIRST)]
        assert grants and "claimed with the start-up code" in (grants[0].detail or "")
        assert grants[0].actor_chat_id == FIRST
        refused = [r for r in records if r.action == audit_actions.REFUSED and r.actor_chat_id == FIRST]
        assert refused and "wrongcode1" not in (refused[0].detail or "")

        # A restart with an admin in the database: no code, and /claim grants nothing.
        process = start_bot_process(environment, log)
        try:
            telegram.send_text(7007, f"/claim {code}")
            assert "Ask an admin to run" in await answered(telegram, 7007, 1)
        finally:
            stop_bot_process(process)
        assert text_of(log).count("No admin yet") == 1
        async with await open_database(database) as db:
            assert await db.chats.role(7007) is None


def test_notify_without_admin_chat_ids_reaches_the_admins_in_the_database(tmp_path: Path) -> None:
    database = tmp_path / "smsrelay.db"

    async def claimed_admin() -> None:
        async with await open_database(database, active=True) as db:
            await db.chats.grant(FIRST, Role.ADMIN, added_by=None, note="claimed with the start-up code")

    asyncio.run(claimed_admin())
    with FakeTelegram() as telegram, TexinFakeServer() as texin:
        environment = process_environment(telegram, database, texin, ADMIN_CHAT_IDS="")
        command = [sys.executable, "-m", "bot", "notify", "disk full"]
        finished = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, timeout=60)
        assert finished.returncode == 0, finished.stderr
        assert telegram.last_message(FIRST).text == "📣 disk full"
