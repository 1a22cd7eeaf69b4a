"""Previews waiting for their Send button: kept in memory for a while, taken exactly once.

``take`` removes the entry before anything is sent, so two quick presses of Send can never send twice. After a
restart the previews are gone and Send answers that the preview expired: sending needs a fresh command.

Memory is bounded: each person keeps at most ``per_owner`` previews and the store ``total``; a new one pushes out
the oldest (the one least likely to be pressed), which then answers "expired" like any other.

A preview belongs to the person who asked for it, or to the whole chat when a chat asked (an anonymous group
admin: Telegram hides who, and their button presses come from their real account).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_TTL = 30 * 60.0
DEFAULT_PER_OWNER = 5
DEFAULT_TOTAL = 1_000


@dataclass(frozen=True, slots=True)
class _Entry(Generic[T]):
    value: T
    owner_user_id: int | None  # None: the chat as a whole
    expires_at: float


class PreviewStore(Generic[T]):
    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        per_owner: int = DEFAULT_PER_OWNER,
        total: int = DEFAULT_TOTAL,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._per_owner = per_owner
        self._total = total
        self._entries: dict[str, _Entry[T]] = {}  # insertion order: oldest first

    def put(self, value: T, *, owner_user_id: int | None) -> str:
        """Keep ``value`` and return a short token for the buttons' callback data; ``owner_user_id`` None means
        anyone in the chat may press its buttons (buttons only ever show in the chat that asked)."""
        self._drop_expired()
        self._make_room(owner_user_id)
        token = secrets.token_urlsafe(9)
        self._entries[token] = _Entry(value, owner_user_id, self._clock() + self._ttl)
        return token

    def may_press(self, token: str, user_id: int) -> bool:
        """Whether ``user_id`` may press this preview's buttons; unknown tokens pass so ``take`` can explain."""
        entry = self._entries.get(token)
        return entry is None or entry.owner_user_id is None or entry.owner_user_id == user_id

    def take(self, token: str) -> T | None:
        """The value, removed; ``None`` when unknown, expired or already taken."""
        entry = self._entries.pop(token, None)
        if entry is None or entry.expires_at < self._clock():
            return None
        return entry.value

    def _make_room(self, owner: int | None) -> None:
        """Leave room for one more: drop the owner's oldest beyond ``per_owner``, then the oldest of all."""
        if owner is not None:
            owned = [t for t, e in self._entries.items() if e.owner_user_id == owner]
            for token in owned[: max(len(owned) - self._per_owner + 1, 0)]:
                del self._entries[token]
        while len(self._entries) >= self._total:
            del self._entries[next(iter(self._entries))]

    def _drop_expired(self) -> None:
        now = self._clock()
        for token in [t for t, e in self._entries.items() if e.expires_at < now]:
            del self._entries[token]
