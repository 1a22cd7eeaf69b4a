"""Start-up after a restore: one alert to the admins, and a word to each chat whose schedule was missed."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.formatting import esc, join_within_limit, plural
from bot.localtime import show_local
from bot.runtime import Services
from bot.services.restored import settle_restore
from storage import ScheduleRecord
from storage.restore_marker import RestoreSettlement

log = logging.getLogger(__name__)


def _taken(moment: datetime | None, zone: ZoneInfo) -> str:
    return "at an unknown time" if moment is None else show_local(moment, zone)


def restore_alert_text(settled: RestoreSettlement, zone: ZoneInfo) -> str:
    marker = settled.marker
    head = (
        f"♻️ <b>The database was restored from a backup</b> (<code>{esc(marker.backup_name)}</code>, taken "
        f"{_taken(marker.backup_time, zone)} or a little later; restored {show_local(marker.restored_at, zone)}).\n"
        "What it showed unfinished may have gone out after the backup was taken, so none of it was sent again."
    )
    items = [
        f"• Job #{job_id}: {plural(count, 'message')} marked unknown; to send them anyway: <code>/retry {job_id}</code>"
        for job_id, count in settled.unknown_by_job.items()
    ]
    if settled.unknown_singles:
        items.append(f"• {plural(settled.unknown_singles, 'single send')} marked unknown")
    if settled.missed:
        ids = ", ".join(f"#{record.id}" for record in settled.missed)
        items.append(f"• {plural(len(settled.missed), 'scheduled send')} due before the restore marked missed: {ids}")
    if not items:
        items.append("• Nothing was unfinished: no message or schedule needed marking.")
    else:
        items.append("Resend only what you know did not go out (<code>/status</code> shows each message's state).")
    return join_within_limit(head, items, more=lambda n: f"…and {n:,} more")


def missed_schedule_text(record: ScheduleRecord, settled: RestoreSettlement, zone: ZoneInfo) -> str:
    return (
        f"⌛ <b>Scheduled send #{record.id}</b> (due {show_local(record.due_at, zone)}) is marked missed: the bot's "
        f"database was restored from a backup taken {_taken(settled.marker.backup_time, zone)}, and it may or may "
        f"not have gone out after that. It will not be sent again; schedule it anew if it is still needed."
    )


async def report_restore(services: Services) -> None:
    """Before recovery resumes anything: a restored database's unfinished work is settled and reported."""
    settled = await settle_restore(services.db)
    if settled is None:
        return
    zone = services.settings.timezone
    log.warning(
        "database restored from %s: %d messages marked unknown, %d schedules missed",
        settled.marker.backup_name,
        sum(settled.unknown_by_job.values()) + settled.unknown_singles,
        len(settled.missed),
    )
    await services.alerts.notice(restore_alert_text(settled, zone))
    for record in settled.missed:
        await services.alerts.tell_chat(record.chat_id, missed_schedule_text(record, settled, zone))
