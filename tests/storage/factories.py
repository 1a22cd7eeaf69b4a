"""Small builders for the values the storage tests write, with defaults that read like a real send."""

from __future__ import annotations

import contextlib
import sqlite3
from decimal import Decimal
from pathlib import Path

import asyncpg

from storage import MessageStatus, NewBulkJob, NewMessage

# A broken constraint, as each database's driver raises it.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)

ADMIN_CHAT = 1001
SENDER_CHAT = 2002
USER = 42


def a_message(
    *,
    chat_id: int = SENDER_CHAT,
    recipient: str = "254712345678",
    body: str = "Meeting moved to 3pm",
    status: MessageStatus = MessageStatus.PENDING,
    provider: str = "texin",
    provider_message_id: str | None = None,
    units: int | None = None,
    cost: Decimal | None = None,
    bulk_job_id: int | None = None,
) -> NewMessage:
    return NewMessage(
        chat_id=chat_id,
        user_id=USER,
        provider=provider,
        recipient=recipient,
        body=body,
        encoding="gsm7",
        segments=1,
        units=units,
        status=status,
        provider_message_id=provider_message_id,
        cost=cost,
        bulk_job_id=bulk_job_id,
    )


def a_job(*, chat_id: int = SENDER_CHAT, body: str = "Offer ends Friday", segments: int = 1) -> NewBulkJob:
    return NewBulkJob(
        chat_id=chat_id,
        user_id=USER,
        body=body,
        encoding="gsm7",
        segments=segments,
        provider="sms254",
        sender_id="SHOP",
    )


def numbers(count: int, start: int = 0) -> list[str]:
    """Distinct, valid-looking Kenyan mobile numbers in a stable order."""
    return [f"2547{index:08d}" for index in range(start, start + count)]


def old_schema_job(path: Path, job: NewBulkJob, recipients: list[str], texts: list[str] | None = None) -> int:
    """A queued job and its pending rows written with only the columns every schema has had (0001 on), into the
    SQLite file of an upgrade test (today's ``jobs.create`` writes columns an older schema lacks); its id."""
    at = "2026-11-20T09:00:00.000000+00:00"
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        cursor = conn.execute(
            "INSERT INTO bulk_jobs (chat_id, user_id, body, encoding, segments, provider, sender_id, state,"
            " total_recipients, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
            (job.chat_id, job.user_id, job.body, job.encoding, job.segments, job.provider, job.sender_id,
             len(recipients), at, at),
        )  # fmt: skip
        job_id = int(cursor.lastrowid or 0)
        conn.executemany(
            "INSERT INTO messages (chat_id, user_id, provider, recipient, body, encoding, segments, status,"
            " bulk_job_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            [(job.chat_id, job.user_id, job.provider, number, job.body if texts is None else texts[index],
              job.encoding, job.segments, job_id, at, at) for index, number in enumerate(recipients)],
        )  # fmt: skip
    return job_id
