"""The test's view of the fake Telegram: what the bot sent and called, and waiting for it without polling.

Async waiters register a wake-up with the state; whichever thread changes the state (an HTTP thread serving
the bot, or the test itself) schedules it with ``loop.call_soon_threadsafe``, so a waiting test sleeps until
something happens instead of polling. Every read takes the state lock and returns immutable records.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

from tests.fakes.telegram_methods import BotApi
from tests.fakes.telegram_records import CallbackAnswer, RecordedRequest, Refusal, SentMessage
from tests.fakes.telegram_state import TelegramState

_T = TypeVar("_T")


class TelegramObserver:
    """Reads and waits on what the bot did; ``FakeTelegram`` adds the server and the user's side."""

    def __init__(self, state: TelegramState, api: BotApi) -> None:
        self.state = state
        self.api = api
        self.internal_errors: list[str] = []  # tracebacks of bugs in the fake itself, answered with 500

    # --- what the bot did --------------------------------------------------------------------------------

    def mark(self) -> int:
        """The current sequence number: pass it as ``after`` to wait only for what happens next."""
        with self.state.lock:
            return self.state.seq

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Bot messages in their current state (deleted ones flagged), in the order they were sent."""
        with self.state.lock:
            current = list(self.state.bot_messages.values())
        return [sent for sent in current if chat_id is None or sent.chat_id == chat_id]

    def last_message(self, chat_id: int) -> SentMessage:
        """The newest bot message still shown in the chat; AssertionError if there is none."""
        shown = [sent for sent in self.messages(chat_id) if not sent.deleted]
        if not shown:
            raise AssertionError(f"the bot has sent nothing to chat {chat_id}\n{self._dump(chat_id)}")
        return shown[-1]

    def requests(self, method: str | None = None) -> list[RecordedRequest]:
        wanted = None if method is None else self.api.canonical(method)
        with self.state.lock:
            return [r for r in self.state.requests if wanted is None or r.method == wanted]

    def refusals(self, method: str | None = None) -> list[Refusal]:
        wanted = None if method is None else self.api.canonical(method)
        with self.state.lock:
            return [r for r in self.state.refusals if wanted is None or r.method == wanted]

    def callback_answers(self) -> list[CallbackAnswer]:
        with self.state.lock:
            return list(self.state.answers)

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, Any]]:
        """The commands setMyCommands stored for this scope (default scope when None)."""
        params = {"scope": scope, "language_code": language_code}
        with self.state.lock:
            return [dict(c) for c in self.state.commands.get(self.api.scope_key(params), [])]

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates ``offset``."""
        with self.state.lock:
            return list(self.state.updates)

    def file_at(self, file_path: str) -> bytes | None:
        """Bytes behind a ``file_path`` that getFile handed out, as the download URL serves them."""
        with self.state.lock:
            file_id = self.state.file_paths.get(file_path)
            return None if file_id is None else self.state.files[file_id].content

    # --- waiting -----------------------------------------------------------------------------------------

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: int = 0,
    ) -> SentMessage:
        """The first bot message version (new or edited) in the chat after ``after`` that matches."""
        log = self.state.message_log

        def find() -> SentMessage | None:
            start = bisect.bisect_right(log, after, key=lambda sent: sent.seq)
            for sent in log[start:]:
                if sent.chat_id == chat_id and (predicate is None or predicate(sent)):
                    return sent
            return None

        def explain() -> str:
            return f"no matching bot message in chat {chat_id} after seq {after} within {timeout} s\n" + self._dump(
                chat_id
            )

        return await self._wait(find, timeout, explain)

    async def wait_for_request(
        self,
        method: str,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: int = 0,
    ) -> RecordedRequest:
        """The first ``method`` call after ``after`` that matches."""
        wanted = self.api.canonical(method)
        requests = self.state.requests

        def find() -> RecordedRequest | None:
            start = bisect.bisect_right(requests, after, key=lambda request: request.seq)
            for request in requests[start:]:
                if request.method == wanted and (predicate is None or predicate(request)):
                    return request
            return None

        def explain() -> str:
            seen = ", ".join(f"{r.method}[{r.seq}]" for r in requests[-30:] if r.seq > after) or "none"
            return f"no matching {wanted} call after seq {after} within {timeout} s; calls seen: {seen}\n" + self._dump(
                None
            )

        return await self._wait(find, timeout, explain)

    async def wait_until_confirmed(self, timeout: float = 5.0) -> None:
        """Until the bot has confirmed every update queued so far (a later getUpdates ``offset`` passed them)."""

        def find() -> bool | None:
            return True if not self.state.updates else None

        def explain() -> str:
            return f"{len(self.state.updates)} update(s) still unconfirmed after {timeout} s"

        await self._wait(find, timeout, explain)

    async def _wait(self, find: Callable[[], _T | None], seconds: float, explain: Callable[[], str]) -> _T:
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # that test's loop is closed: nobody waits any more
                loop.call_soon_threadsafe(changed.set)

        with self.state.lock:
            key = self.state.unique()
            self.state.listeners[key] = wake
        try:
            async with asyncio.timeout(seconds):
                while True:
                    changed.clear()  # before looking, so a change made while we look is not missed
                    with self.state.lock:
                        found = find()
                    if found is not None:
                        return found
                    await changed.wait()
        except TimeoutError:
            with self.state.lock:
                message = explain()
            raise TimeoutError(message) from None
        finally:
            with self.state.lock:
                self.state.listeners.pop(key, None)

    def _dump(self, chat_id: int | None) -> str:
        """What the chat shows and which calls were refused: the first thing to read when a wait fails."""
        with self.state.lock:
            shown = [s for s in self.state.bot_messages.values() if chat_id is None or s.chat_id == chat_id]
            refused = [r for r in self.state.refusals if chat_id is None or r.chat_id in (chat_id, None)]
            errors = list(self.internal_errors)
        where = "all chats" if chat_id is None else f"chat {chat_id}"
        lines = [f"bot messages in {where}:"] + ([f"  {s.describe()}" for s in shown] or ["  none"])
        if refused:
            lines.append("refused calls:")
            lines += [f"  {r.method} [seq {r.seq}] -> {r.status} {r.description}" for r in refused[-20:]]
        lines += [f"bug in the fake server:\n{error}" for error in errors]
        return "\n".join(lines)
