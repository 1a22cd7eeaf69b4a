"""Alert incidents and their posts in the admin chats (migration 0019): what the buttons, the resolve and the
escalation change. An incident is one alert's fingerprint and start; every write here is one atomic statement or
transaction, so two presses, or a press and a resolve, never both win."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from storage.codec import optional_text_to_time, text_to_time, time_to_text
from storage.connection import SharedConnection
from storage.links import Row


class IncidentChange(StrEnum):
    NEW = "new"  # first seen: post it
    REPEATED = "repeated"  # the same state again (Alertmanager's repeat): the post's count grows
    RESOLVED = "resolved"  # was firing, now resolved
    REFIRED = "refired"  # was resolved, fires again with the same start (rare): shown firing again


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """One alert as a notification tells it: what identifies it, what its post shows, what it is now."""

    fingerprint: str
    starts_at: datetime | None
    source: str  # 'alertmanager' or 'plain'
    name: str
    severity: str | None
    instance: str | None
    summary: str | None
    labels: dict[str, str]
    firing: bool
    escalates: bool
    problem: str | None = None  # what of the alert could not be read (the post says so)


@dataclass(frozen=True, slots=True)
class Incident:
    id: int
    fingerprint: str
    starts_at: datetime | None
    source: str
    name: str
    severity: str | None
    instance: str | None
    summary: str | None
    labels: dict[str, str]
    firing: bool
    escalates: bool
    first_seen_at: datetime
    last_seen_at: datetime
    notifications: int
    resolved_at: datetime | None
    acked_by: str | None
    acked_at: datetime | None
    silence_id: str | None
    silenced_by: str | None
    silenced_until: datetime | None
    escalation_step: int  # steps already done
    escalated_to: str  # who they reached, for the post and /alerts ("" when none)
    texted: tuple[str, ...] = ()  # the numbers its escalation texted (each gets one all-clear)
    all_clear_sent: bool = False
    problem: str | None = None
    gone_at: datetime | None = None  # closed because Alertmanager no longer had it, though no resolve came

    @property
    def since(self) -> datetime:
        """When it started: Alertmanager's start, else when the bot first heard of it."""
        return self.starts_at or self.first_seen_at

    def silenced_at(self, now: datetime) -> bool:
        return self.silenced_until is not None and self.silenced_until > now


_COLUMNS = (
    "id, fingerprint, starts_at, source, name, severity, instance, summary, labels, status, escalates, "
    "first_seen_at, last_seen_at, notifications, resolved_at, acked_by, acked_at, silence_id, silenced_by, "
    "silenced_until, escalation_step, escalated_to, texted, all_clear_sent, problem, gone_at"
)


def _incident(row: Row) -> Incident:
    starts = str(row["starts_at"])
    return Incident(
        id=int(row["id"]),
        fingerprint=str(row["fingerprint"]),
        starts_at=text_to_time(starts) if starts else None,
        source=str(row["source"]),
        name=str(row["name"]),
        severity=row["severity"],
        instance=row["instance"],
        summary=row["summary"],
        labels=json.loads(row["labels"]),
        firing=row["status"] == "firing",
        escalates=bool(row["escalates"]),
        first_seen_at=text_to_time(row["first_seen_at"]),
        last_seen_at=text_to_time(row["last_seen_at"]),
        notifications=int(row["notifications"]),
        resolved_at=optional_text_to_time(row["resolved_at"]),
        acked_by=row["acked_by"],
        acked_at=optional_text_to_time(row["acked_at"]),
        silence_id=row["silence_id"],
        silenced_by=row["silenced_by"],
        silenced_until=optional_text_to_time(row["silenced_until"]),
        escalation_step=int(row["escalation_step"]),
        escalated_to=str(row["escalated_to"]),
        texted=tuple(json.loads(row["texted"])),
        all_clear_sent=bool(row["all_clear_sent"]),
        problem=row["problem"],
        gone_at=optional_text_to_time(row["gone_at"]),
    )


class IncidentRepository:
    def __init__(self, conn: SharedConnection) -> None:
        self._conn = conn

    async def record(self, notice: AlertNotice) -> tuple[Incident, IncidentChange]:
        """Store what a notification said about one alert, and how that changed its incident. A fingerprint has at
        most one firing incident: a notification with another start (the alert flapped between two notifications)
        belongs to it; a firing one with no open incident opens a new one (or reopens the one of that start)."""
        starts = "" if notice.starts_at is None else time_to_text(notice.starts_at)
        now = self._conn.now_text()
        async with self._conn.transaction():
            row = None
            if notice.source == "alertmanager":  # a plain alert's start is its fold window: it never flaps
                row = await self._conn.fetch_one(
                    f"SELECT {_COLUMNS} FROM alert_incidents WHERE fingerprint = ? AND status = 'firing'"
                    " ORDER BY id DESC LIMIT 1",
                    (notice.fingerprint,),
                )
            if row is None:
                row = await self._conn.fetch_one(
                    f"SELECT {_COLUMNS} FROM alert_incidents WHERE fingerprint = ? AND starts_at = ?",
                    (notice.fingerprint, starts),
                )
            if row is None:
                incident_id = await self._insert(notice, starts, now)
                change = IncidentChange.NEW
            else:
                incident_id = int(row["id"])
                was_firing = row["status"] == "firing"
                if was_firing == notice.firing:
                    change = IncidentChange.REPEATED
                else:
                    change = IncidentChange.RESOLVED if was_firing else IncidentChange.REFIRED
                status = "firing" if notice.firing else "resolved"
                await self._conn.execute(
                    "UPDATE alert_incidents SET status = ?, last_seen_at = ?, notifications = notifications + ?,"
                    " all_clear_sent = CASE WHEN CAST(? AS TEXT) = 'firing' THEN 0 ELSE all_clear_sent END,"
                    " gone_at = NULL,"
                    " resolved_at = CASE WHEN CAST(? AS TEXT) = 'resolved' THEN COALESCE(resolved_at, ?) ELSE NULL END,"
                    " summary = COALESCE(?, summary), problem = COALESCE(?, problem) WHERE id = ?",
                    (
                        status,
                        now,
                        int(change is IncidentChange.REPEATED and notice.firing),
                        status,
                        status,
                        now,
                        notice.summary,
                        notice.problem,
                        incident_id,
                    ),
                )
            incident = await self.get(incident_id)
        if incident is None:
            raise LookupError(f"incident {notice.fingerprint} vanished")
        return incident, change

    async def _insert(self, notice: AlertNotice, starts: str, now: str) -> int:
        return await self._conn.insert(
            "INSERT INTO alert_incidents (fingerprint, starts_at, source, name, severity, instance, summary,"
            " labels, status, escalates, first_seen_at, last_seen_at, resolved_at, problem)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                notice.fingerprint,
                starts,
                notice.source,
                notice.name,
                notice.severity,
                notice.instance,
                notice.summary,
                json.dumps(notice.labels, sort_keys=True),
                "firing" if notice.firing else "resolved",
                int(notice.escalates),
                now,
                now,
                None if notice.firing else now,
                notice.problem,
            ),
        )

    async def get(self, incident_id: int) -> Incident | None:
        found = await self._select("id = ?", (incident_id,))
        return found[0] if found else None

    async def latest(self, fingerprint: str) -> Incident | None:
        """The newest incident of this fingerprint (a plain alert's text), if any."""
        found = await self._select("fingerprint = ? ORDER BY first_seen_at DESC, id DESC LIMIT 1", (fingerprint,))
        return found[0] if found else None

    async def add_post(self, incident_id: int, chat_id: int, message_id: int) -> None:
        async with self._conn.transaction():
            await self._conn.execute(
                "INSERT INTO alert_posts (incident_id, chat_id, message_id) VALUES (?, ?, ?)"
                " ON CONFLICT (incident_id, chat_id) DO UPDATE SET message_id = excluded.message_id",
                (incident_id, chat_id, message_id),
            )

    async def posts(self, incident_id: int) -> list[tuple[int, int]]:
        """(chat id, message id) of each post of the incident."""
        rows = await self._conn.fetch_all(
            "SELECT chat_id, message_id FROM alert_posts WHERE incident_id = ? ORDER BY chat_id", (incident_id,)
        )
        return [(int(row["chat_id"]), int(row["message_id"])) for row in rows]

    async def acknowledge(self, incident_id: int, who: str, now: datetime) -> bool:
        """Mark it acknowledged by ``who``; False when it already was (the first press wins)."""
        return await self._change(
            "UPDATE alert_incidents SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_at IS NULL",
            (who, time_to_text(now), incident_id),
        )

    async def silence(self, incident_id: int, silence_id: str, who: str, until: datetime) -> bool:
        """Keep the silence; it ends the incident's escalation for good, as an Ack does."""
        return await self._change(
            "UPDATE alert_incidents SET silence_id = ?, silenced_by = ?, silenced_until = ?, escalates = 0"
            " WHERE id = ?",
            (silence_id, who, time_to_text(until), incident_id),
        )

    async def end_silence(self, incident_id: int, silence_id: str) -> bool:
        """Forget the silence ``silence_id``; False when the incident holds another one (or none) by now."""
        return await self._change(
            "UPDATE alert_incidents SET silence_id = NULL, silenced_by = NULL, silenced_until = NULL"
            " WHERE id = ? AND silence_id = ?",
            (incident_id, silence_id),
        )

    async def finish_step(self, incident_id: int, step: int, reached: str) -> bool:
        """Step ``step`` (0-based) is done and reached ``reached``; False when it was already recorded."""
        return await self._change(
            "UPDATE alert_incidents SET escalation_step = ?,"
            " escalated_to = CASE WHEN escalated_to = '' THEN ? ELSE escalated_to || '; ' || ? END"
            " WHERE id = ? AND escalation_step = ?",
            (step + 1, reached, reached, incident_id, step),
        )

    async def add_texted(self, incident_id: int, number: str) -> None:
        """Remember that its escalation texted ``number`` (once): who hears the all-clear."""
        await self._edit_texted(incident_id, number, keep=True)

    async def remove_texted(self, incident_id: int, number: str) -> None:
        """The SMS to ``number`` did not go (refused, failed): no all-clear for it."""
        await self._edit_texted(incident_id, number, keep=False)

    async def _edit_texted(self, incident_id: int, number: str, *, keep: bool) -> None:
        async with self._conn.transaction():
            row = await self._conn.fetch_one("SELECT texted FROM alert_incidents WHERE id = ?", (incident_id,))
            if row is None or (number in (texted := json.loads(row["texted"]))) == keep:
                return
            changed = [*texted, number] if keep else [kept for kept in texted if kept != number]
            await self._conn.execute(
                "UPDATE alert_incidents SET texted = ? WHERE id = ?", (json.dumps(changed), incident_id)
            )

    async def all_clears_due(self) -> list[Incident]:
        """Resolved incidents whose escalation texted someone who has not had the all-clear yet."""
        return await self._select("status = 'resolved' AND all_clear_sent = 0 AND texted <> '[]' ORDER BY id")

    async def all_clear_done(self, incident_id: int) -> None:
        await self._change("UPDATE alert_incidents SET all_clear_sent = 1 WHERE id = ?", (incident_id,))

    async def close(self, incident_id: int) -> bool:
        """Resolve a firing incident Alertmanager no longer has, though no resolve came (it resolved while silenced)."""
        now = self._conn.now_text()
        return await self._change(
            "UPDATE alert_incidents SET status = 'resolved', resolved_at = ?, gone_at = ?"
            " WHERE id = ? AND status = 'firing'",
            (now, now, incident_id),
        )

    async def firing_alertmanager(self) -> list[Incident]:
        """Every firing incident of Alertmanager's alerts, oldest first: what the bot compares with Alertmanager."""
        return await self._select("status = 'firing' AND source = 'alertmanager' ORDER BY id")

    async def escalating(self, steps: int) -> list[Incident]:
        """Firing incidents that escalate, are not acknowledged and have steps left (oldest first)."""
        return await self._select(
            "status = 'firing' AND escalates = 1"
            " AND acked_at IS NULL AND escalation_step < ? ORDER BY first_seen_at, id",
            (steps,),
        )

    async def firing(self, limit: int) -> list[Incident]:
        """Firing Alertmanager incidents, newest first (a plain alert has no state to resolve: never listed)."""
        return await self._list("status = 'firing' AND source = 'alertmanager'", limit)

    async def resolved(self, limit: int) -> list[Incident]:
        """The latest resolved incidents, newest resolve first."""
        return await self._select(
            "status = 'resolved' ORDER BY resolved_at DESC, id DESC LIMIT ?",
            (limit,),
        )

    async def count_firing(self) -> int:
        row = await self._conn.fetch_one(
            "SELECT COUNT(*) FROM alert_incidents WHERE status = 'firing' AND source = 'alertmanager'"
        )
        return 0 if row is None else int(row[0])

    async def _list(self, where: str, limit: int) -> list[Incident]:
        return await self._select(f"{where} ORDER BY first_seen_at DESC, id DESC LIMIT ?", (limit,))

    async def _select(self, condition: str, params: tuple[object, ...] = ()) -> list[Incident]:
        """The incidents matching ``condition`` (a constant ``WHERE … ORDER BY``; values are parameters)."""
        rows = await self._conn.fetch_all(f"SELECT {_COLUMNS} FROM alert_incidents WHERE {condition}", params)
        return [_incident(row) for row in rows]

    async def _change(self, sql: str, params: tuple[object, ...]) -> bool:
        async with self._conn.transaction():
            return await self._conn.execute(sql, params) > 0
