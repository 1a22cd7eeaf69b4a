"""Which chats may use the bot, with which role, and who let them in.

``role`` answers from memory after the first read of a chat (the guard asks it for every update), and every
method here that changes a role forgets what it remembered once its transaction ends, so a revoked chat still
loses access with its very next update. Only this repository writes the table; another process (``notify``) only
reads it. Each change writes its audit row in the same transaction: an access change without its audit row cannot
exist. The "last admin" rule is checked inside that transaction too, so two admins demoting each other at once
cannot both win.

A group upgraded to a supergroup gets a new chat id; ``migrate`` moves everything the old id owns to the new one.
"""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from storage import audit
from storage.audit import AuditRepository
from storage.codec import text_to_time
from storage.connection import SharedConnection
from storage.errors import LastAdminError
from storage.links import Row
from storage.models import ChatRecord, Role

_COLUMNS = "chat_id, role, title, added_by, added_at, updated_at"


def _chat_from_row(row: Row) -> ChatRecord:
    return ChatRecord(
        chat_id=row["chat_id"],
        role=Role(row["role"]),
        title=row["title"],
        added_by=row["added_by"],
        added_at=text_to_time(row["added_at"]),
        updated_at=text_to_time(row["updated_at"]),
    )


_RANK = {Role.VIEWER: 0, Role.SENDER: 1, Role.ADMIN: 2}
# Chats whose role (or lack of one) is remembered; strangers count too, so the map is bounded.
_REMEMBERED_CHATS = 10_000


@dataclass(frozen=True, slots=True)
class ChatMove:
    """What ``migrate`` moved from a group's old id to its supergroup id."""

    old_chat_id: int
    new_chat_id: int
    role: Role | None  # the new chat's role afterwards (None: neither id had access)
    role_moved: bool
    jobs: int
    messages: int
    schedules: int = 0


class ChatRepository:
    def __init__(self, conn: SharedConnection, audit_log: AuditRepository) -> None:
        self._conn = conn
        self._audit = audit_log
        # chat id -> role (None: no access), as last read. ``_generation`` moves on with every change, so a read
        # that raced a change (read before its commit, finished after) is not remembered.
        self._roles: dict[int, Role | None] = {}
        self._generation = 0

    async def role(self, chat_id: int) -> Role | None:
        """The chat's role, from memory when known: the guard's per-update read costs no database round trip."""
        try:
            return self._roles[chat_id]
        except KeyError:
            pass
        generation = self._generation
        row = await self._conn.fetch_one("SELECT role FROM chats WHERE chat_id = ?", (chat_id,))
        role = None if row is None else Role(row["role"])
        # Not remembered inside a transaction (it may roll back) or when a change landed meanwhile.
        if generation == self._generation and not self._conn.in_transaction_here():
            if len(self._roles) >= _REMEMBERED_CHATS:
                self._roles.clear()  # a flood of strangers must not grow this without bound
            self._roles[chat_id] = role
        return role

    @contextlib.asynccontextmanager
    async def _change(self) -> AsyncIterator[None]:
        """The transaction of a role change: whether it commits or not, nothing read before it is trusted after."""
        self._forget()
        try:
            async with self._conn.transaction():
                yield
        finally:
            self._forget()

    def _forget(self) -> None:
        self._roles.clear()
        self._generation += 1

    async def get(self, chat_id: int) -> ChatRecord | None:
        row = await self._conn.fetch_one(f"SELECT {_COLUMNS} FROM chats WHERE chat_id = ?", (chat_id,))
        return None if row is None else _chat_from_row(row)

    async def list(self) -> builtins.list[ChatRecord]:
        """Every chat with access, in the order they were added."""
        rows = await self._conn.fetch_all(f"SELECT {_COLUMNS} FROM chats ORDER BY added_at, chat_id")
        return [_chat_from_row(row) for row in rows]

    async def admin_ids(self) -> builtins.list[int]:
        rows = await self._conn.fetch_all(
            "SELECT chat_id FROM chats WHERE role = ? ORDER BY chat_id", (Role.ADMIN.value,)
        )
        return [int(row["chat_id"]) for row in rows]

    async def seed_admins(self, chat_ids: Iterable[int]) -> builtins.list[int]:
        """Make every ADMIN_CHAT_IDS chat an admin (adding or promoting it); returns the ids that changed.

        Runs at every start-up, so it changes nothing the second time. It never demotes or removes anyone: an
        admin removed at run time while still listed in ADMIN_CHAT_IDS comes back at the next start.
        """
        changed: builtins.list[int] = []
        async with self._change():
            for chat_id in dict.fromkeys(chat_ids):
                existing = await self.get(chat_id)
                if existing is not None and existing.role is Role.ADMIN:
                    continue
                now = self._conn.now_text()
                if existing is None:
                    await self._conn.execute(
                        "INSERT INTO chats (chat_id, role, title, added_by, added_at, updated_at)"
                        " VALUES (?, ?, NULL, NULL, ?, ?)",
                        (chat_id, Role.ADMIN.value, now, now),
                    )
                    detail = "admin, from ADMIN_CHAT_IDS"
                else:
                    await self._set_role(chat_id, Role.ADMIN, None, now)
                    detail = f"admin (was {existing.role.value}), from ADMIN_CHAT_IDS"
                await self._audit.record(
                    audit.GRANT, actor_chat_id=None, actor_user_id=None, target=chat_id, detail=detail
                )
                changed.append(chat_id)
        return changed

    async def grant(
        self,
        chat_id: int,
        role: Role,
        added_by: int | None,
        title: str | None = None,
        *,
        actor_user_id: int | None = None,
        note: str | None = None,
    ) -> ChatRecord:
        """Allow a chat or change its role; ``added_by`` is the admin chat doing it (kept from the first), ``note``
        says how in the audit record. Raises ``LastAdminError`` when this would demote the only admin."""
        async with self._change():
            existing = await self.get(chat_id)
            now = self._conn.now_text()
            if existing is None:
                await self._conn.execute(
                    "INSERT INTO chats (chat_id, role, title, added_by, added_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (chat_id, role.value, title, added_by, now, now),
                )
                detail = f"{role.value} (new)"
            else:
                if existing.role is Role.ADMIN and role is not Role.ADMIN:
                    await self._refuse_if_last_admin(chat_id)
                await self._set_role(chat_id, role, title, now)
                detail = f"{role.value} (was {existing.role.value})"
            if note:
                detail = f"{detail}, {note}"
            await self._audit.record(
                audit.GRANT,
                actor_chat_id=added_by,
                actor_user_id=actor_user_id,
                target=chat_id,
                detail=detail,
            )
            record = await self.get(chat_id)
        assert record is not None  # written just above, in this transaction
        return record

    async def revoke(self, chat_id: int, by: int | None, *, actor_user_id: int | None = None) -> bool:
        """Take a chat's access away at once; False when it had none. ``LastAdminError`` for the only one."""
        async with self._change():
            existing = await self.get(chat_id)
            if existing is None:
                return False
            if existing.role is Role.ADMIN:
                await self._refuse_if_last_admin(chat_id)
            await self._conn.execute("DELETE FROM chats WHERE chat_id = ?", (chat_id,))
            await self._audit.record(
                audit.REVOKE,
                actor_chat_id=by,
                actor_user_id=actor_user_id,
                target=chat_id,
                detail=f"was {existing.role.value}",
            )
        return True

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> ChatMove | None:
        """Move the role, bulk jobs, message history, quota and schedules of ``old_chat_id`` to ``new_chat_id`` in
        one transaction, audited; None when the old id owned nothing (already moved: both migration messages and a
        failed send can report the same upgrade). When both ids have a role, the new chat keeps the stronger one."""
        if old_chat_id == new_chat_id:
            return None
        async with self._change():
            old = await self.get(old_chat_id)
            new = await self.get(new_chat_id)
            now = self._conn.now_text()
            role = None if new is None else new.role
            if old is not None:
                if new is None:
                    await self._conn.execute(
                        "UPDATE chats SET chat_id = ?, updated_at = ? WHERE chat_id = ?",
                        (new_chat_id, now, old_chat_id),
                    )
                    role = old.role
                else:
                    role = max(old.role, new.role, key=_RANK.__getitem__)
                    await self._conn.execute("DELETE FROM chats WHERE chat_id = ?", (old_chat_id,))
                    await self._set_role(new_chat_id, role, None, now)
            jobs = await self._conn.execute(
                "UPDATE bulk_jobs SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id)
            )
            messages = await self._conn.execute(
                "UPDATE messages SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id)
            )
            # The quota an admin set follows the chat (a limit the new id already had wins); migration 0008.
            await self._conn.execute(
                "UPDATE chat_quotas SET chat_id = ? WHERE chat_id = ?"
                " AND NOT EXISTS (SELECT 1 FROM chat_quotas WHERE chat_id = ?)",
                (new_chat_id, old_chat_id, new_chat_id),
            )
            await self._conn.execute("DELETE FROM chat_quotas WHERE chat_id = ?", (old_chat_id,))
            # Scheduled sends follow too (migration 0007): they fire for the chat that asked, under its new id.
            schedules = await self._conn.execute(
                "UPDATE schedules SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id)
            )
            if old is None and jobs == 0 and messages == 0 and schedules == 0:
                return None
            moved = f"role {old.role.value}" if old is not None else "no role"
            await self._audit.record(
                audit.MIGRATE,
                actor_chat_id=None,
                actor_user_id=None,
                target=new_chat_id,
                detail=f"group {old_chat_id} became this supergroup: {moved}, {jobs} bulk jobs, {messages} messages,"
                f" {schedules} schedules",
            )
        return ChatMove(old_chat_id, new_chat_id, role, old is not None, jobs, messages, schedules)

    async def _set_role(self, chat_id: int, role: Role, title: str | None, now: str) -> None:
        await self._conn.execute(
            "UPDATE chats SET role = ?, title = COALESCE(?, title), updated_at = ? WHERE chat_id = ?",
            (role.value, title, now, chat_id),
        )

    async def _refuse_if_last_admin(self, chat_id: int) -> None:
        row = await self._conn.fetch_one(
            "SELECT COUNT(*) AS others FROM chats WHERE role = ? AND chat_id != ?",
            (Role.ADMIN.value, chat_id),
        )
        if row is None or row["others"] == 0:
            raise LastAdminError(chat_id)
