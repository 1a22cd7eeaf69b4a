"""Per-chat daily quotas: how many units a chat may spend per local day, checked where the money is spent.

``reserve`` is called by the send paths (``SendingService.send``, ``BulkService.start``, the retry requeue) inside
the transaction that stores the rows, right after writing them, so the check and the reservation are one atomic
step: of two sends that each fit alone but not together, exactly one passes. The reservation is the rows themselves
(their segments until the provider's figure replaces them), so nothing has to be released when a send fails or a
job is cancelled. Scheduled sends fire through the same entry points and are checked the same way, at fire time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from bot.formatting import plural
from bot.localtime import day_bounds, local_day
from bot.services.alerts import AlertService
from bot.services.authorization import require
from bot.services.errors import NotAllowedError, QuotaExceededError
from storage import Database, Role, audit_actions

log = logging.getLogger(__name__)

WARN_PERCENT = 80
Setting = int | None | Literal["default"]  # a limit, None for "off", or back to the role's default


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """A chat's quota on one local day: ``limit`` None means no limit; ``source`` says where it comes from."""

    chat_id: int
    day: date
    limit: int | None
    source: str
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)


class QuotaService:
    def __init__(
        self,
        db: Database,
        alerts: AlertService,
        *,
        zone: ZoneInfo,
        defaults: Mapping[Role, int | None],
        clock: Callable[[], datetime],
    ) -> None:
        self._db = db
        self._alerts = alerts
        self._zone = zone
        self._defaults = defaults
        self._clock = clock

    async def limit_of(self, chat_id: int) -> tuple[int | None, str]:
        """The chat's daily limit and where it comes from: its own setting, else its role's default."""
        override = await self._db.quotas.override(chat_id)
        if override is not None:
            if override.daily_units is None:
                return None, "switched off for this chat by an admin"
            return override.daily_units, "set for this chat by an admin"
        record = await self._db.chats.get(chat_id)
        if record is None:
            return None, "no limit (the chat has no role)"
        default = self._defaults.get(record.role)
        if default is None:
            return None, f"no limit (none is set for {record.role.value} chats)"
        return default, f"the {record.role.value} default"

    async def status(self, chat_id: int) -> QuotaStatus:
        """Today's use and limit (the local day in ``BOT_TIMEZONE``)."""
        limit, source = await self.limit_of(chat_id)
        return await self._today(chat_id, limit, source)

    async def _today(self, chat_id: int, limit: int | None, source: str) -> QuotaStatus:
        day = local_day(self._clock(), self._zone)
        start, end = day_bounds(day, self._zone)
        used = await self._db.quotas.used_units(chat_id, start, end)
        return QuotaStatus(chat_id, day, limit, source, used)

    async def reserve(self, chat_id: int, units: int) -> QuotaStatus | None:
        """Check the day's quota once the rows worth ``units`` are written, inside the caller's transaction.

        Checked after the write, not before, so a repeated Telegram update still fails as a duplicate (its key
        is claimed with the rows) instead of answering "quota reached" to a request that was already served.
        Raises ``QuotaExceededError`` naming the limit, what was used before and what remains: the caller's
        transaction then rolls back and nothing is stored or sent. Returns the status with ``units`` included
        (for ``announce`` once the transaction committed), None when the chat has no limit.
        """
        limit, source = await self.limit_of(chat_id)
        if limit is None:
            return None
        current = await self._today(chat_id, limit, source)  # the limit read once per check
        if current.used > limit:
            before = max(current.used - units, 0)
            head = "Daily quota reached" if before >= limit else "Not enough daily quota left"
            raise QuotaExceededError(
                f"{head}: this chat may send {plural(limit, 'unit')} a day ({source}); "
                f"{before:,} used today, {max(limit - before, 0):,} left, and this needs {units:,}. "
                f"It starts again at midnight ({self._zone.key}).",
                limit=limit,
                used=before,
                needed=units,
            )
        return current

    async def announce(self, reserved: QuotaStatus | None) -> None:
        """Tell the admins once per chat and day when it passes 80 % and when it reaches 100 % (kept in the
        database, so a restart does not repeat it). Call it after the reservation's transaction committed."""
        if reserved is None or reserved.limit is None or reserved.limit == 0:
            return
        limit, used = reserved.limit, reserved.used
        if used * 100 < WARN_PERCENT * limit:
            return
        prefix = f"quota:{reserved.chat_id}:{reserved.day.isoformat()}:"
        full = used >= limit
        # Claimed before telling: of two sends crossing together, one tells. A jump straight to 100 % tells that
        # alone and retires the 80 % notice of the day.
        warn = await self._db.quotas.claim_notice(prefix + str(WARN_PERCENT))
        if full:
            if not await self._db.quotas.claim_notice(prefix + "100"):
                return
            head = f"⛔ <b>Chat <code>{reserved.chat_id}</code> used its whole daily quota</b>"
        elif warn:
            head = f"⚠️ <b>Chat <code>{reserved.chat_id}</code> passed {WARN_PERCENT} % of its daily quota</b>"
        else:
            return
        await self._alerts.notice(
            f"{head}: {used:,} of {plural(limit, 'unit')} on {reserved.day.isoformat()} ({reserved.source}).\n"
            f"To change it: <code>/quota {reserved.chat_id} &lt;units&gt;</code> or "
            f"<code>/quota {reserved.chat_id} off</code>"
        )

    async def set_limit(
        self, chat_id: int, setting: Setting, *, by_chat_id: int, by_user_id: int | None, caller_role: Role | None
    ) -> QuotaStatus:
        """An admin sets a chat's limit, switches it off (None), or puts back its role's default; audited."""
        require(caller_role, "quota")
        if caller_role is not Role.ADMIN:
            raise NotAllowedError("Only an admin chat can change quotas.")
        async with self._db.transaction():
            if setting == "default":
                await self._db.quotas.clear_override(chat_id)
                detail = "back to the role's default"
            else:
                await self._db.quotas.set_override(chat_id, setting, by_chat_id=by_chat_id)
                detail = "no limit" if setting is None else f"{setting} units a day"
            await self._db.audit.record(
                audit_actions.QUOTA,
                actor_chat_id=by_chat_id,
                actor_user_id=by_user_id,
                target=f"chat {chat_id}",
                detail=detail,
            )
        return await self.status(chat_id)
