"""Scheduled sends: stored when made, claimed in one statement when due, and settled exactly once.

A due schedule moves ``pending → firing`` in a single UPDATE before anything is sent; only the task that changed
the row fires it. What the firing creates (the ``sending`` row, the bulk job) carries the request key
``sched:<id>`` in ``spend_requests``, so after a crash a ``firing`` row is settled by that key alone: recorded
means it went through the send path (done), absent means nothing was stored or sent (it may fire again).
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from storage.codec import optional_text_to_time, text_to_time, time_to_text
from storage.connection import SharedConnection
from storage.links import Row
from storage.spend_requests import claim_request


class ScheduleState(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    DONE = "done"
    CANCELLED = "cancelled"
    MISSED = "missed"
    REFUSED = "refused"


class ScheduleKind(StrEnum):
    SEND = "send"
    BULK = "bulk"


@dataclass(frozen=True, slots=True)
class NewSchedule:
    chat_id: int
    user_id: int | None
    kind: ScheduleKind
    provider: str
    body: str
    recipients: tuple[str, ...]
    due_at: datetime
    source: str | None = None
    texts: tuple[str, ...] | None = None  # each recipient's own text (mail merge), in the order of ``recipients``

    def __post_init__(self) -> None:
        if self.texts is not None and len(self.texts) != len(self.recipients):
            raise ValueError(f"{len(self.texts)} texts for {len(self.recipients)} recipients")


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    id: int
    chat_id: int
    user_id: int | None
    kind: ScheduleKind
    provider: str
    body: str
    recipients: tuple[str, ...]
    source: str | None
    due_at: datetime
    state: ScheduleState
    created_at: datetime
    finished_at: datetime | None
    outcome: str | None
    personal: bool = False  # each recipient has their own text (``ScheduleRepository.texts``)

    @property
    def request_key(self) -> str:
        """The identity its firing is recorded under (``spend_requests``)."""
        return schedule_key(self.id)


def schedule_key(schedule_id: int) -> str:
    return f"sched:{schedule_id}"


# Not the texts themselves: a listing of pending schedules should not read every recipient's message.
_COLUMNS = (
    "id, chat_id, user_id, kind, provider, body, recipients, source, due_at, state, created_at, finished_at, outcome,"
    " texts IS NOT NULL AS personal"
)


def _from_row(row: Row) -> ScheduleRecord:
    return ScheduleRecord(
        id=row["id"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        kind=ScheduleKind(row["kind"]),
        provider=row["provider"],
        body=row["body"],
        recipients=tuple(json.loads(row["recipients"])),
        source=row["source"],
        due_at=text_to_time(row["due_at"]),
        state=ScheduleState(row["state"]),
        created_at=text_to_time(row["created_at"]),
        finished_at=optional_text_to_time(row["finished_at"]),
        outcome=row["outcome"],
        personal=bool(row["personal"]),
    )


class ScheduleRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def add(self, schedule: NewSchedule, *, request_key: str | None = None) -> ScheduleRecord:
        """Store a pending schedule; ``request_key`` (the update that asked) is claimed in the same transaction,
        so a repeat raises ``DuplicateRequestError`` and stores nothing."""
        async with self._conn.transaction():
            if request_key is not None:  # first: a repeat fails here, before the row's own unique key would
                await claim_request(self._conn, request_key, schedule.chat_id)
            new_id = await self._conn.insert(
                "INSERT INTO schedules (chat_id, user_id, kind, provider, body, recipients, source, due_at, state,"
                " created_at, request_key, texts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                (
                    schedule.chat_id,
                    schedule.user_id,
                    schedule.kind.value,
                    schedule.provider,
                    schedule.body,
                    json.dumps(list(schedule.recipients)),
                    schedule.source,
                    time_to_text(schedule.due_at),
                    self._conn.now_text(),
                    request_key,
                    None if schedule.texts is None else json.dumps(list(schedule.texts)),
                ),
            )
        record = await self.get(new_id)
        assert record is not None
        return record

    async def get(self, schedule_id: int) -> ScheduleRecord | None:
        row = await self._conn.fetch_one(f"SELECT {_COLUMNS} FROM schedules WHERE id = ?", (schedule_id,))
        return None if row is None else _from_row(row)

    async def texts(self, schedule_id: int) -> tuple[str, ...] | None:
        """Each recipient's own text, in the order of its recipients; None when everyone gets ``body``."""
        row = await self._conn.fetch_one("SELECT texts FROM schedules WHERE id = ?", (schedule_id,))
        return None if row is None or row["texts"] is None else tuple(json.loads(row["texts"]))

    async def pending(self, *, chat_id: int | None, limit: int, offset: int = 0) -> builtins.list[ScheduleRecord]:
        """Pending schedules, soonest first; ``chat_id`` None: every chat's."""
        if chat_id is None:
            rows = await self._conn.fetch_all(
                f"SELECT {_COLUMNS} FROM schedules WHERE state = 'pending' ORDER BY due_at, id LIMIT ? OFFSET ?",
                (limit, offset),
            )
        else:
            rows = await self._conn.fetch_all(
                f"SELECT {_COLUMNS} FROM schedules WHERE state = 'pending' AND chat_id = ?"
                " ORDER BY due_at, id LIMIT ? OFFSET ?",
                (chat_id, limit, offset),
            )
        return [_from_row(row) for row in rows]

    async def count_pending(self, *, chat_id: int | None) -> int:
        if chat_id is None:
            row = await self._conn.fetch_one("SELECT COUNT(*) AS n FROM schedules WHERE state = 'pending'")
        else:
            row = await self._conn.fetch_one(
                "SELECT COUNT(*) AS n FROM schedules WHERE state = 'pending' AND chat_id = ?", (chat_id,)
            )
        return 0 if row is None else int(row["n"])

    async def cancel(self, schedule_id: int, note: str) -> bool:
        """Pending → cancelled; False when it was not pending any more (cancelled, fired, missed)."""
        rows = await self._conn.write_one(
            "UPDATE schedules SET state = 'cancelled', finished_at = ?, outcome = ?"
            " WHERE id = ? AND state = 'pending' RETURNING id",
            (self._conn.now_text(), note, schedule_id),
        )
        return bool(rows)

    async def cancel_for_chat(self, chat_id: int, note: str) -> builtins.list[int]:
        """Cancel every pending schedule of a chat (it lost access); returns their ids."""
        rows = await self._conn.write_one(
            "UPDATE schedules SET state = 'cancelled', finished_at = ?, outcome = ?"
            " WHERE chat_id = ? AND state = 'pending' RETURNING id",
            (self._conn.now_text(), note, chat_id),
        )
        return sorted(int(row["id"]) for row in rows)

    async def miss_older_than(self, cutoff: datetime) -> builtins.list[ScheduleRecord]:
        """Pending schedules due before ``cutoff`` (beyond the grace) become missed, in one statement."""
        rows = await self._conn.write_one(
            "UPDATE schedules SET state = 'missed', finished_at = ?, outcome = 'missed: the bot was down'"
            f" WHERE state = 'pending' AND due_at < ? RETURNING {_COLUMNS}",
            (self._conn.now_text(), time_to_text(cutoff)),
        )
        return sorted((_from_row(row) for row in rows), key=lambda r: (r.due_at, r.id))

    async def claim_due(self, now: datetime) -> builtins.list[ScheduleRecord]:
        """Pending schedules due by ``now`` become ``firing`` in one statement; only the caller fires them."""
        rows = await self._conn.write_one(
            f"UPDATE schedules SET state = 'firing' WHERE state = 'pending' AND due_at <= ? RETURNING {_COLUMNS}",
            (time_to_text(now),),
        )
        return sorted((_from_row(row) for row in rows), key=lambda r: (r.due_at, r.id))

    async def finish(self, schedule_id: int, state: ScheduleState, outcome: str) -> None:
        """Settle a firing schedule (done, refused)."""
        async with self._conn.transaction():
            await self._conn.execute(
                "UPDATE schedules SET state = ?, finished_at = ?, outcome = ? WHERE id = ? AND state = 'firing'",
                (state.value, self._conn.now_text(), outcome, schedule_id),
            )

    async def settle_interrupted(self) -> tuple[builtins.list[int], builtins.list[int]]:
        """At start-up: ``firing`` rows whose key is recorded went through the send path (→ done); the others
        provably stored and sent nothing (→ pending again, due as before). Returns (done ids, re-armed ids)."""
        async with self._conn.transaction():
            done = await self._conn.fetch_all(
                "UPDATE schedules SET state = 'done', finished_at = ?,"
                " outcome = COALESCE(outcome, 'fired before a restart')"
                " WHERE state = 'firing' AND EXISTS (SELECT 1 FROM spend_requests WHERE key = 'sched:' || schedules.id)"
                " RETURNING id",
                (self._conn.now_text(),),
            )
            again = await self._conn.fetch_all(
                "UPDATE schedules SET state = 'pending' WHERE state = 'firing' RETURNING id"
            )
        return sorted(int(r["id"]) for r in done), sorted(int(r["id"]) for r in again)
