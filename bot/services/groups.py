"""Contact groups: the rules (names, roles, numbers as /bulk reads them) and every change audited.

Groups are shared by every allowed chat. Viewers may list and show them; senders and admins change them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.phone import RecipientList, read_recipients
from bot.services.authorization import require
from bot.services.errors import NotAllowedError, NotFoundError, UserInputError
from storage import Database, GroupSummary, Role, audit_actions

NAME_RULE = "letters, digits, - and _, 1–32 characters"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
_MANAGERS = frozenset({Role.ADMIN, Role.SENDER})
MAX_GROUP_SIZE = 100_000


def check_name(raw: str) -> str:
    """The group's name in its stored (lower-case) form, or ``UserInputError`` saying the rule."""
    name = raw.removeprefix("@")
    if not _NAME.fullmatch(name):
        shown = name[:40] + ("…" if len(name) > 40 else "")
        raise UserInputError(f"“{shown}” is not a valid group name: use {NAME_RULE}.")
    return name.lower()


@dataclass(frozen=True, slots=True)
class GroupChange:
    name: str
    created: bool
    changed: tuple[str, ...]  # numbers added (or removed)
    unchanged: tuple[str, ...]  # numbers already in the group (or not in it)
    recipients: RecipientList


class GroupService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def summaries(self, *, caller_role: Role | None) -> list[GroupSummary]:
        require(caller_role, "group")
        return await self._db.groups.summaries()

    async def members(self, raw_name: str, *, caller_role: Role | None) -> tuple[str, list[str]]:
        require(caller_role, "group")
        name = check_name(raw_name)
        members = await self._db.groups.members(name)
        if members is None:
            raise NotFoundError(f"There is no group @{name}.")
        return name, members

    async def blocked_among(self, numbers: Sequence[str]) -> set[str]:
        """Which of these members opted out: they stay in the group, and /bulk leaves them out."""
        return await self._db.blocklist.blocked_among(numbers)

    async def add(
        self, raw_name: str, numbers: Iterable[str], *, chat_id: int, user_id: int | None, caller_role: Role | None
    ) -> GroupChange:
        _require_manager(caller_role)
        name = check_name(raw_name)
        recipients = await _read(numbers)
        current = await self._db.groups.members(name)
        if len(current or ()) + len(recipients.valid) > MAX_GROUP_SIZE:
            raise UserInputError(f"A group holds at most {MAX_GROUP_SIZE:,} numbers.")
        async with self._db.transaction():
            created, added = await self._db.groups.add(name, recipients.valid, chat_id=chat_id)
            await self._db.audit.record(
                audit_actions.GROUP,
                actor_chat_id=chat_id,
                actor_user_id=user_id,
                target=f"@{name}",
                detail=f"{'created, ' if created else ''}added {len(added)} numbers",
            )
        fresh = set(added)
        return GroupChange(
            name, created, tuple(added), tuple(n for n in recipients.valid if n not in fresh), recipients
        )

    async def remove(
        self, raw_name: str, numbers: Iterable[str], *, chat_id: int, user_id: int | None, caller_role: Role | None
    ) -> GroupChange:
        _require_manager(caller_role)
        name = check_name(raw_name)
        recipients = await _read(numbers)
        async with self._db.transaction():
            removed = await self._db.groups.remove(name, recipients.valid)
            if removed is None:
                raise NotFoundError(f"There is no group @{name}.")
            await self._db.audit.record(
                audit_actions.GROUP,
                actor_chat_id=chat_id,
                actor_user_id=user_id,
                target=f"@{name}",
                detail=f"removed {len(removed)} numbers",
            )
        gone = set(removed)
        return GroupChange(name, False, tuple(removed), tuple(n for n in recipients.valid if n not in gone), recipients)

    async def check_delete(self, raw_name: str, *, caller_role: Role | None) -> tuple[str, int]:
        """Before the confirmation buttons: the group exists and the caller may delete it; returns its size."""
        _require_manager(caller_role)
        name = check_name(raw_name)
        members = await self._db.groups.members(name)
        if members is None:
            raise NotFoundError(f"There is no group @{name}.")
        return name, len(members)

    async def delete(self, name: str, *, chat_id: int, user_id: int | None, caller_role: Role | None) -> int:
        """Delete a group (after its confirmation); returns how many numbers it held."""
        _require_manager(caller_role)
        async with self._db.transaction():
            members = await self._db.groups.delete(name)
            if members is None:
                raise NotFoundError(f"There is no group @{name} any more.")
            await self._db.audit.record(
                audit_actions.GROUP,
                actor_chat_id=chat_id,
                actor_user_id=user_id,
                target=f"@{name}",
                detail=f"deleted with {members} numbers",
            )
        return members


def _require_manager(caller_role: Role | None) -> None:
    require(caller_role, "group")
    if caller_role not in _MANAGERS:
        raise NotAllowedError("Only senders and admins can change groups; viewers may list and show them.")


async def _read(numbers: Iterable[str]) -> RecipientList:
    recipients = await asyncio.to_thread(read_recipients, list(numbers))
    if not recipients.valid:
        if recipients.refused:
            first = recipients.refused[0]
            raise UserInputError(f"None of the numbers can be used (“{first.raw[:40]}”: {first.reason}).")
        raise UserInputError("Give at least one number after the group name.")
    return recipients
