"""``GET /healthz``: is the bot able to do its job right now?

Two facts, both cheap: the database takes a write (``BEGIN IMMEDIATE`` then an empty ``COMMIT`` through the app's
own connection: it takes SQLite's write lock, so a locked, read-only or closed database fails, yet nothing is
written and the WAL does not grow; a heartbeat row would add a write to disk every probe), and Telegram answered a
Bot API call within ``HEALTH_STALE_SECONDS`` (long polling calls it every few seconds; a webhook bot is reached by
its own replies and by the check below). The body says which failed, never a number or a secret.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.runtime import Services
from bot.web.telegram_contact import TelegramContact

log = logging.getLogger(__name__)

DB_CHECK_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    database: str
    telegram: str
    telegram_seconds_ago: float | None

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {
            "status": "ok" if self.ok else "unhealthy",
            "database": self.database,
            "telegram": self.telegram,
        }
        if self.telegram_seconds_ago is not None:
            body["telegram_seconds_ago"] = round(self.telegram_seconds_ago, 1)
        return body


async def check_health(services: Services | None, contact: TelegramContact, stale_after: float) -> Health:
    database = "starting" if services is None else await _database_writable(services)
    ago = contact.seconds_since()
    if ago is None:
        telegram = "never reached"
    elif ago > stale_after:
        telegram = f"not reached for {ago:.0f} s (limit {stale_after:g} s)"
    else:
        telegram = "ok"
    return Health(database == "ok" and telegram == "ok", database, telegram, ago)


async def _database_writable(services: Services) -> str:
    try:
        async with asyncio.timeout(DB_CHECK_SECONDS):
            async with services.db.transaction():
                pass
    except TimeoutError:
        return f"no write lock within {DB_CHECK_SECONDS:g} s"
    except Exception as exc:
        log.warning("health check: the database refused a write: %s", exc)
        return "refused a write"
    return "ok"
