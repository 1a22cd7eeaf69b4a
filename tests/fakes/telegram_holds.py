"""Holding calls of one Bot API method: Telegram slow or hanging for one chat, released when the test says.

A held call is recorded when it arrives (``wait_for_request`` sees it) and handled only once released, so a
test can look at the bot's state while the bot still waits for Telegram's answer. The bot's client gives up
after its own read timeout; the call is still handled when released, as Telegram would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(eq=False)
class Hold:
    """Calls of ``method`` (only for ``chat_id`` when given) wait until ``release()`` or the server stops."""

    method: str
    chat_id: int | None = None
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: int = 0
    _waiting: int = 0

    def matches(self, method: str, chat_id: object) -> bool:
        if self._released.is_set() or method != self.method:
            return False
        return self.chat_id is None or chat_id == self.chat_id

    @property
    def arrived(self) -> int:
        """How many calls this hold caught."""
        with self._lock:
            return self._arrived

    @property
    def waiting(self) -> int:
        """How many caught calls are still held now."""
        with self._lock:
            return self._waiting

    def release(self) -> None:
        """Let every held call (and every later one) through."""
        self._released.set()

    def catch(self) -> None:
        """Called by the serving thread, under the state lock, when a call arrives that this hold matches."""
        with self._lock:
            self._arrived += 1
            self._waiting += 1

    def wait(self) -> None:
        """Called by the serving thread after ``catch``, outside the state lock: other calls go on meanwhile."""
        try:
            self._released.wait()
        finally:
            with self._lock:
                self._waiting -= 1
