"""Alert incidents: one row per alert and start, changed by notifications, presses and escalation steps exactly
once each, on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from storage import AlertNotice, Database, IncidentChange

from .conftest import FakeClock

STARTED = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def a_notice(**changes: object) -> AlertNotice:
    notice = AlertNotice(
        fingerprint="f00d",
        starts_at=STARTED,
        source="alertmanager",
        name="DiskFull",
        severity="critical",
        instance="db-1",
        summary="95 % used",
        labels={"alertname": "DiskFull", "instance": "db-1", "severity": "critical"},
        firing=True,
        escalates=True,
    )
    return replace(notice, **changes)  # type: ignore[arg-type]


async def test_a_notification_opens_an_incident_its_repeats_count_and_its_resolve_closes_it(
    db: Database, clock: FakeClock
) -> None:
    incident, change = await db.incidents.record(a_notice())
    assert change is IncidentChange.NEW
    assert (incident.firing, incident.notifications, incident.resolved_at) == (True, 1, None)
    assert incident.labels == {"alertname": "DiskFull", "instance": "db-1", "severity": "critical"}
    assert incident.starts_at == STARTED and incident.first_seen_at == clock.now

    clock.now += timedelta(minutes=5)
    again, change = await db.incidents.record(a_notice(summary="97 % used"))
    assert change is IncidentChange.REPEATED
    assert (again.id, again.notifications, again.summary) == (incident.id, 2, "97 % used")
    assert again.first_seen_at == incident.first_seen_at and again.last_seen_at == clock.now

    clock.now += timedelta(minutes=9)
    resolved, change = await db.incidents.record(a_notice(firing=False))
    assert change is IncidentChange.RESOLVED
    assert (resolved.id, resolved.firing, resolved.resolved_at) == (incident.id, False, clock.now)

    # Alertmanager repeating the resolve changes nothing but the time it was last heard of.
    clock.now += timedelta(minutes=1)
    repeated, change = await db.incidents.record(a_notice(firing=False))
    assert change is IncidentChange.REPEATED
    assert (repeated.resolved_at, repeated.notifications) == (resolved.resolved_at, 2)


async def test_a_fingerprint_has_one_firing_incident_whatever_start_its_notifications_carry(db: Database) -> None:
    first, _ = await db.incidents.record(a_notice())
    # Alertmanager: resolved and fired again within one group_interval, so only the new start is ever told.
    flapped, change = await db.incidents.record(a_notice(starts_at=STARTED + timedelta(minutes=7)))
    assert change is IncidentChange.REPEATED and flapped.id == first.id
    closed, change = await db.incidents.record(a_notice(starts_at=STARTED + timedelta(minutes=7), firing=False))
    assert change is IncidentChange.RESOLVED and closed.id == first.id and not closed.firing
    later, change = await db.incidents.record(a_notice(starts_at=STARTED + timedelta(hours=2)))
    assert change is IncidentChange.NEW and later.id != first.id
    await db.incidents.record(a_notice(starts_at=STARTED + timedelta(hours=2), firing=False))
    # Fired again with the very start of a resolved incident (rare): that incident opens again.
    refired, change = await db.incidents.record(a_notice())
    assert change is IncidentChange.REFIRED and refired.id == first.id
    assert (refired.firing, refired.resolved_at) == (True, None)


async def test_an_alert_without_a_start_and_a_resolve_never_seen_firing(db: Database) -> None:
    no_start, change = await db.incidents.record(a_notice(fingerprint="nostart", starts_at=None))
    assert change is IncidentChange.NEW and no_start.starts_at is None
    assert (await db.incidents.record(a_notice(fingerprint="nostart", starts_at=None)))[1] is IncidentChange.REPEATED
    only_resolved, change = await db.incidents.record(a_notice(fingerprint="late", firing=False, problem="odd"))
    assert change is IncidentChange.NEW and not only_resolved.firing and only_resolved.problem == "odd"
    again, change = await db.incidents.record(a_notice(fingerprint="late", firing=False))
    assert change is IncidentChange.REPEATED and again.id == only_resolved.id and again.problem == "odd"


async def test_who_was_texted_is_kept_once_each_and_hears_the_all_clear_once(db: Database) -> None:
    incident, _ = await db.incidents.record(a_notice())
    await db.incidents.add_texted(incident.id, "254712000301")
    await db.incidents.add_texted(incident.id, "254712000302")
    await db.incidents.add_texted(incident.id, "254712000301")
    assert await db.incidents.all_clears_due() == []  # still firing
    await db.incidents.record(a_notice(firing=False))
    [due] = await db.incidents.all_clears_due()
    assert due.texted == ("254712000301", "254712000302") and not due.all_clear_sent
    await db.incidents.all_clear_done(incident.id)
    assert await db.incidents.all_clears_due() == []


async def test_a_silence_ends_escalation_and_a_gone_alert_is_closed_once(db: Database, clock: FakeClock) -> None:
    incident, _ = await db.incidents.record(a_notice())
    plain, _ = await db.incidents.record(a_notice(fingerprint="plain:x", source="plain", escalates=False))
    await db.incidents.silence(incident.id, "sil-1", "Amina", clock.now + timedelta(hours=1))
    assert await db.incidents.escalating(3) == []
    assert [i.id for i in await db.incidents.firing_alertmanager()] == [incident.id]
    clock.now += timedelta(hours=1)
    assert await db.incidents.close(incident.id)
    assert not await db.incidents.close(incident.id)
    closed = await db.incidents.get(incident.id)
    assert closed is not None and not closed.firing and closed.gone_at == clock.now == closed.resolved_at
    assert await db.incidents.firing_alertmanager() == []
    # Alertmanager had only restarted: the alert comes back and the same incident fires again.
    reopened, change = await db.incidents.record(a_notice())
    assert change is IncidentChange.REFIRED and reopened.id == incident.id and reopened.gone_at is None
    assert plain.firing


async def test_a_plain_alert_after_its_window_is_a_new_incident(db: Database, clock: FakeClock) -> None:
    first, _ = await db.incidents.record(a_notice(fingerprint="plain:y", source="plain", escalates=False))
    later, change = await db.incidents.record(
        a_notice(fingerprint="plain:y", source="plain", escalates=False, starts_at=STARTED + timedelta(hours=1))
    )
    assert change is IncidentChange.NEW and later.id != first.id


async def test_a_refire_hears_its_next_all_clear(db: Database) -> None:
    incident, _ = await db.incidents.record(a_notice())
    await db.incidents.add_texted(incident.id, "254712000301")
    await db.incidents.record(a_notice(firing=False))
    await db.incidents.all_clear_done(incident.id)
    await db.incidents.record(a_notice())  # fires again with the same start
    await db.incidents.record(a_notice(firing=False))
    assert [i.id for i in await db.incidents.all_clears_due()] == [incident.id]
    await db.incidents.remove_texted(incident.id, "254712000301")
    assert await db.incidents.all_clears_due() == []


async def test_the_first_acknowledgement_wins(db: Database, clock: FakeClock) -> None:
    incident, _ = await db.incidents.record(a_notice())
    assert await db.incidents.acknowledge(incident.id, "Amina (@amina)", clock.now)
    clock.now += timedelta(minutes=1)
    assert not await db.incidents.acknowledge(incident.id, "Brian", clock.now)
    stored = await db.incidents.get(incident.id)
    assert stored is not None
    assert (stored.acked_by, stored.acked_at) == ("Amina (@amina)", clock.now - timedelta(minutes=1))


async def test_a_silence_is_kept_and_only_its_own_id_ends_it(db: Database, clock: FakeClock) -> None:
    incident, _ = await db.incidents.record(a_notice())
    until = clock.now + timedelta(hours=1)
    assert await db.incidents.silence(incident.id, "sil-1", "Amina", until)
    stored = await db.incidents.get(incident.id)
    assert stored is not None and stored.silenced_at(clock.now) and not stored.silenced_at(until)
    assert not await db.incidents.end_silence(incident.id, "sil-other")
    assert await db.incidents.end_silence(incident.id, "sil-1")
    stored = await db.incidents.get(incident.id)
    assert stored is not None and (stored.silence_id, stored.silenced_until) == (None, None)


async def test_each_escalation_step_is_recorded_once_and_leaves_the_list_when_done(db: Database) -> None:
    incident, _ = await db.incidents.record(a_notice())
    quiet, _ = await db.incidents.record(a_notice(fingerprint="other", escalates=False))
    assert [i.id for i in await db.incidents.escalating(2)] == [incident.id]
    assert await db.incidents.finish_step(incident.id, 0, "@oncall at 11:10")
    assert not await db.incidents.finish_step(incident.id, 0, "@oncall at 11:10")  # a second run of step 1
    assert await db.incidents.finish_step(incident.id, 1, "+254712345678 at 11:30")
    stored = await db.incidents.get(incident.id)
    assert stored is not None
    assert (stored.escalation_step, stored.escalated_to) == (2, "@oncall at 11:10; +254712345678 at 11:30")
    assert await db.incidents.escalating(2) == []
    assert quiet.escalates is False


async def test_acknowledged_or_resolved_incidents_do_not_escalate(db: Database, clock: FakeClock) -> None:
    acked, _ = await db.incidents.record(a_notice(fingerprint="a"))
    await db.incidents.record(a_notice(fingerprint="b"))
    waiting, _ = await db.incidents.record(a_notice(fingerprint="c"))
    await db.incidents.acknowledge(acked.id, "Amina", clock.now)
    await db.incidents.record(a_notice(fingerprint="b", firing=False))
    assert [i.id for i in await db.incidents.escalating(1)] == [waiting.id]


async def test_posts_are_kept_per_chat_and_lists_come_newest_first(db: Database, clock: FakeClock) -> None:
    older, _ = await db.incidents.record(a_notice(fingerprint="old"))
    clock.now += timedelta(minutes=1)
    newer, _ = await db.incidents.record(a_notice(fingerprint="new"))
    await db.incidents.add_post(older.id, -100200, 7)
    await db.incidents.add_post(older.id, 1001, 9)
    await db.incidents.add_post(older.id, 1001, 10)  # posted again in that chat: the newest post is the one edited
    assert await db.incidents.posts(older.id) == [(-100200, 7), (1001, 10)]
    await db.incidents.record(a_notice(fingerprint="plain:1", source="plain", escalates=False))
    assert [i.id for i in await db.incidents.firing(10)] == [newer.id, older.id]  # a plain one is never listed
    assert await db.incidents.count_firing() == 2
    clock.now += timedelta(minutes=1)
    await db.incidents.record(a_notice(fingerprint="old", firing=False))
    clock.now += timedelta(minutes=1)
    await db.incidents.record(a_notice(fingerprint="new", firing=False))
    assert [i.id for i in await db.incidents.resolved(10)] == [newer.id, older.id]
    assert await db.incidents.firing(10) == []
