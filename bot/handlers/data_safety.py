"""Scheduled data safety: backups every BACKUP_INTERVAL_HOURS and the daily RETENTION_DAYS sweep (job queue)."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import JobQueue

from bot.config import Settings
from bot.context import SmsContext
from bot.runtime import Services, utc_now
from bot.services.backups import BackupService
from bot.services.retention import RetentionService

log = logging.getLogger(__name__)

RETENTION_INTERVAL = timedelta(days=1)
RETENTION_FIRST = 60.0  # seconds after start-up: out of the way of the recovery and resume work


def backup_service(services: Services) -> BackupService | None:
    settings = services.settings
    if settings.backup_dir is None or settings.database_url is not None:
        return None  # on PostgreSQL, backups are pg_dump's job (checked once at start-up: schedule_data_safety)
    return BackupService(
        settings.database_path,
        settings.backup_dir,
        keep=settings.backup_keep,
        interval=timedelta(hours=settings.backup_interval_hours),
        alerts=services.alerts,
        clock=utc_now,
    )


async def run_backup(context: SmsContext) -> None:
    """Every BACKUP_INTERVAL_HOURS: one backup; failures are an admin alert, never a crash."""
    service = backup_service(context.services)
    if service is not None:
        await service.run()


async def run_retention(context: SmsContext) -> None:
    """Once a day: remove message texts older than RETENTION_DAYS."""
    days = context.services.settings.retention_days
    if days is None:
        return
    try:
        await RetentionService(context.services.db, days, clock=utc_now).prune()
    except Exception:  # a bad day for the sweep is tomorrow's work, not a crash
        log.exception("the retention sweep failed")


def schedule_data_safety(job_queue: JobQueue[SmsContext], settings: Settings, services: Services) -> None:
    service = backup_service(services)
    if settings.backup_dir is not None and settings.database_url is not None:
        log.warning("BACKUP_DIR is ignored: the database is PostgreSQL (DATABASE_URL); back it up with pg_dump")
    if service is not None:
        job_queue.run_repeating(
            run_backup,
            interval=timedelta(hours=settings.backup_interval_hours),
            first=service.first_delay(),
            name="backup",
        )
    if settings.retention_days is not None:
        job_queue.run_repeating(run_retention, interval=RETENTION_INTERVAL, first=RETENTION_FIRST, name="retention")
