"""Append-only record of who did what: access changes, sends, bulk jobs and refused access.

There is deliberately no update or delete method, and triggers in the schema refuse both, so the log can be
trusted when someone asks "who sent this?". Action names are the constants below; ``detail`` is free text.
"""

from __future__ import annotations

import builtins

from storage.codec import check_page, text_to_time
from storage.connection import SharedConnection
from storage.links import Row
from storage.models import AuditRecord

GRANT = "grant"  # a chat was allowed or its role changed (also ADMIN_CHAT_IDS seeding)
REVOKE = "revoke"  # a chat lost access
SEND = "send"  # one SMS
BULK = "bulk"  # a bulk job was started
CANCEL = "cancel"  # a bulk job was stopped by a person
REQUEUE = "requeue"  # failed/unknown rows were put back to pending on request
RETRY = "retry"  # a person asked to resend a bulk job's failed and unknown recipients
REFUSED = "refused"  # a chat without access tried to use the bot
GROUP = "group"  # a contact group was created, changed or deleted (detail says how)
MIGRATE = "migrate"  # a group became a supergroup: its role, jobs and messages moved to the new chat id
BLOCK = "block"  # numbers were put on the opt-out blocklist
UNBLOCK = "unblock"  # numbers were taken off the opt-out blocklist
TEMPLATE_SAVE = "template_save"  # a message template was created or replaced
TEMPLATE_DELETE = "template_delete"  # a message template was deleted
QUOTA = "quota"  # a chat's daily quota was set, switched off or put back to its role's default
ALERT_ACK = "alert_ack"  # someone pressed Ack under an alert's post
ALERT_SILENCE = "alert_silence"  # an alert was silenced in Alertmanager from its post
ALERT_EXPIRE = "alert_expire"  # a silence made from a post was expired from it
ALERT_ESCALATE = "alert_escalate"  # an escalation step texted its targets

_COLUMNS = "id, at, actor_chat_id, actor_user_id, action, target, detail, units"


def _audit_from_row(row: Row) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        at=text_to_time(row["at"]),
        actor_chat_id=row["actor_chat_id"],
        actor_user_id=row["actor_user_id"],
        action=row["action"],
        target=row["target"],
        detail=row["detail"],
        units=row["units"],
    )


class AuditRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def record(
        self,
        action: str,
        *,
        actor_chat_id: int | None,
        actor_user_id: int | None,
        target: str | int | None = None,
        detail: str | None = None,
        units: int | None = None,
    ) -> AuditRecord:
        """Append one row; inside a caller's transaction it commits or rolls back with what it records."""
        at = self._conn.now_text()
        target_text = None if target is None else str(target)
        async with self._conn.transaction():
            row_id = await self._conn.insert(
                "INSERT INTO audit (at, actor_chat_id, actor_user_id, action, target, detail, units)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (at, actor_chat_id, actor_user_id, action, target_text, detail, units),
            )
        return AuditRecord(
            id=row_id,
            at=text_to_time(at),
            actor_chat_id=actor_chat_id,
            actor_user_id=actor_user_id,
            action=action,
            target=target_text,
            detail=detail,
            units=units,
        )

    async def list(self, limit: int = 50, chat_id: int | None = None, *, offset: int = 0) -> builtins.list[AuditRecord]:
        """Latest first; with ``chat_id``, only what that chat did."""
        check_page(limit, offset)
        if chat_id is None:
            rows = await self._conn.fetch_all(
                f"SELECT {_COLUMNS} FROM audit ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
            )
        else:
            rows = await self._conn.fetch_all(
                f"SELECT {_COLUMNS} FROM audit WHERE actor_chat_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
                (chat_id, limit, offset),
            )
        return [_audit_from_row(row) for row in rows]
