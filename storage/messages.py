"""The message log: one row per recipient per message, and its checked status changes.

A status only moves along ``models.ALLOWED_TRANSITIONS`` (a delivered SMS never becomes pending again); a
repeat of the current status that the table does not list is a harmless no-op, so a duplicated delivery report
changes nothing. Going back to ``pending`` is only possible through ``requeue``, a retry a person asked for
(and ``BatchOperations.release_claim`` for a claim whose request never left). ``provider`` is always the provider
that was sent the request: a provider failover (``record_failover``) changes it before the other one is called.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

from storage.codec import (
    check_page,
    chunks,
    decimal_to_text,
    placeholders,
    text_to_decimal,
    text_to_time,
)
from storage.connection import SharedConnection
from storage.errors import NotFoundError
from storage.links import Row
from storage.models import (
    FINAL_JOB_STATES,
    REQUEUEABLE,
    JobState,
    MessageRecord,
    MessageStatus,
    NewMessage,
    check_transition,
)
from storage.spend_requests import claim_request

MESSAGE_COLUMNS = (
    "id, chat_id, user_id, provider, provider_message_id, recipient, body, encoding, segments, units, cost,"
    " status, error, bulk_job_id, created_at, updated_at, failover_from, failover_reason"
)


def message_from_row(row: Row) -> MessageRecord:
    return MessageRecord(
        id=row["id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        provider=row["provider"],
        provider_message_id=row["provider_message_id"],
        recipient=row["recipient"],
        body=row["body"],
        encoding=row["encoding"],
        segments=row["segments"],
        units=row["units"],
        cost=text_to_decimal(row["cost"]),
        status=MessageStatus(row["status"]),
        error=row["error"],
        bulk_job_id=row["bulk_job_id"],
        created_at=text_to_time(row["created_at"]),
        updated_at=text_to_time(row["updated_at"]),
        failover_from=row["failover_from"],
        failover_reason=row["failover_reason"],
    )


class MessageRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def add(self, new: NewMessage, *, request_key: str | None = None) -> MessageRecord:
        """Insert one row; with ``request_key`` the Telegram update that asked for it is recorded in the same
        transaction, and a key already recorded raises ``DuplicateRequestError`` with nothing stored."""
        now = self._conn.now_text()
        async with self._conn.transaction():
            message_id = await self._conn.insert(
                "INSERT INTO messages (chat_id, user_id, provider, provider_message_id, recipient, body,"
                " encoding, segments, units, cost, status, error, bulk_job_id, created_at, updated_at, outside_quota)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.chat_id,
                    new.user_id,
                    new.provider,
                    new.provider_message_id,
                    new.recipient,
                    new.body,
                    new.encoding,
                    new.segments,
                    new.units,
                    decimal_to_text(new.cost),
                    new.status.value,
                    new.error,
                    new.bulk_job_id,
                    now,
                    now,
                    int(new.outside_quota),
                ),
            )
            if request_key is not None:
                await claim_request(self._conn, request_key, new.chat_id, message_id=message_id)
            record = await self.get(message_id)
        assert record is not None  # inserted just above, in this transaction
        return record

    async def get(self, message_id: int) -> MessageRecord | None:
        row = await self._conn.fetch_one(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,))
        return None if row is None else message_from_row(row)

    async def get_by_provider_id(self, provider: str, provider_message_id: str) -> MessageRecord | None:
        """The newest row the provider knows by this id (ids should be unique, but that is theirs to keep)."""
        row = await self._conn.fetch_one(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE provider = ? AND provider_message_id = ?"
            " ORDER BY id DESC LIMIT 1",
            (provider, provider_message_id),
        )
        return None if row is None else message_from_row(row)

    async def list_for_chat(self, chat_id: int, limit: int = 10, offset: int = 0) -> builtins.list[MessageRecord]:
        """Latest first, bulk rows included."""
        check_page(limit, offset)
        rows = await self._conn.fetch_all(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE chat_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (chat_id, limit, offset),
        )
        return [message_from_row(row) for row in rows]

    async def list_recent(self, limit: int = 10, offset: int = 0) -> builtins.list[MessageRecord]:
        """Latest first across all chats, for admins."""
        check_page(limit, offset)
        rows = await self._conn.fetch_all(
            f"SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
        )
        return [message_from_row(row) for row in rows]

    async def list_for_job(
        self, job_id: int, limit: int = 100, offset: int = 0, *, status: MessageStatus | None = None
    ) -> builtins.list[MessageRecord]:
        """A job's rows in recipient order, optionally only those in one status (e.g. the failed ones)."""
        check_page(limit, offset)
        if status is None:
            rows = await self._conn.fetch_all(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE bulk_job_id = ? ORDER BY id LIMIT ? OFFSET ?",
                (job_id, limit, offset),
            )
        else:
            rows = await self._conn.fetch_all(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE bulk_job_id = ? AND status = ?"
                " ORDER BY id LIMIT ? OFFSET ?",
                (job_id, status.value, limit, offset),
            )
        return [message_from_row(row) for row in rows]

    async def iter_for_chat(self, chat_id: int, page_size: int = 500) -> AsyncIterator[builtins.list[MessageRecord]]:
        """Every row of a chat, oldest first, a page at a time (for exports); other tasks run between pages."""
        async for page in self._pages("chat_id", chat_id, page_size):
            yield page

    async def iter_for_job(self, job_id: int, page_size: int = 500) -> AsyncIterator[builtins.list[MessageRecord]]:
        """Every row of a bulk job in recipient order, a page at a time (for exports)."""
        async for page in self._pages("bulk_job_id", job_id, page_size):
            yield page

    async def _pages(self, column: str, value: int, page_size: int) -> AsyncIterator[builtins.list[MessageRecord]]:
        if column not in ("chat_id", "bulk_job_id"):  # a column name cannot be a parameter: only these two
            raise ValueError(f"cannot page messages by {column!r}")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        after = 0
        while True:
            # Keyset paging (id > last seen) stays fast on page 200, where OFFSET would rescan every earlier row.
            rows = await self._conn.fetch_all(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE {column} = ? AND id > ? ORDER BY id LIMIT ?",
                (value, after, page_size),
            )
            if not rows:
                return
            page = [message_from_row(row) for row in rows]
            yield page
            after = page[-1].id

    async def set_status(
        self,
        message_id: int,
        status: MessageStatus,
        *,
        provider_message_id: str | None = None,
        units: int | None = None,
        cost: Decimal | None = None,
        error: str | None = None,
    ) -> MessageRecord:
        """Apply a checked status change; fields passed as None keep their stored value.

        Raises ``NotFoundError`` for an unknown id and ``InvalidTransitionError`` for a forbidden change.
        """
        async with self._conn.transaction():
            current = await self.get(message_id)
            if current is None:
                raise NotFoundError("message", message_id)
            if not check_transition(current.status, status, message_id):
                return current
            await self._conn.execute(
                "UPDATE messages SET status = ?, provider_message_id = COALESCE(?, provider_message_id),"
                " units = COALESCE(?, units), cost = COALESCE(?, cost), error = COALESCE(?, error),"
                " updated_at = ? WHERE id = ?",
                (
                    status.value,
                    provider_message_id,
                    units,
                    decimal_to_text(cost),
                    error,
                    self._conn.now_text(),
                    message_id,
                ),
            )
            record = await self.get(message_id)
        assert record is not None  # read inside the same transaction
        return record

    async def record_failover(
        self, message_id: int, *, provider: str, failover_from: str, reason: str
    ) -> MessageRecord | None:
        """A ``sending`` row that ``failover_from`` refused before sending now goes out through ``provider``; written
        before that provider is called, so a crash leaves the right provider on it. ``None``: the row is not
        ``sending`` any more (nothing may be sent for it)."""
        async with self._conn.transaction():
            changed = await self._conn.execute(
                "UPDATE messages SET provider = ?, failover_from = ?, failover_reason = ?, updated_at = ?"
                " WHERE id = ? AND status = ?",
                (provider, failover_from, reason, self._conn.now_text(), message_id, MessageStatus.SENDING.value),
            )
            return await self.get(message_id) if changed else None

    async def requeue(self, ids: Sequence[int]) -> int:
        """Put failed/unknown rows back to pending for a retry a person asked for; returns how many moved.

        Other rows are left alone. What the earlier attempt left behind is cleared (error, provider id, units,
        cost, delivery follow-up), so the new attempt is not confused with it. A finished bulk job that gets
        pending rows back is reopened (state ``queued``) so the bulk runner picks it up like any job with
        pending work.
        """
        if not ids:
            return 0
        now = self._conn.now_text()
        requeueable = [status.value for status in sorted(REQUEUEABLE)]
        moved = 0
        async with self._conn.transaction():
            for chunk in chunks(list(dict.fromkeys(ids)), 400):
                moved += await self._conn.execute(
                    f"UPDATE messages SET status = ?, error = NULL, provider_message_id = NULL, units = NULL,"
                    f" cost = NULL, tracking_done = 0, next_check_at = NULL, check_attempts = 0, updated_at = ?,"
                    # A row another provider took after a failover goes back to its job's own provider.
                    f" provider = COALESCE((SELECT provider FROM bulk_jobs WHERE bulk_jobs.id = messages.bulk_job_id),"
                    f" provider), failover_from = NULL, failover_reason = NULL,"
                    # The new attempt counts against the quota of the day it was asked for (migration 0008).
                    f" counted_at = ?"
                    f" WHERE status IN ({placeholders(len(requeueable))})"
                    f" AND id IN ({placeholders(len(chunk))})"
                    # A text removed by RETENTION_DAYS (storage/retention.py) must never go out as the SMS.
                    " AND text_removed_at IS NULL",
                    (MessageStatus.PENDING.value, now, now, *requeueable, *chunk),
                )
            if moved:
                finished = [state.value for state in sorted(FINAL_JOB_STATES)]
                await self._conn.execute(
                    f"UPDATE bulk_jobs SET state = ?, finished_at = NULL, delivery_summary_at = NULL, updated_at = ?"
                    f" WHERE state IN ({placeholders(len(finished))}) AND EXISTS ("
                    "SELECT 1 FROM messages m WHERE m.bulk_job_id = bulk_jobs.id AND m.status = ?)",
                    (JobState.QUEUED.value, now, *finished, MessageStatus.PENDING.value),
                )
        return moved
