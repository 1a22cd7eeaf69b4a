"""Small builders for the values the storage tests write, with defaults that read like a real send."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

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
