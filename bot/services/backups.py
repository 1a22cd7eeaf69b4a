"""Scheduled online backups into BACKUP_DIR, keeping the newest BACKUP_KEEP.

The copy runs in a worker thread on its own SQLite connection (storage/backup.py), so the bot keeps answering.
A failure becomes one admin alert (repeats are folded like any alert) and never stops the bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from bot.formatting import esc, truncate
from bot.services.alerts import AlertService
from storage.backup import BackupResult, backup_database, backup_name, backup_time, list_backups, prune_backups

log = logging.getLogger(__name__)

START_UP_DELAY = 1.0  # seconds: a due backup at start-up runs right after the bot is up


class BackupService:
    def __init__(
        self,
        database: Path,
        folder: Path,
        *,
        keep: int,
        interval: timedelta,
        alerts: AlertService,
        clock: Callable[[], datetime],
    ) -> None:
        self._database = database
        self._folder = folder
        self._keep = keep
        self._interval = interval
        self._alerts = alerts
        self._clock = clock

    def first_delay(self) -> float:
        """Seconds until the first backup: soon when the newest one is older than the interval (or missing)."""
        times = [moment for moment in (backup_time(path) for path in list_backups(self._folder)) if moment]
        if not times:
            return START_UP_DELAY
        due = max(times) + self._interval - self._clock()
        return max(due.total_seconds(), START_UP_DELAY)

    async def run(self) -> BackupResult | None:
        """Make one backup and prune old ones; on failure alert the admins and return None."""
        target = self._folder / backup_name(self._clock())
        try:
            result = await asyncio.to_thread(backup_database, self._database, target)
            deleted = await asyncio.to_thread(prune_backups, self._folder, self._keep)
        except Exception as exc:
            log.exception("backup into %s failed", self._folder)
            await self._alerts.raise_alert(
                "backup-failed",
                f"💾 <b>Backup failed</b>\nFolder: <code>{esc(str(self._folder))}</code>\n"
                f"Error: {esc(truncate(f'{type(exc).__name__}: {exc}', 300))}\n"
                "The bot keeps running; the next try is at the next interval.",
            )
            return None
        if result.integrity != "ok":
            await self._alerts.raise_alert(
                "backup-damaged",
                f"💾 <b>Backup fails the integrity check</b>\n<code>{esc(str(result.path))}</code>\n"
                f"SQLite says: {esc(truncate(result.integrity, 300))}",
            )
        log.info("backup written: %s (%d bytes); %d old backups deleted", result.path, result.size, len(deleted))
        return result
