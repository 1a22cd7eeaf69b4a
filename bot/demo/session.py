"""The running demo: the stand-in Telegram, the bot ``Application`` on it, and the four people who type.

The bot goes through PTB's own lifecycle (initialize, ``post_init``, polling, start … ``post_stop``, shutdown,
``post_shutdown``), the order ``run_polling`` uses, but in this event loop so the terminal can type meanwhile.
``settle`` is how a script knows a command is answered: every update fetched and handled, every bulk job done,
then a short quiet spell with no new bot message (alerts and summaries are sent from background tasks).
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.app import SmsApplication, build_application
from bot.config import Settings
from bot.demo.render import render
from bot.demo.standin import FakeTelegram
from bot.lifecycle import ALLOWED_UPDATES, polling
from bot.providers.types import ProviderName
from bot.runtime import Services
from bot.services.registry import ProviderRegistry, build_simulator
from storage import Role

QUIET_SECONDS = 0.3  # no new bot message for this long after the work is done: the answer is complete
SETTLE_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    chat_id: int
    role: Role | None  # None: a stranger the bot does not know


PEOPLE = {
    "admin": Person("admin", 1001, Role.ADMIN),
    "sender": Person("sender", 2002, Role.SENDER),
    "viewer": Person("viewer", 3003, Role.VIEWER),
    "stranger": Person("stranger", 4004, None),
}


def demo_settings(telegram: FakeTelegram, folder: Path) -> Settings:
    """Production settings pointed at the stand-in and the simulator only. Real provider credentials in the
    environment or a .env are ignored: the demo never sends a real SMS. ``SIMULATOR_*`` and tuning variables in
    the environment still apply (``SIMULATOR_FAILURE_RATE=0.2 make demo``)."""
    values: dict[str, Any] = {
        "telegram_bot_token": SecretStr(telegram.token),
        "telegram_api_url": telegram.base_url,
        "telegram_file_url": telegram.base_file_url,
        "admin_chat_ids": [PEOPLE["admin"].chat_id],
        "database_path": folder / "smsrelay.db",
        "default_provider": ProviderName.SIMULATOR,
        "sms_simulator": True,
        "texin_api_key": None,
        "sms254_username": None,
        "sms254_api_key": None,
        "balance_check_interval": 0,  # no periodic low-credit alerts in the middle of a session
        "delivery_check_interval": 2,
        "bulk_progress_interval": 0.5,
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    # Delivery follow-ups start when the simulator says delivered, so a bulk job's delivery summary shows up.
    return settings.model_copy(update={"delivery_first_check": max(settings.simulator_delivery_seconds, 1.0)})


class DemoSession:
    """The bot on the stand-in, and the terminal's side of it: ``type``, ``press``, ``upload``, ``settle``."""

    def __init__(self, telegram: FakeTelegram, application: SmsApplication, write: Callable[[str], None]) -> None:
        self.telegram = telegram
        self.application = application
        self.person = PEOPLE["admin"]
        self._write = write
        self._shown = 0  # bot message versions printed so far
        self._answers = 0  # button answers (pop-ups) seen so far
        self.printed = 0  # lines of output ``flush`` wrote, for "(no reply)"
        self._settle_wake = asyncio.Event()
        self._print_wake = asyncio.Event()

    @property
    def services(self) -> Services:
        return self.application.bot_data.services

    # --- acting ------------------------------------------------------------------------------------------

    def type(self, text: str) -> None:
        person = self.person
        self.telegram.send_text(person.chat_id, text, user_id=person.chat_id, first_name=person.name.title())

    def upload(self, path: Path, caption: str | None) -> None:
        content = path.read_bytes()
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        person = self.person
        self.telegram.send_document(
            person.chat_id,
            content,
            path.name,
            mime_type=mime,
            caption=caption,
            user_id=person.chat_id,
            first_name=person.name.title(),
        )

    def press(self, number: int) -> str | None:
        """Press button ``number`` of the newest message in this chat that shows buttons; an error text if none."""
        shown = [m for m in self.telegram.messages(self.person.chat_id) if m.buttons and not m.deleted]
        if not shown:
            return "No message in this chat shows buttons now."
        message = shown[-1]
        if not 1 <= number <= len(message.buttons):
            return f"Message #{message.message_id} has buttons 1 to {len(message.buttons)}."
        data = message.buttons[number - 1].callback_data
        if data is None:
            return "That button opens a link; nothing to press here."
        self.telegram.press_button(self.person.chat_id, message.message_id, data, user_id=self.person.chat_id)
        return None

    # --- watching ----------------------------------------------------------------------------------------

    def flush(self) -> int:
        """Print every bot message and pop-up not printed yet; returns how many were printed."""
        state = self.telegram.state
        with state.lock:
            new = list(state.message_log[self._shown :])
            self._shown += len(new)
            answers = list(state.answers[self._answers :])
            self._answers += len(answers)
        names = {p.chat_id: p.name for p in PEOPLE.values()}
        for message in new:
            chat = None if message.chat_id == self.person.chat_id else f"{names.get(message.chat_id, message.chat_id)}"
            self._write(render(message, chat=chat))
        for answer in answers:
            if answer.text:
                self._write(f"bot (pop-up): {answer.text}")
        count = len(new) + sum(1 for a in answers if a.text)
        self.printed += count
        return count

    async def settle(self, *, wait_for_jobs: bool) -> None:
        """Until the bot has answered: updates handled, (bulk jobs finished,) then ``QUIET_SECONDS`` of quiet."""
        async with asyncio.timeout(SETTLE_TIMEOUT):
            while True:
                await self.telegram.wait_until_confirmed(SETTLE_TIMEOUT)
                await self.application.update_queue.join()
                if wait_for_jobs:
                    for job in await self.services.db.jobs.list_unfinished():
                        await self.services.bulk.wait(job.id)
                self.flush()
                if await self._quiet():
                    return

    async def _quiet(self) -> bool:
        """Whether no bot message came for ``QUIET_SECONDS`` (other changes, such as polls, do not count)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + QUIET_SECONDS
        while (left := deadline - loop.time()) > 0:
            self._settle_wake.clear()
            if self._unseen():
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settle_wake.wait(), left)
        return not self._unseen()

    def _unseen(self) -> bool:
        state = self.telegram.state
        with state.lock:
            return len(state.message_log) > self._shown or len(state.answers) > self._answers

    async def watch(self) -> None:
        """Print bot messages as they come (a delivery summary arrives whenever the network "delivers")."""
        while True:
            await self._print_wake.wait()
            self._print_wake.clear()
            self.flush()

    def _wake_from_any_thread(self) -> Callable[[], None]:
        loop = asyncio.get_running_loop()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the demo is over
                loop.call_soon_threadsafe(self._settle_wake.set)
                loop.call_soon_threadsafe(self._print_wake.set)

        return wake

    @contextlib.contextmanager
    def listening(self) -> Any:
        state = self.telegram.state
        with state.lock:
            key = state.unique()
            state.listeners[key] = self._wake_from_any_thread()
        try:
            yield
        finally:
            with state.lock:
                state.listeners.pop(key, None)

    async def allow_demo_chats(self) -> None:
        access = self.services.access
        admin = PEOPLE["admin"].chat_id
        for person in PEOPLE.values():
            if person.role is not None and person.role is not Role.ADMIN:
                await access.allow(
                    by_chat_id=admin, by_user_id=admin, chat_id=person.chat_id, role=person.role, caller_role=Role.ADMIN
                )


@contextlib.asynccontextmanager
async def demo_session(write: Callable[[str], None]) -> AsyncIterator[DemoSession]:
    """Everything up, the sender and viewer chats allowed; everything down and deleted afterwards."""
    os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    with tempfile.TemporaryDirectory(prefix="smsrelay-demo-") as folder, FakeTelegram() as telegram:
        settings = demo_settings(telegram, Path(folder))
        simulator = build_simulator(settings)
        registry = ProviderRegistry({ProviderName.SIMULATOR: simulator}, ProviderName.SIMULATOR)
        application = build_application(settings, providers=registry)
        session = DemoSession(telegram, application, write)
        with session.listening():
            async with polling(application, poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES):
                await session.allow_demo_chats()
                yield session
