"""Firing due schedules exactly once, through the same entry points as a typed /send or a pressed bulk Send.

Each round: schedules late beyond the grace become ``missed``; the due ones are claimed (``pending → firing``)
in one statement; each claimed one is prepared again with the chat's role as it is now (so roles, blocklist and
every other check of ``SendingService`` / ``BulkService`` apply) and handed over with request key ``sched:<id>``.
That key is stored in the same transaction as the ``sending`` row or the job, which is what makes a crash after
the claim safe: ``recover`` settles a ``firing`` schedule by whether its key exists.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.formatting import plural
from bot.permissions import may_use
from bot.phone import InvalidPhoneNumberError
from bot.providers.types import ProviderName
from bot.services.alerts import AlertService
from bot.services.blocklist import EveryoneOptedOutError
from bot.services.bulk import BulkService, ReporterFactory
from bot.services.errors import UserInputError
from bot.services.requests import DuplicateRequest
from bot.services.sending import SendingService, SendReport
from bot.sms_text import MessageTextError
from storage import BulkJobRecord, Database, Role, ScheduleKind, ScheduleRecord, ScheduleState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Fired:
    """What became of one claimed schedule; exactly one of the optional fields is set, or ``duplicate``."""

    schedule: ScheduleRecord
    report: SendReport | None = None  # a single send went through the send path
    job: BulkJobRecord | None = None  # a bulk job was started
    refusal: str | None = None  # a check said no (blocked recipient, quota, provider gone…)
    lost_access: bool = False  # set with ``refusal`` when the chat's role no longer allows it
    removed: bool = False  # ... because the chat has no access at all (tell the admins, not the chat)
    duplicate: bool = False  # its key was already recorded: it went out before


class Scheduler:
    def __init__(
        self,
        db: Database,
        sending: SendingService,
        bulk: BulkService,
        alerts: AlertService,
        *,
        clock: Callable[[], datetime],
        grace: timedelta,
    ) -> None:
        self._db = db
        self._sending = sending
        self._bulk = bulk
        self._alerts = alerts
        self._clock = clock
        self._grace = grace
        # Only schedules that came due before this process started can have been missed: one that comes due
        # while the bot runs always fires, however long a slow round took (or SCHEDULE_GRACE_SECONDS=0).
        self._started = clock()
        self._caught_up = False  # a round has claimed everything due at start-up: nothing can be missed any more

    async def recover(self) -> tuple[list[int], list[int]]:
        """At start-up, before any round: settle schedules a crash caught between claim and send."""
        done, again = await self._db.schedules.settle_interrupted()
        if done or again:
            log.info("schedules interrupted by a restart: %s had fired, %s fire again", done, again)
        return done, again

    async def miss_late(self) -> list[ScheduleRecord]:
        """Schedules that came due while the bot was down, more than the grace ago: missed, never sent. Once a
        round has claimed what was due at start-up, none can be left, and the rounds skip this statement."""
        if self._caught_up:
            return []
        return await self._db.schedules.miss_older_than(min(self._clock() - self._grace, self._started))

    async def claim_due(self) -> list[ScheduleRecord]:
        claimed = await self._db.schedules.claim_due(self._clock())
        self._caught_up = True  # everything due by now (so everything due before start) is claimed or missed
        return claimed

    async def fire_all(self, schedules: list[ScheduleRecord], reporter_for: ReporterFactory) -> list[Fired]:
        """Fire claimed schedules side by side: one slow provider call does not hold up the others."""
        return list(await asyncio.gather(*(self.fire(schedule, reporter_for) for schedule in schedules)))

    async def fire(self, schedule: ScheduleRecord, reporter_for: ReporterFactory) -> Fired:
        """Fire one claimed schedule and settle it; never raises for a refusal or a provider fault."""
        chat = await self._db.chats.get(schedule.chat_id)
        role = None if chat is None else chat.role
        command = schedule.kind.value
        if role is None or not may_use(role, command):
            why = "the chat no longer has access" if role is None else f"the chat is now {role.value}"
            await self._settle(schedule, ScheduleState.REFUSED, f"Not sent: {why}.")
            return Fired(schedule, refusal=f"Not sent: {why}.", lost_access=True, removed=role is None)
        try:
            if schedule.kind is ScheduleKind.SEND:
                report = await self._fire_send(schedule, role)
                await self._settle(schedule, ScheduleState.DONE, f"message #{report.message_id}")
                return Fired(schedule, report=report)
            job = await self._fire_bulk(schedule, role, reporter_for)
            await self._settle(schedule, ScheduleState.DONE, f"bulk job #{job.id}")
            return Fired(schedule, job=job)
        except DuplicateRequest:
            await self._settle(schedule, ScheduleState.DONE, "had fired already")
            return Fired(schedule, duplicate=True)
        except EveryoneOptedOutError as exc:
            return await self._refuse(schedule, _opted_out_since(exc))
        except (UserInputError, InvalidPhoneNumberError, MessageTextError) as exc:
            return await self._refuse(schedule, str(exc))
        except Exception as exc:
            log.exception("scheduled send #%s failed", schedule.id)
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            await self._alerts.handler_error(
                f"scheduled send #{schedule.id}", details, chat_id=schedule.chat_id, user_id=schedule.user_id
            )
            if await self._db.spend_requests.seen(schedule.request_key):
                await self._settle(schedule, ScheduleState.DONE, "fired; an internal error followed")
                return Fired(schedule, duplicate=True)
            return await self._refuse(schedule, "An internal error stopped it; the admins were told.")

    async def _fire_send(self, schedule: ScheduleRecord, role: Role) -> SendReport:
        request = self._sending.prepare(
            chat_id=schedule.chat_id,
            user_id=schedule.user_id,
            number=schedule.recipients[0],
            text=schedule.body,
            provider=ProviderName(schedule.provider),
            caller_role=role,
        )
        return await self._sending.send(request, request_key=schedule.request_key)

    async def _fire_bulk(self, schedule: ScheduleRecord, role: Role, reporter_for: ReporterFactory) -> BulkJobRecord:
        draft = await self._bulk.prepare(
            chat_id=schedule.chat_id,
            user_id=schedule.user_id,
            numbers=list(schedule.recipients),
            text=schedule.body,
            provider=ProviderName(schedule.provider),
            source=schedule.source,
            caller_role=role,
            texts=await self._db.schedules.texts(schedule.id) if schedule.personal else None,
        )
        return await self._bulk.start(draft, reporter_for, request_key=schedule.request_key)

    async def _refuse(self, schedule: ScheduleRecord, why: str) -> Fired:
        await self._settle(schedule, ScheduleState.REFUSED, why)
        return Fired(schedule, refusal=why)

    async def _settle(self, schedule: ScheduleRecord, state: ScheduleState, outcome: str) -> None:
        await self._db.schedules.finish(schedule.id, state, outcome)


def _opted_out_since(error: EveryoneOptedOutError) -> str:
    """The schedule's own reason: its numbers could all be used when it was made, so say what changed since."""
    return (
        f"every recipient has opted out since this was scheduled ({plural(error.blocked, 'number')} now blocked), "
        "so there is no one left to send it to."
    )
