"""On call from the chat (README "On call"): each alert is one post per admin chat that every later word about
it edits (repeats, Ack, Silence, its resolve, escalation steps), and alerts nobody took in time are texted.

The incident rows hold all of it (``storage/incidents.py``), so a restart loses no post and repeats no step. One
lock per incident makes "change the row, render it, edit the posts" one step: a later edit never shows an older row.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.escalation_plan import EscalationStep
from bot.formatting import esc, truncate
from bot.providers.alertmanager import AlertmanagerClient, AlertmanagerError
from bot.services.alert_posts import incident_buttons, incident_html, local, next_step
from bot.services.alert_sms import alert_text, text_numbers
from bot.services.alerts import AdminNotifier, AlertService
from bot.services.errors import UserInputError
from bot.services.groups import GroupService
from bot.services.sending import SendingService
from storage import AlertNotice, Database, Incident, IncidentChange, Role, audit_actions

log = logging.getLogger(__name__)

LISTED = 30  # incidents /alerts shows per section
GONE_AFTER = timedelta(minutes=5)  # absent from Alertmanager this long (two checks at least): closed


@dataclass(frozen=True, slots=True)
class Presser:
    """Who pressed a button, and where: for the post, the silence's ``createdBy`` and comment, and the audit."""

    name: str  # the person's Telegram name
    chat_id: int
    chat_title: str | None
    user_id: int | None


def severity_of(severity: str | None) -> str:
    """An alert's severity label as the settings compare it: trimmed, any case."""
    return (severity or "").strip().casefold()


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    steps: tuple[EscalationStep, ...]
    severities: frozenset[str]  # case-folded

    def escalates(self, severity: str | None) -> bool:
        return bool(self.steps) and severity_of(severity) in self.severities


class OnCallService:
    def __init__(
        self,
        db: Database,
        notifier: AdminNotifier,
        alerts: AlertService,
        sending: SendingService,
        groups: GroupService,
        *,
        policy: EscalationPolicy,
        silences: AlertmanagerClient | None,
        records_chat: Callable[[], Awaitable[int]],
        zone: ZoneInfo,
        clock: Callable[[], datetime],
        redact: Callable[[str], str],
    ) -> None:
        self._db = db
        self._notifier = notifier
        self._alerts = alerts
        self._sending = sending
        self._groups = groups
        self.policy = policy
        self._silences = silences
        self._records_chat = records_chat
        self._zone = zone
        self._clock = clock
        self._redact = redact
        self._plain = asyncio.Lock()
        self._absent: dict[int, datetime] = {}  # firing incidents Alertmanager did not hold: since when
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}  # lock, tasks holding or waiting

    def now(self) -> datetime:
        return self._clock()

    @property
    def silences_enabled(self) -> bool:
        return self._silences is not None

    # --- notifications --------------------------------------------------------------------------------

    async def take(self, notice: AlertNotice) -> Incident:
        """Post a new alert, or edit its post when it resolves (when and how long) or fires again; a repeat is
        counted, and the count shows with the next edit."""
        incident, change = await self._db.incidents.record(notice)
        async with self._turn(incident.id):
            incident = await self._known(incident.id)
            if not await self._db.incidents.posts(incident.id):  # new (or its post failed): whoever comes first posts
                await self._post(incident)
            elif change in (IncidentChange.RESOLVED, IncidentChange.REFIRED):
                await self._show(incident)
            # A repeat is only counted: the next edit shows it. Alertmanager re-sends whole groups, and Telegram
            # lets a group chat have 20 messages a minute; an edit per repeat would hold the intake up for minutes.
        return incident

    async def take_plain(self, text: str, fold_window: timedelta) -> Incident:
        """A plain alert: its post with an Ack button; the same text again within ``fold_window`` of the last one
        is a repeat of it (counted), later it is a new post."""
        fingerprint = "plain:" + hashlib.sha256(text.encode()).hexdigest()[:24]
        async with self._plain:  # two of the same text at once: the second sees the first's incident
            latest = await self._db.incidents.latest(fingerprint)
            now = self._clock()
            fresh = latest is not None and now - latest.last_seen_at <= fold_window
            return await self.take(
                AlertNotice(
                    fingerprint=fingerprint,
                    starts_at=latest.starts_at if fresh and latest is not None else now,
                    source="plain",
                    name=truncate(text.splitlines()[0] if text else "", 100),
                    severity=None,
                    instance=None,
                    summary=text,
                    labels={},
                    firing=True,
                    escalates=False,
                )
            )

    async def _post(self, incident: Incident) -> None:
        html = self._redact(self._html(incident))
        posts = await self._notifier.post_to_admins(html, self._buttons(incident))
        for chat_id, message_id in posts:
            await self._db.incidents.add_post(incident.id, chat_id, message_id)
        if not posts:
            log.error("alert %s reached no admin chat", incident.name)

    async def _show(self, incident: Incident) -> None:
        """Render the row again into every post of the incident."""
        html = self._redact(self._html(incident))
        buttons = self._buttons(incident)
        for chat_id, message_id in await self._db.incidents.posts(incident.id):
            await self._notifier.edit_post(chat_id, message_id, html, buttons)

    def _html(self, incident: Incident) -> str:
        return incident_html(incident, zone=self._zone, plan=self.policy.steps, now=self._clock())

    def _buttons(self, incident: Incident) -> tuple[tuple[tuple[str, str], ...], ...]:
        return incident_buttons(incident, silences=self.silences_enabled, now=self._clock())

    # --- buttons --------------------------------------------------------------------------------------

    async def acknowledge(self, incident_id: int, who: Presser) -> str:
        """The answer to an Ack press: the first press marks it and stops its escalation; later ones change nothing."""
        async with self._turn(incident_id):
            incident = await self._known(incident_id)
            if incident.acked_by is not None and incident.acked_at is not None:
                return f"Already acknowledged by {incident.acked_by} at {local(incident.acked_at, self._zone)}."
            if not incident.firing:
                await self._show(incident)
                return "This alert is already resolved."
            async with self._db.transaction():
                if not await self._db.incidents.acknowledge(incident_id, who.name, self._clock()):
                    return "Already acknowledged."
                await self._audit(audit_actions.ALERT_ACK, who, incident, "acknowledged")
            await self._show(await self._known(incident_id))
        return "✅ Acknowledged: its escalation stops." if incident.escalates else "✅ Acknowledged."

    async def silence(self, incident_id: int, hours: int, who: Presser) -> str:
        """Silence the alert in Alertmanager for ``hours``; when Alertmanager fails, say so and change nothing."""
        if self._silences is None:
            return "Silences are not set up on this bot."
        async with self._turn(incident_id):
            incident = await self._known(incident_id)
            now = self._clock()
            if not incident.firing:
                await self._show(incident)
                return "This alert is already resolved."
            if incident.source != "alertmanager":
                return "Only Alertmanager's alerts can be silenced."
            if incident.silence_id is not None and incident.silenced_at(now):
                return f"Already silenced until {local(incident.silenced_until or now, self._zone)}."
            where = who.chat_title or "a chat"
            comment = f"Silenced from Telegram ({where}, chat id {who.chat_id}) by smsrelay for {hours}h"
            until = now + timedelta(hours=hours)
            try:
                silence_id = await self._silences.create_silence(
                    incident.labels, now, until, created_by=who.name, comment=comment
                )
            except AlertmanagerError as exc:
                return self._redact(str(exc))
            async with self._db.transaction():
                await self._db.incidents.silence(incident_id, silence_id, who.name, until)
                await self._audit(audit_actions.ALERT_SILENCE, who, incident, f"silence {silence_id} for {hours}h")
            await self._show(await self._known(incident_id))
        return f"🔕 Silenced until {local(until, self._zone)}."

    async def expire(self, incident_id: int, who: Presser) -> str:
        """Expire the silence made from the post; Alertmanager failing changes nothing."""
        if self._silences is None:
            return "Silences are not set up on this bot."
        async with self._turn(incident_id):
            incident = await self._known(incident_id)
            if incident.silence_id is None or not incident.firing:
                await self._show(incident)
                return "This alert has no silence to expire."
            try:
                await self._silences.expire_silence(incident.silence_id)
            except AlertmanagerError as exc:
                if "already expired" not in str(exc):
                    return self._redact(str(exc))
            async with self._db.transaction():
                await self._db.incidents.end_silence(incident_id, incident.silence_id)
                await self._audit(audit_actions.ALERT_EXPIRE, who, incident, f"silence {incident.silence_id}")
            await self._show(await self._known(incident_id))
        return "🔔 Silence expired."

    async def reconcile(self) -> int:
        """Compare the firing alerts with Alertmanager's: one it has not held for ``GONE_AFTER`` is closed (it sends
        no resolve for a silenced alert, from the bot or its own UI), one whose silence ran out loses it on the post.
        Returns how many posts changed; Alertmanager unreachable changes nothing."""
        if self._silences is None:
            return 0
        incidents = await self._db.incidents.firing_alertmanager()
        if not incidents:
            self._absent.clear()
            return 0
        try:
            present = await self._silences.active_fingerprints()
        except AlertmanagerError as exc:
            log.warning("could not compare the firing alerts with Alertmanager: %s", self._redact(str(exc)))
            return 0
        now = self._clock()
        firing = {incident.id for incident in incidents}
        self._absent = {key: since for key, since in self._absent.items() if key in firing}
        changed = 0
        for incident in incidents:
            if incident.fingerprint in present:
                self._absent.pop(incident.id, None)
                ran_out = incident.silence_id is not None and not incident.silenced_at(now)
                done = ran_out and await self._db.incidents.end_silence(incident.id, incident.silence_id or "")
            elif now - self._absent.setdefault(incident.id, now) < GONE_AFTER:
                continue  # absent once: Alertmanager may have restarted and not heard from Prometheus yet
            else:
                done = await self._db.incidents.close(incident.id)
                self._absent.pop(incident.id, None)
            if done:
                async with self._turn(incident.id):
                    await self._show(await self._known(incident.id))
                changed += 1
        return changed

    async def _audit(self, action: str, who: Presser, incident: Incident, what: str) -> None:
        await self._db.audit.record(
            action,
            actor_chat_id=who.chat_id,
            actor_user_id=who.user_id,
            target=f"alert #{incident.id}",
            detail=f"{truncate(incident.name, 100)}: {what} by {truncate(who.name, 100)}",
        )

    # --- escalation -----------------------------------------------------------------------------------

    async def escalate_due(self) -> int:
        """Run every escalation step whose time came, then the all-clears of resolved alerts; returns how many steps
        ran. Each number is texted under a request key of its own and recorded as texted before the step is marked
        done: a crash in between redoes the step without texting anyone twice."""
        steps = self.policy.steps
        ran = 0
        for listed in await self._db.incidents.escalating(len(steps)) if steps else []:
            incident = await self._db.incidents.get(listed.id)  # as it is now: pressed meanwhile, it stays quiet
            if incident is None or not _due(incident, steps, self._clock()):
                continue
            try:
                await self._run_step(incident.id, incident.escalation_step, steps[incident.escalation_step])
            except Exception:  # one alert's trouble (Telegram down for its post) must not hold the others up
                log.exception("escalation of alert %s failed; the next round tries again", incident.name)
                continue
            ran += 1
        for incident in await self._db.incidents.all_clears_due():
            try:
                await self._all_clear(incident)
            except Exception:
                log.exception("the all-clear of alert %s failed; the next round tries again", incident.name)
        return ran

    async def _run_step(self, incident_id: int, index: int, step: EscalationStep) -> None:
        """Text the step's targets one by one, each only while the alert still calls for it: an Ack, a silence or
        its resolve stops the rest of the step."""
        numbers, missed = await self._numbers_of(step)
        chat_id = await self._records_chat()
        reached: list[str] = []
        stopped = False
        for number in numbers:
            incident = await self._db.incidents.get(incident_id)
            if incident is None or not _due(incident, self.policy.steps, self._clock()):
                stopped = True
                break
            text = alert_text("firing", incident.name, incident.instance, incident.summary)
            # Listed for the all-clear before the SMS leaves: killed while it is at the provider, it may have gone.
            await self._db.incidents.add_texted(incident_id, number)
            result = await text_numbers(
                self._sending, [number], text, chat_id=chat_id, key=f"escalation:{incident_id}:{index}"
            )
            missed += result.missed
            went = result.reached or (result.repeated and number in incident.texted)  # a redo: as the first left it
            if not went:
                await self._db.incidents.remove_texted(incident_id, number)
            reached += result.reached + result.repeated
        incident = await self._db.incidents.get(incident_id)
        if incident is None or (stopped and not reached):
            return  # taken (acknowledged, silenced, resolved) before anyone was texted: the step never happened
        shown = f"{step.targets} at {local(self._clock(), self._zone)}"
        if not numbers:
            shown += " (nobody to text)"
        elif len(reached) < len(numbers):
            shown += f" ({len(reached)} of {len(numbers)} reached)"
        async with self._turn(incident_id):
            async with self._db.transaction():
                if not await self._db.incidents.finish_step(incident_id, index, shown):
                    return  # recorded meanwhile (never here: one escalation loop per process)
                await self._db.audit.record(
                    audit_actions.ALERT_ESCALATE,
                    actor_chat_id=None,
                    actor_user_id=None,
                    target=f"alert #{incident_id}",
                    detail=f"{truncate(incident.name, 100)}: step {index + 1} reached {len(reached)} of {len(numbers)}",
                )
            await self._show(await self._known(incident_id))
        if missed:
            reasons = "; ".join(esc(truncate(reason, 200)) for reason in dict.fromkeys(missed))
            await self._alerts.raise_alert(
                f"escalation-missed:{incident_id}:{index}",
                f"⚠️ Escalation of <b>{esc(truncate(incident.name, 100))}</b>, step {index + 1}: "
                f"not everyone was texted: {reasons}",
            )

    async def _numbers_of(self, step: EscalationStep) -> tuple[list[str], list[str]]:
        """The step's numbers and its groups' members now, and why a group gave none."""
        numbers = list(step.numbers)
        missed: list[str] = []
        for group in step.groups:
            try:
                _, members = await self._groups.members(group, caller_role=Role.ADMIN)
            except UserInputError as exc:
                missed.append(f"@{group}: {exc}")
                continue
            numbers += members
        return list(dict.fromkeys(numbers)), missed

    async def _all_clear(self, incident: Incident) -> None:
        """Everyone its escalation texted learns that it is over, once each (request keys, then a mark)."""
        text = alert_text("resolved", incident.name, incident.instance, incident.summary)
        result = await text_numbers(
            self._sending,
            incident.texted,
            text,
            chat_id=await self._records_chat(),
            key=f"escalation:{incident.id}:resolved:{incident.resolved_at.isoformat() if incident.resolved_at else ''}",
        )
        if result.missed:
            log.warning("alert %s: %d all-clear SMS not sent", incident.name, len(result.missed))
        await self._db.incidents.all_clear_done(incident.id)

    # --- reading --------------------------------------------------------------------------------------

    async def firing(self) -> tuple[list[Incident], int]:
        """Firing incidents, newest first (at most ``LISTED``), and how many fire in all."""
        return await self._db.incidents.firing(LISTED), await self._db.incidents.count_firing()

    async def resolved(self) -> list[Incident]:
        return await self._db.incidents.resolved(LISTED)

    async def _known(self, incident_id: int) -> Incident:
        incident = await self._db.incidents.get(incident_id)
        if incident is None:
            raise UserInputError("This alert is no longer known to the bot.")
        return incident

    @contextlib.asynccontextmanager
    async def _turn(self, incident_id: int) -> AsyncIterator[None]:
        """One task at a time per incident; the lock is dropped once nobody holds or waits for it."""
        lock, users = self._locks.get(incident_id, (asyncio.Lock(), 0))
        self._locks[incident_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[incident_id]
            if users == 1:
                del self._locks[incident_id]
            else:
                self._locks[incident_id] = (lock, users - 1)

    async def aclose(self) -> None:
        if self._silences is not None:
            await self._silences.aclose()


def _due(incident: Incident, steps: tuple[EscalationStep, ...], now: datetime) -> bool:
    """Its next escalation step is still to come (``next_step``), and its time has come."""
    upcoming = next_step(incident, steps, now)
    return upcoming is not None and upcoming[1] <= now
