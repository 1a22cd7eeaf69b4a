"""What was sent: latest messages and jobs for /history, and CSV exports for /export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

from bot.providers.types import ProviderName
from bot.services.authorization import require
from bot.services.errors import NotAllowedError, NotFoundError, UserInputError
from storage import BulkJobRecord, Database, JobTotals, MessageRecord, Role

EXPORT_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "chat_id",
    "recipient",
    "status",
    "provider",
    "provider_message_id",
    "bulk_job_id",
    "encoding",
    "segments",
    "units",
    "cost",
    "error",
    "body",
    "simulated",  # yes: sent through the simulator provider, nothing reached a phone
)


@dataclass(frozen=True, slots=True)
class History:
    messages: list[MessageRecord]
    jobs: list[tuple[BulkJobRecord, JobTotals]]
    all_chats: bool


@dataclass(frozen=True, slots=True)
class Export:
    file_name: str
    content: bytes
    rows: int


class HistoryService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def recent(self, *, chat_id: int, all_chats: bool, limit: int) -> History:
        """This chat's latest messages and jobs, or the whole team's (admins and viewers)."""
        if all_chats:
            messages = await self._db.messages.list_recent(limit=limit)
            jobs = await self._db.jobs.list_recent(limit=min(limit, 10))
        else:
            messages = await self._db.messages.list_for_chat(chat_id, limit=limit)
            jobs = await self._db.jobs.list_for_chat(chat_id, limit=min(limit, 10))
        with_totals = [(job, await self._db.jobs.totals(job.id)) for job in jobs]
        return History(messages, with_totals, all_chats)

    async def export_chat(self, chat_id: int, *, caller_role: Role | None) -> Export:
        require(caller_role, "export")
        rows = self._db.messages.iter_for_chat(chat_id)
        content, count = await _csv(rows)
        return Export(f"smsrelay-chat-{chat_id}.csv", content, count)

    async def export_job(self, job_id: int, *, chat_id: int, caller_role: Role | None) -> Export:
        """One job's rows: for its own chat, or for any admin chat."""
        require(caller_role, "export")
        job = await self._db.jobs.get(job_id)
        if job is None or (job.chat_id != chat_id and caller_role is not Role.ADMIN):
            if job is not None:
                raise NotAllowedError(f"Bulk job #{job_id} belongs to another chat.")
            raise NotFoundError(f"There is no bulk job #{job_id}.")
        content, count = await _csv(self._db.messages.iter_for_job(job_id))
        return Export(f"smsrelay-job-{job_id}.csv", content, count)


# Telegram bots may upload 50 MB; past this the export is refused instead of failing half-way.
MAX_EXPORT_BYTES = 45 * 1024 * 1024


# OWASP "CSV injection": a spreadsheet evaluates a cell starting with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | int | Decimal) -> str | int | Decimal:
    """Text that a spreadsheet would run as a formula gets a leading ``'`` (shown as text, not evaluated).

    Numbers we write ourselves stay numbers: ``-1001234567890`` (a group's chat id) is read as a number, it
    cannot carry a formula, and prefixing it would break every sum or lookup on that column.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


async def _csv(pages: AsyncIterator[list[MessageRecord]]) -> tuple[bytes, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    async for page in pages:
        for m in page:
            writer.writerow(
                tuple(
                    _cell(value)
                    for value in (
                        m.id,
                        m.created_at.isoformat(),
                        m.updated_at.isoformat(),
                        m.chat_id,
                        m.recipient,
                        m.status.value,
                        m.provider,
                        m.provider_message_id or "",
                        m.bulk_job_id or "",
                        m.encoding,
                        m.segments,
                        "" if m.units is None else m.units,
                        "" if m.cost is None else m.cost,
                        m.error or "",
                        m.body,
                        "yes" if ProviderName(m.provider).simulated else "no",
                    )
                )
            )
            count += 1
        if buffer.tell() > MAX_EXPORT_BYTES:
            raise UserInputError(
                f"The export is larger than Telegram allows ({MAX_EXPORT_BYTES // 1_048_576} MB). "
                "Export one bulk job at a time with /export <job id>."
            )
    # utf-8-sig so Excel opens it with the right characters.
    return buffer.getvalue().encode("utf-8-sig"), count
