"""Making, listing and cancelling scheduled sends (``/send in:10m …``, ``/bulk at:18:30 …``, ``/scheduled``).

A schedule stores what a checked ``SingleSend`` or ``BulkDraft`` would send, not the draft itself: every check
runs again when it fires (``bot/services/scheduler.py``), through the same service entry points as a typed send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.services.authorization import require
from bot.services.bulk import BulkDraft
from bot.services.errors import NotAllowedError, NotFoundError, UserInputError
from bot.services.previews import PreviewStore
from bot.services.sending import SingleSend
from storage import Database, NewSchedule, Role, ScheduleKind, ScheduleRecord, audit_actions

PAGE_SIZE = 10


@dataclass(frozen=True, slots=True)
class ScheduledBulk:
    """A bulk preview that becomes a schedule, not a job, when Send is pressed."""

    draft: BulkDraft
    due: datetime


@dataclass(frozen=True, slots=True)
class CancelResult:
    record: ScheduleRecord
    cancelled: bool  # False: it was no longer pending (``record.state`` says what it is)


class ScheduleService:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock
        self.bulk_previews: PreviewStore[ScheduledBulk] = PreviewStore()

    def now(self) -> datetime:
        return self._clock()

    async def schedule_send(
        self, request: SingleSend, due: datetime, *, request_key: str | None, caller_role: Role | None
    ) -> ScheduleRecord:
        """Store one SMS for later; ``DuplicateRequest`` when this update already stored it."""
        require(caller_role, "send")
        self._refuse_past(due)
        return await self._db.schedules.add(
            NewSchedule(
                chat_id=request.chat_id,
                user_id=request.user_id,
                kind=ScheduleKind.SEND,
                provider=request.provider.value,
                body=request.text,
                recipients=(request.recipient,),
                due_at=due,
            ),
            request_key=request_key,
        )

    async def schedule_bulk(
        self, draft: BulkDraft, due: datetime, *, request_key: str | None, caller_role: Role | None
    ) -> ScheduleRecord:
        """Store a bulk send for later (its recipients as checked now; blocklist and role are checked again).
        A mail merge keeps each recipient's text as the preview showed it, not the CSV: the file is gone by then."""
        require(caller_role, "bulk")
        self._refuse_past(due)
        return await self._db.schedules.add(
            NewSchedule(
                chat_id=draft.chat_id,
                user_id=draft.user_id,
                kind=ScheduleKind.BULK,
                provider=draft.provider.value,
                body=draft.text,
                recipients=tuple(draft.recipients.valid),
                due_at=due,
                source=draft.source,
                texts=None if draft.personal is None else tuple(draft.personal.bodies),
            ),
            request_key=request_key,
        )

    def _refuse_past(self, due: datetime) -> None:
        # A preview can wait for its Send press longer than the delay it was given.
        if due <= self._clock():
            raise UserInputError("That time has passed while the preview waited. Send the command again.")

    async def pending(
        self, *, chat_id: int, caller_role: Role | None, page: int = 1
    ) -> tuple[list[ScheduleRecord], int]:
        """One page of pending schedules (admins: every chat's) and how many there are in all."""
        require(caller_role, "scheduled")
        scope = None if caller_role is Role.ADMIN else chat_id
        total = await self._db.schedules.count_pending(chat_id=scope)
        if (page - 1) * PAGE_SIZE >= total:  # past the end; also an 18-digit page SQLite could not take as offset
            return [], total
        records = await self._db.schedules.pending(chat_id=scope, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return records, total

    async def cancel(
        self, schedule_id: int, *, chat_id: int, user_id: int | None, caller_role: Role | None
    ) -> CancelResult:
        """Cancel a pending schedule; idempotent. Only its own chat or an admin chat may."""
        require(caller_role, "scheduled")
        record = await self._db.schedules.get(schedule_id)
        if record is None:
            raise NotFoundError(f"There is no scheduled send #{schedule_id}.")
        if caller_role is not Role.ADMIN and record.chat_id != chat_id:
            raise NotAllowedError("Only the chat that made this schedule, or an admin, can cancel it.")
        cancelled = await self._db.schedules.cancel(schedule_id, f"cancelled by chat {chat_id}")
        if cancelled:
            await self._db.audit.record(
                audit_actions.CANCEL, actor_chat_id=chat_id, actor_user_id=user_id, target=f"schedule #{schedule_id}"
            )
        after = await self._db.schedules.get(schedule_id)
        assert after is not None
        return CancelResult(after, cancelled)

    async def cancel_for_chat(self, chat_id: int) -> list[int]:
        """The chat lost access (``/deny``): its pending schedules will never fire."""
        return await self._db.schedules.cancel_for_chat(chat_id, "cancelled: the chat lost access")
