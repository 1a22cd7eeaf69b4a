"""The opt-out blocklist's rules: who may block and unblock, reading the numbers, and the checks the send paths make.

Kenya's consumer-protection rules require honouring an opt-out, so a blocked number is never sent to: /send refuses
it before anything is stored, bulk previews leave it out, and the bulk claim (``storage/batches.py``) cancels
rows of numbers blocked after the job was stored (retries, resumes, running jobs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from bot.formatting import plural
from bot.phone import RecipientList, RefusedNumber, display_phone, read_recipients
from bot.services.authorization import require
from bot.services.errors import RefusedError, UserInputError
from storage import BlockedNumber, Database, Role, audit_actions

MAX_REASON_CHARS = 200
MAX_NUMBERS = 100_000
PAGE_SIZE = 20


class RecipientBlockedError(RefusedError):
    """The recipient opted out: nothing is stored or sent."""


class EveryoneOptedOutError(RecipientBlockedError):
    """Every usable number of a bulk send opted out: there is no one left to send to."""

    def __init__(self, blocked: int) -> None:
        are = "is" if blocked == 1 else "are"
        super().__init__(f"All {plural(blocked, 'number')} {are} blocked (opted out): there is nobody to send to.")
        self.blocked = blocked


@dataclass(frozen=True, slots=True)
class BlockChange:
    """What a /block or /unblock did: the numbers changed, those that already were so, and refusals."""

    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    refused: tuple[RefusedNumber, ...]
    duplicates: int


@dataclass(frozen=True, slots=True)
class BlockedPage:
    entries: tuple[BlockedNumber, ...]
    page: int
    pages: int
    total: int


def drop_blocked(recipients: RecipientList, blocked: set[str]) -> tuple[RecipientList, tuple[str, ...]]:
    """The recipients without the blocked numbers, and those numbers (input order)."""
    if not blocked:
        return recipients, ()
    kept = tuple(number for number in recipients.valid if number not in blocked)
    dropped = tuple(number for number in recipients.valid if number in blocked)
    return RecipientList(valid=kept, refused=recipients.refused, duplicates=recipients.duplicates), dropped


async def refuse_if_blocked(db: Database, number: str) -> None:
    """Raise ``RecipientBlockedError`` when the (normalised) number opted out."""
    if await db.blocklist.is_blocked(number):
        raise RecipientBlockedError(f"{display_phone(number)} is blocked (opted out): nothing was sent.")


async def without_blocked(db: Database, recipients: RecipientList) -> tuple[RecipientList, tuple[str, ...]]:
    """For bulk previews: the recipients without blocked numbers, and the blocked ones; refused when every
    usable number is blocked."""
    kept, blocked = drop_blocked(recipients, await db.blocklist.blocked_among(recipients.valid))
    if blocked and not kept.valid:
        raise EveryoneOptedOutError(len(blocked))
    return kept, blocked


class BlocklistService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def block(
        self,
        numbers: Iterable[str],
        *,
        reason: str | None,
        chat_id: int,
        user_id: int | None,
        caller_role: Role | None,
    ) -> BlockChange:
        require(caller_role, "block")
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise UserInputError(f"The reason is too long: at most {MAX_REASON_CHARS} characters.")
        recipients = await self._read(numbers)
        added = await self._db.blocklist.add(recipients.valid, reason=reason, chat_id=chat_id, user_id=user_id)
        if added:
            await self._db.audit.record(
                audit_actions.BLOCK,
                actor_chat_id=chat_id,
                actor_user_id=user_id,
                target=_target(added),
                detail=f"{len(added)} numbers blocked" + (f": {reason}" if reason else ""),
            )
        return _change(recipients, added)

    async def unblock(
        self, numbers: Iterable[str], *, chat_id: int, user_id: int | None, caller_role: Role | None
    ) -> BlockChange:
        require(caller_role, "unblock")
        recipients = await self._read(numbers)
        removed = await self._db.blocklist.remove(recipients.valid)
        if removed:
            await self._db.audit.record(
                audit_actions.UNBLOCK,
                actor_chat_id=chat_id,
                actor_user_id=user_id,
                target=_target(removed),
                detail=f"{len(removed)} numbers unblocked",
            )
        return _change(recipients, removed)

    async def page(self, page: int, *, caller_role: Role | None) -> BlockedPage:
        require(caller_role, "blocked")
        total = await self._db.blocklist.count()
        pages = max(1, -(-total // PAGE_SIZE))
        if not 1 <= page <= pages:
            raise UserInputError(f"There is no page {page}: the blocklist has {pages} page{'s' if pages > 1 else ''}.")
        entries = await self._db.blocklist.list(PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return BlockedPage(tuple(entries), page, pages, total)

    async def _read(self, numbers: Iterable[str]) -> RecipientList:
        recipients = await asyncio.to_thread(read_recipients, list(numbers))
        if len(recipients.valid) > MAX_NUMBERS:
            raise UserInputError(f"Too many numbers: {len(recipients.valid):,}. At most {MAX_NUMBERS:,} at once.")
        if not recipients.valid and not recipients.refused:
            raise UserInputError("No numbers found.")
        return recipients


def _change(recipients: RecipientList, changed: list[str]) -> BlockChange:
    done = set(changed)
    return BlockChange(
        changed=tuple(changed),
        unchanged=tuple(number for number in recipients.valid if number not in done),
        refused=recipients.refused,
        duplicates=len(recipients.duplicates),
    )


def _target(numbers: list[str]) -> str:
    shown = ", ".join(numbers[:10])
    return shown + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
