"""The chat in the terminal: type as one of four people, see the bot's answers as plain text.

At a terminal it prompts and prints the bot's messages as they come. With a pipe or a file on standard input it
reads lines to the end, waits after each for the bot to finish answering (bulk jobs included), echoes what was
typed, and exits 0: ``printf '/send 0712345678 Hello\\n/balance\\n' | make demo``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import threading
from pathlib import Path

from bot.demo.session import PEOPLE, DemoSession, demo_session
from bot.logging_setup import configure_logging

HELP = """\
Type bot commands as the person you are now (admin at first): /help, /send 0712345678 Hello, /balance…
  :as admin|sender|viewer|stranger   be someone else (each person has their own chat with the bot)
  :press N                           press button N under the newest message that shows buttons
  :upload PATH [caption]             send a file, e.g. :upload bot/demo/contacts.csv /bulk Hello {name}
  :help                              this list
  :quit                              stop (the end of the input does too)
In a message, \\n starts a new line: /bulk 0712345678, 0722000000\\nMaintenance tonight at 22:00"""

INTRO = (
    "smsrelay demo: the real bot, a stand-in Telegram on 127.0.0.1 and the SMS simulator. Nothing is really sent.\n"
    "You are {person}. Type /help for the bot's commands, :help for the demo's."
)


class LineReader:
    """Reads standard input in a daemon thread, one line per ``next`` call, so the bot keeps running meanwhile
    (and a Ctrl-C never waits for a blocked read)."""

    def __init__(self, interactive: bool) -> None:
        self._interactive = interactive
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._wanted = threading.Event()
        self._prompt = ""
        self._loop = asyncio.get_running_loop()
        threading.Thread(target=self._run, name="demo-stdin", daemon=True).start()

    async def next(self, prompt: str) -> str | None:
        """The next line without its line break; ``None`` at the end of the input."""
        self._prompt = prompt
        self._wanted.set()
        return await self._queue.get()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            line: str | None
            try:
                line = input(self._prompt) if self._interactive else sys.stdin.readline() or None
            except EOFError:
                line = None
            if line is not None:
                line = line.rstrip("\r\n")
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)
            if line is None:
                return


def say(text: str) -> None:
    print(text, flush=True)


async def chat(interactive: bool) -> int:
    async with demo_session(say) as session:
        say(INTRO.format(person=session.person.name))
        watcher = asyncio.create_task(session.watch(), name="demo-printer")
        reader = LineReader(interactive)
        try:
            while True:
                line = await reader.next(f"{session.person.name}> ")
                if line is None:
                    break
                if not interactive:
                    say(f"{session.person.name}> {line}")
                if not line.strip():
                    continue
                if line.strip() == ":quit":
                    break
                session.flush()  # what came meanwhile (a delivery summary) is not this line's answer
                mark = session.printed
                act(session, line)
                # At a terminal, a running bulk job keeps going while the person types (its Cancel button works).
                await session.settle(wait_for_jobs=not interactive)
                if session.printed == mark and not line.startswith(":"):
                    say("(no reply)")
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            say("Stopping the bot…")
    return 0


def act(session: DemoSession, line: str) -> None:
    """Do what the line says: a demo command (``:…``) or a message typed in the current chat."""
    if not line.startswith(":"):
        session.type(line.replace("\\n", "\n"))
        return
    word, _, rest = line[1:].partition(" ")
    rest = rest.strip()
    if word == "help":
        say(HELP)
    elif word == "as":
        person = PEOPLE.get(rest.lower())
        if person is None:
            say(f"Who? Choose one of: {', '.join(PEOPLE)}.")
        else:
            session.person = person
            role = person.role.value if person.role else "not allowed to use the bot"
            say(f"You are now {person.name} (chat {person.chat_id}, {role}).")
    elif word == "press":
        if not rest.isdigit():
            say("Usage: :press N (the number shown beside the button)")
        elif (problem := session.press(int(rest))) is not None:
            say(problem)
    elif word == "upload":
        path_text, _, caption = rest.partition(" ")
        path = Path(path_text).expanduser()
        if not path_text or not path.is_file():
            say(f"Usage: :upload PATH [caption] — no file at {path_text or '(nothing given)'}")
        else:
            session.upload(path, caption.replace("\\n", "\n").strip() or None)
    else:
        say(f"Unknown demo command :{word}. :help lists them.")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.demo", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    # The bot's own warnings (a simulated failure alert, say) go to stderr; the chat is on stdout.
    configure_logging("WARNING", lambda text: text)
    logging.getLogger("telegram").setLevel(logging.ERROR)
    try:
        return asyncio.run(chat(sys.stdin.isatty()))
    except KeyboardInterrupt:
        return 0
