"""Which chats may use the bot, in which role; every change and every refusal is audited.

The role is remembered by the chats repository, which forgets it with every change: ``/deny`` takes effect at once.

Strangers cost nothing: a refused chat is answered (and audited, and reported) at most once per
``REFUSAL_INTERVAL``; ``/start`` may show it its chat id again once per ``START_INTERVAL``; everything else it sends
is ignored. Those times live in memory, bounded (``REMEMBERED_STRANGERS``), not in the database: a write per
stranger message is the very cost to avoid, and forgetting (at a restart, or under a flood of new chats) only
means one more answer to a chat.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.services.alerts import AlertService
from bot.services.authorization import require
from bot.services.errors import UserInputError
from bot.services.first_admin import FirstAdminClaim
from bot.services.recent import RecentTimes
from storage import ChatRecord, Database, LastAdminError, Role, audit_actions
from storage.chats import ChatMove

REFUSAL_INTERVAL = timedelta(minutes=10)
START_INTERVAL = timedelta(minutes=1)
REMEMBERED_STRANGERS = 10_000


class AccessService:
    def __init__(
        self, db: Database, alerts: AlertService, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._db = db
        self._alerts = alerts
        self._clock = clock
        self._refused: RecentTimes[int] = RecentTimes(REMEMBERED_STRANGERS)
        self._shown_id: RecentTimes[int] = RecentTimes(REMEMBERED_STRANGERS)
        self.first_admin = FirstAdminClaim(db)  # /claim <code> while there is no admin at all

    async def seed_admins(self, chat_ids: list[int]) -> None:
        """ADMIN_CHAT_IDS are admins (added or promoted, never demoted); the repository audits the change."""
        await self._db.chats.seed_admins(chat_ids)

    async def role_of(self, chat_id: int) -> Role | None:
        return await self._db.chats.role(chat_id)

    async def allow(
        self, *, by_chat_id: int, by_user_id: int | None, chat_id: int, role: Role, caller_role: Role | None
    ) -> tuple[ChatRecord, Role | None]:
        """Grant or change a role (audited by the repository); returns the record and the role it had before."""
        require(caller_role, "allow")
        before = await self._db.chats.get(chat_id)
        try:
            record = await self._db.chats.grant(chat_id, role, added_by=by_chat_id, actor_user_id=by_user_id)
        except LastAdminError:
            raise UserInputError("That is the last admin chat; make another chat admin first.") from None
        return record, None if before is None else before.role

    async def deny(self, *, by_chat_id: int, by_user_id: int | None, chat_id: int, caller_role: Role | None) -> bool:
        require(caller_role, "deny")
        try:
            return await self._db.chats.revoke(chat_id, by=by_chat_id, actor_user_id=by_user_id)
        except LastAdminError:
            raise UserInputError("That is the last admin chat; it cannot be removed.") from None

    async def chats(self) -> list[ChatRecord]:
        return await self._db.chats.list()

    async def admin_chat_ids(self) -> list[int]:
        return await self._db.chats.admin_ids()

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> ChatMove | None:
        """A group became a supergroup: its role, jobs and history follow it (audited) and the admins are told.
        Safe to call again for the same upgrade: the second call finds nothing to move and says nothing."""
        move = await self._db.chats.migrate(old_chat_id, new_chat_id)
        if move is not None:
            role = f"its role <b>{move.role.value}</b>, " if move.role_moved and move.role is not None else ""
            await self._alerts.notice(
                f"🔀 Group <code>{old_chat_id}</code> was upgraded to a supergroup, now <code>{new_chat_id}</code>. "
                f"Moved to the new id: {role}{move.jobs:,} bulk job(s), {move.messages:,} message(s)"
                f" and {move.schedules:,} scheduled send(s)."
            )
        return move

    async def refused(
        self, *, chat_id: int, user_id: int | None, name: str, attempted: str, asks_for_id: bool = False
    ) -> bool:
        """Whether to answer this refused attempt (``asks_for_id``: it is /start); audits and reports the ones
        answered in full. Marked before any await: concurrent updates from one chat must not all pass."""
        now = self._clock()
        if self._refused.due(chat_id, now, REFUSAL_INTERVAL):
            self._refused.mark(chat_id, now)
            self._shown_id.mark(chat_id, now)
            await self._db.audit.record(
                audit_actions.REFUSED,
                actor_chat_id=chat_id,
                actor_user_id=user_id,
                detail=attempted[:200],
            )
            await self._alerts.intruder(chat_id=chat_id, name=name, attempted=attempted)
            return True
        if asks_for_id and self._shown_id.due(chat_id, now, START_INTERVAL):
            self._shown_id.mark(chat_id, now)
            return True
        return False
