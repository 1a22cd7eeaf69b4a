"""The fact that a database was put back from a backup, kept inside it until the next start has settled what the
backup cannot know.

A backup is a snapshot: rows ``pending`` or ``sending`` in it (and schedules still ``pending``) may have gone out
after it was taken. ``python -m bot restore`` writes a marker into the restored copy (a row in ``alert_state``, no
new table needed) with the newest time the backup holds (a lower bound of when it was taken) and the time of the
restore (an upper bound of anything that can have fired). At the next start, before anything is resumed,
``settle`` marks that work unknown or missed and removes the marker, all in one transaction: a crash in between
leaves the marker, and the next start repeats the settling.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from storage.codec import optional_text_to_time, text_to_time, time_to_text
from storage.connection import SharedConnection
from storage.models import JobState, MessageStatus
from storage.schedules import ScheduleRecord, ScheduleRepository

RESTORE_MARKER_KEY = "restored-from-backup"

# Where a backup writes its times: the newest of them is the latest moment the backup is known to have seen.
_TIMESTAMPS = (
    ("messages", "updated_at"),
    ("bulk_jobs", "updated_at"),
    ("chats", "updated_at"),
    ("audit", "at"),
    ("alert_state", "updated_at"),
    ("spend_requests", "created_at"),
    ("blocked_numbers", "blocked_at"),
    ("templates", "saved_at"),
    ("contact_groups", "created_at"),
    ("contact_group_members", "added_at"),
    ("schedules", "created_at"),
    ("schedules", "finished_at"),
    ("chat_quotas", "set_at"),
)
_UNFINISHED_JOB = (JobState.QUEUED.value, JobState.RUNNING.value)
_UNKNOWN = MessageStatus.UNKNOWN.value
_PENDING = MessageStatus.PENDING.value
_SENDING = MessageStatus.SENDING.value


class RestoreMarkerError(Exception):
    """The backup cannot carry a restore marker (it predates the ``alert_state`` table)."""


@dataclass(frozen=True, slots=True)
class RestoreMarker:
    backup_name: str
    backup_time: datetime | None  # newest time written in the backup (None: it holds no times at all)
    restored_at: datetime


@dataclass(frozen=True, slots=True)
class RestoreSettlement:
    marker: RestoreMarker
    unknown_by_job: dict[int, int]  # bulk job id → rows marked unknown
    unknown_singles: int  # single sends left ``sending`` in the backup
    missed: builtins.list[ScheduleRecord]  # schedules due before the restore, now missed


def write_marker(conn: sqlite3.Connection, backup_name: str, restored_at: datetime) -> RestoreMarker:
    """Record in a freshly restored copy (plain ``sqlite3``, autocommit) that it was restored, and from when."""
    tables = {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "alert_state" not in tables:
        raise RestoreMarkerError("the backup predates smsrelay's alert_state table and cannot record the restore")
    newest: str | None = None
    for table, column in _TIMESTAMPS:
        if table not in tables:
            continue
        columns = {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            continue
        # Identifiers from the fixed list above; values never enter the SQL text.
        found = conn.execute(f"SELECT MAX({column}) FROM {table}").fetchone()[0]
        if found is not None and (newest is None or str(found) > newest):
            newest = str(found)
    marker = RestoreMarker(backup_name, optional_text_to_time(newest), restored_at)
    value = json.dumps(
        {"backup": backup_name, "backup_time": newest, "restored_at": time_to_text(restored_at)}, sort_keys=True
    )
    conn.execute(
        "INSERT INTO alert_state (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (RESTORE_MARKER_KEY, value, time_to_text(restored_at)),
    )
    return marker


def _marker_from(value: str) -> RestoreMarker:
    fields = json.loads(value)
    return RestoreMarker(
        backup_name=str(fields["backup"]),
        backup_time=optional_text_to_time(fields.get("backup_time")),
        restored_at=text_to_time(fields["restored_at"]),
    )


class RestoreMarkerRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def get(self) -> RestoreMarker | None:
        row = await self._conn.fetch_one("SELECT value FROM alert_state WHERE key = ?", (RESTORE_MARKER_KEY,))
        return None if row is None else _marker_from(str(row["value"]))

    async def settle(self, marker: RestoreMarker, *, error: str, schedule_outcome: str) -> RestoreSettlement | None:
        """In one transaction: pending/sending rows of unfinished bulk jobs and sending single sends become
        ``unknown`` with ``error``; schedules pending (or firing with nothing recorded) and due before the restore
        become ``missed``; the marker goes. None when another start settled it first (nothing changed)."""
        now = self._conn.now_text()
        async with self._conn.transaction():
            gone = await self._conn.fetch_all(
                "DELETE FROM alert_state WHERE key = ? RETURNING key", (RESTORE_MARKER_KEY,)
            )
            if not gone:
                return None
            in_jobs = await self._conn.fetch_all(
                "UPDATE messages SET status = ?, error = ?, updated_at = ?"
                " WHERE status IN (?, ?) AND bulk_job_id IN (SELECT id FROM bulk_jobs WHERE state IN (?, ?))"
                " RETURNING bulk_job_id",
                (_UNKNOWN, error, now, _PENDING, _SENDING, *_UNFINISHED_JOB),
            )
            # Any row still ``sending`` (a single send, or a batch of a job cancelled meanwhile) is as uncertain.
            others = await self._conn.fetch_all(
                "UPDATE messages SET status = ?, error = ?, updated_at = ? WHERE status = ? RETURNING bulk_job_id",
                (_UNKNOWN, error, now, _SENDING),
            )
            missed = await self._conn.fetch_all(
                "UPDATE schedules SET state = 'missed', finished_at = ?, outcome = ?"
                " WHERE due_at < ? AND (state = 'pending' OR (state = 'firing' AND NOT EXISTS"
                " (SELECT 1 FROM spend_requests WHERE key = 'sched:' || schedules.id)))"
                " RETURNING id",
                (now, schedule_outcome, time_to_text(marker.restored_at)),
            )
        by_job: dict[int, int] = {}
        singles = 0
        for row in [*in_jobs, *others]:
            if row["bulk_job_id"] is None:
                singles += 1
            else:
                by_job[int(row["bulk_job_id"])] = by_job.get(int(row["bulk_job_id"]), 0) + 1
        schedules = ScheduleRepository(self._conn)
        records = [await schedules.get(int(row["id"])) for row in missed]
        settled = sorted((r for r in records if r is not None), key=lambda r: (r.due_at, r.id))
        return RestoreSettlement(marker, dict(sorted(by_job.items())), singles, settled)
