"""Telling the admins (and, rarely, a job's own chat), without being asked, and without flooding them.

Every alert goes to every admin chat. Repeats of the same alert (same key) within ``fold_window`` are not sent one
by one: the first goes out at once, the rest are counted and summed up in one message when the window closes.
Intruder alerts are limited per chat per hour, and that limit is remembered across restarts (the state lives in
the database), as is the low-balance state, so a restart never repeats an alert. New intruders are folded across
chats too: the first goes out at once, the others of the same window in one message with their count, so being
added to a hundred groups is two messages, not a hundred.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.formatting import esc, truncate
from bot.providers.types import ProviderName

log = logging.getLogger(__name__)

Buttons = tuple[tuple[tuple[str, str], ...], ...]  # rows of (label, callback data)

INTRUDER_INTERVAL = timedelta(hours=1)
INTRUDERS_LISTED = 20  # chat ids named in a folded intruder alert; the count covers the rest


class AdminNotifier(Protocol):
    async def to_admins(self, html: str) -> int:
        """Send to every admin chat; return how many received it."""
        ...

    async def to_chat(self, chat_id: int, html: str) -> bool:
        """Send to one chat; return whether it arrived."""
        ...

    async def post_to_admins(self, html: str, buttons: Buttons) -> list[tuple[int, int]]:
        """Send to every admin chat with rows of (label, callback data) buttons; return (chat id, message id) each."""
        ...

    async def edit_post(self, chat_id: int, message_id: int, html: str, buttons: Buttons) -> bool:
        """Replace a post's text and buttons; return whether Telegram took it (unchanged counts as taken)."""
        ...


class AlertStateStore(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str) -> None: ...


@dataclass(slots=True)
class _Fold:
    first_html: str
    repeats: int = 0
    flush: asyncio.Task[None] | None = None


@dataclass(slots=True)
class _Intruders:
    """Refused chats reported after the window's first one, told together when the window closes."""

    chat_ids: list[int]
    count: int = 0
    flush: asyncio.Task[None] | None = None


class AlertService:
    def __init__(
        self,
        notifier: AdminNotifier,
        state: AlertStateStore,
        *,
        redact: Callable[[str], str],
        clock: Callable[[], datetime],
        fold_window: timedelta = timedelta(minutes=10),
    ) -> None:
        self._notifier = notifier
        self._state = state
        self._redact = redact
        self._clock = clock
        self._fold_window = fold_window
        self._folds: dict[str, _Fold] = {}
        self._intruders: _Intruders | None = None

    async def raise_alert(self, key: str, html: str) -> None:
        """Send ``html`` to the admins now, or fold it into the alert with the same key already sent."""
        fold = self._folds.get(key)
        if fold is not None:
            fold.repeats += 1
            return
        fold = _Fold(first_html=html)
        self._folds[key] = fold
        fold.flush = asyncio.create_task(self._close_fold(key), name=f"alert-fold:{key}")
        await self._deliver(html)

    async def _close_fold(self, key: str) -> None:
        await asyncio.sleep(self._fold_window.total_seconds())
        fold = self._folds.pop(key, None)
        if fold is not None and fold.repeats:
            await self._deliver(_repeated(fold, self._fold_window))

    async def _deliver(self, html: str) -> None:
        try:
            reached = await self._notifier.to_admins(self._redact(html))
        except Exception:
            log.exception("could not deliver an alert to the admins")
            return
        if reached == 0:
            log.error("an alert reached no admin chat")

    async def aclose(self) -> None:
        """Stop the fold timers, but first send what they were holding: repeats are not lost at shutdown."""
        folds, self._folds = self._folds, {}
        intruders, self._intruders = self._intruders, None
        tasks = [fold.flush for fold in folds.values() if fold.flush is not None]
        if intruders is not None and intruders.flush is not None:
            tasks.append(intruders.flush)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for fold in folds.values():
            if fold.repeats:
                await self._deliver(_repeated(fold, self._fold_window))
        if intruders is not None and intruders.count:
            await self._deliver(_more_intruders(intruders, self._fold_window))

    # --- what happens -------------------------------------------------------------------------------------

    async def send_failed(
        self,
        provider: ProviderName,
        error: str,
        *,
        chat_id: int,
        user_id: int | None,
        recipients: int,
        unknown: bool = False,
        job_id: int | None = None,
        failover_to: ProviderName | None = None,
        failover_status: str | None = None,
    ) -> None:
        """``failover_to``: the provider refused before sending and the same SMS was handed to that one, which
        ``failover_status`` says how it went (sent, failed, unknown); the admins must still fix the first."""
        what = f"bulk job #{job_id}" if job_id is not None else "a send"
        if unknown:
            head = f"❓ <b>Outcome unknown</b> for {what} through {provider.shown}"
            tail = "These messages may or may not have gone out; they are marked unknown and are not resent."
        elif failover_to is not None:
            head = f"⚠️ <b>{provider.shown} refused</b> {what}: handed to {failover_to.shown} instead (failover)"
            outcome = failover_status or "see /status"
            tail = f"Through {failover_to.shown}: {outcome}. Fix {provider.label} all the same."
        else:
            head = f"⚠️ <b>{provider.shown} failed</b> {what}"
            tail = ""
        html = (
            f"{head}\n"
            f"Chat: <code>{chat_id}</code>, user: <code>{user_id if user_id is not None else '-'}</code>, "
            f"{recipients} recipient{'s' if recipients != 1 else ''}\n"
            f"Error: {esc(truncate(error, 300))}"
        )
        if tail:
            html += f"\n{tail}"
        handed = "" if failover_to is None else f":to-{failover_to.value}"
        await self.raise_alert(f"send:{provider.value}:{unknown}{handed}:{truncate(error, 80)}", html)

    async def handler_error(self, where: str, error: str, *, chat_id: int | None, user_id: int | None) -> None:
        html = (
            f"🐞 <b>Error</b> while handling {esc(where)}\n"
            f"Chat: <code>{chat_id if chat_id is not None else '-'}</code>, "
            f"user: <code>{user_id if user_id is not None else '-'}</code>\n"
            # The end of a traceback says what failed; keep that when it is long.
            f"<pre>{esc(error if len(error) <= 3000 else '…' + error[-3000:])}</pre>"
        )
        await self.raise_alert(f"error:{where}:{truncate(error.splitlines()[-1] if error else '', 80)}", html)

    async def intruder(self, *, chat_id: int, name: str, attempted: str) -> bool:
        """Report a refused chat at most once per hour per chat; return whether it was reported (alone, or
        folded with the other new intruders of the window)."""
        key = f"intruder:{chat_id}"
        now = self._clock()
        last = await self._state.get(key)
        if last is not None and now - datetime.fromisoformat(last) < INTRUDER_INTERVAL:
            return False
        await self._state.put(key, now.isoformat())
        if self._intruders is not None:
            self._intruders.count += 1
            if len(self._intruders.chat_ids) < INTRUDERS_LISTED:
                self._intruders.chat_ids.append(chat_id)
            return True
        self._intruders = _Intruders(chat_ids=[])
        self._intruders.flush = asyncio.create_task(self._close_intruders(), name="alert-fold:intruders")
        await self._deliver(
            "🚫 <b>Refused chat</b>\n"
            f"Chat id: <code>{chat_id}</code>\n"
            f"Name: {esc(truncate(name, 100))}\n"
            f"Tried: {esc(truncate(attempted, 200))}\n"
            f"To let it in: <code>/allow {chat_id} sender</code>"
        )
        return True

    async def _close_intruders(self) -> None:
        await asyncio.sleep(self._fold_window.total_seconds())
        intruders, self._intruders = self._intruders, None
        if intruders is not None and intruders.count:
            await self._deliver(_more_intruders(intruders, self._fold_window))

    async def notice(self, html: str) -> None:
        """A one-off message for the admins that needs no folding (start-up reports, job lists)."""
        await self._deliver(html)

    async def tell_chat(self, chat_id: int, html: str) -> None:
        """One line for the chat a problem concerns (its bulk job died), redacted like every alert."""
        try:
            reached = await self._notifier.to_chat(chat_id, self._redact(html))
        except Exception:
            log.exception("could not tell chat %s", chat_id)
            return
        if not reached:
            log.warning("could not tell chat %s", chat_id)

    async def jobs_of_denied_chat(self, chat_id: int, job_ids: list[int]) -> None:
        """One alert naming every bulk job a /deny stopped; their summaries follow here, not in that chat."""
        jobs = ", ".join(f"#{job_id}" for job_id in job_ids)
        await self._deliver(
            f"⛔ <b>Chat <code>{chat_id}</code> lost access</b>: its bulk job{'s' if len(job_ids) != 1 else ''} "
            f"{jobs} {'were' if len(job_ids) != 1 else 'was'} cancelled. Batches already out finish and are "
            "recorded; nothing more is sent or shown in that chat, and the summary comes here."
        )

    async def get_state(self, key: str) -> str | None:
        return await self._state.get(key)

    async def put_state(self, key: str, value: str) -> None:
        await self._state.put(key, value)


def _repeated(fold: _Fold, window: timedelta) -> str:
    minutes = max(1, round(window.total_seconds() / 60))
    times = f"{fold.repeats} more time{'s' if fold.repeats != 1 else ''}"
    return f"🔁 The alert below happened <b>{times}</b> in the last {minutes} min:\n\n{fold.first_html}"


def _more_intruders(intruders: _Intruders, window: timedelta) -> str:
    minutes = max(1, round(window.total_seconds() / 60))
    chats = "chat was" if intruders.count == 1 else "chats were"
    ids = ", ".join(f"<code>{chat_id}</code>" for chat_id in intruders.chat_ids)
    more = intruders.count - len(intruders.chat_ids)
    tail = f" and {more:,} more" if more else ""
    return (
        f"🚫 <b>{intruders.count:,} more refused {chats}</b> in the last {minutes} min: {ids}{tail}.\n"
        "To let one in: <code>/allow &lt;chat id&gt; sender</code>"
    )
