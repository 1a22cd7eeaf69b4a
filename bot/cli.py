"""Command line: run the bot (``python -m bot``); one-off commands: ``notify "<text>"`` to the admins (exit status 1
when no admin was reached; for cron jobs and monitoring), ``backup <path>``, ``restore <backup>``, and
``migrate-to <DATABASE_URL>`` (the SQLite database into an empty PostgreSQL one, bot stopped)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from telegram import Bot
from telegram.error import InvalidToken, TelegramError

from bot.backup import make_backup, restore
from bot.config import ConfigError, DatabaseSettings, NotifySettings, SecretSettings, Settings, load
from bot.database_folder import database_folder_problem
from bot.formatting import esc, truncate
from bot.lifecycle import ALLOWED_UPDATES
from bot.logging_setup import configure_logging
from bot.notifier import TelegramAdminNotifier
from bot.redact import make_redactor, settings_secrets
from bot.shutdown import StopCause
from bot.web.server import HttpStartError
from storage import StorageError, open_database
from storage.copy_to_postgres import MigrateRefusedError, copy_to_postgres
from storage.database import check_postgres
from storage.db_lock import DatabaseBusyError
from storage.postgres_url import hide_password, safe_url

log = logging.getLogger("bot")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="smsrelay: SMS from Telegram.")
    commands = parser.add_subparsers(dest="command")
    notify_parser = commands.add_parser("notify", help="send a text to every admin chat and exit")
    notify_parser.add_argument("text", help="the text to send (plain text)")
    backup_parser = commands.add_parser("backup", help="copy the database now (works while the bot runs)")
    backup_parser.add_argument("path", help="a folder (gets smsrelay-<UTC time>Z.db) or a new file")
    restore_parser = commands.add_parser("restore", help="put a backup in place of the database (bot stopped)")
    restore_parser.add_argument("backup", type=Path, help="the backup file to restore")
    migrate_parser = commands.add_parser(
        "migrate-to", help="copy the SQLite database into an empty PostgreSQL database (bot stopped)"
    )
    migrate_parser.add_argument("url", metavar="DATABASE_URL", help="postgresql://user:password@host:5432/database")
    args = parser.parse_args(argv)
    # Each command reads only what it uses: a backup needs no bot token, a notify no SMS provider.
    kinds: dict[str | None, type[DatabaseSettings]] = {
        "notify": NotifySettings,
        "backup": DatabaseSettings,
        "restore": DatabaseSettings,
        "migrate-to": DatabaseSettings,
    }
    kind = kinds.get(args.command, Settings)
    try:
        settings = load(kind)
    except ConfigError as exc:
        print("smsrelay cannot start: the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Set them in the environment or in .env (see .env.example).", file=sys.stderr)
        return 2
    # A command redacts every secret the settings hold, also those it does not read itself.
    redact = make_redactor(settings_secrets(settings if isinstance(settings, Settings) else load(SecretSettings)))
    configure_logging(settings.log_level, redact)
    if args.command == "notify":
        assert isinstance(settings, NotifySettings)
        if not args.text.strip():
            print("notify: the text is empty", file=sys.stderr)
            return 2
        reached = asyncio.run(notify(settings, redact(args.text)))  # scripts may paste a log line with a key
        print(f"delivered to {reached} admin chat(s)")
        return 0 if reached else 1
    if args.command in ("backup", "restore") and settings.database_url is not None:
        complain(POSTGRES_BACKUPS, redact)
        return 2
    if args.command == "backup":
        return make_backup(settings.database_path, args.path)
    if args.command == "restore":
        return restore(settings.database_path, args.backup)
    if args.command == "migrate-to":
        return migrate_to(settings.database_path, args.url, redact)
    assert isinstance(settings, Settings)
    return run(settings, redact)


POSTGRES_BACKUPS = (
    "DATABASE_URL is set: the database is PostgreSQL, and its backups are PostgreSQL's job."
    " Back up with `pg_dump --format=custom --file=smsrelay.dump <DATABASE_URL>` and restore with"
    " `pg_restore --clean --if-exists --dbname=<DATABASE_URL> smsrelay.dump` while every replica is stopped"
    " (README, High availability)."
)


def migrate_to(database: Path, url: str, redact: Callable[[str], str]) -> int:
    """Copy the SQLite file at DATABASE_PATH into the PostgreSQL database at ``url``; 2 when refused (nothing
    changed), 1 when it failed (the target keeps nothing of it). The URL is only ever shown without its password."""
    try:
        result = asyncio.run(copy_to_postgres(database, url))
    except (MigrateRefusedError, DatabaseBusyError) as exc:
        complain(f"migrate-to refused: {hide_password(str(exc), url)}", redact)
        return 2
    except (StorageError, OSError, sqlite3.Error) as exc:
        complain(f"migrate-to failed: {hide_password(' '.join(str(exc).split()), url)}", redact)
        return 1
    for table in result.tables:
        print(f"{table.name}: {table.rows:,} row{'' if table.rows == 1 else 's'}")
    if result.skipped:
        print(f"not copied (not in the PostgreSQL schema): {', '.join(result.skipped)}")
    print(
        f"copied {result.rows:,} rows in {len(result.tables)} tables from {database} into {safe_url(url)}"
        f" (schema version {result.schema_version})"
    )
    print(
        "next: set DATABASE_URL in .env to that URL and start the bot (every replica); the SQLite file stays as it"
        " was, start no bot on it again (README, High availability)"
    )
    return 0


def complain(text: str, redact: Callable[[str], str]) -> None:
    """One line on stderr, through the same redactor as the logs: exception texts may quote the token."""
    print(redact(text), file=sys.stderr)


def run(settings: Settings, redact: Callable[[str], str]) -> int:
    """Run the bot, first waiting as a standby while another process is active on the database (bot/standby.py);
    an active process that loses its lock (PostgreSQL unreachable) stops its work and waits as a standby again."""
    from bot.app import build_application  # PTB's application machinery is only needed here
    from bot.standby import active_lock_for, become_active

    if settings.database_url is not None:
        try:
            asyncio.run(check_postgres(settings.database_url.get_secret_value()))
        except StorageError as exc:
            complain(f"smsrelay cannot start: {exc}", redact)
            return 3
    elif (problem := database_folder_problem(settings.database_path)) is not None:
        complain(f"smsrelay cannot start: {problem}", redact)
        return 3
    lock = active_lock_for(settings)
    again = False
    try:
        while True:
            try:
                activation = become_active(settings, lock, again=again)
            except HttpStartError as exc:
                complain(f"smsrelay cannot start: {exc}", redact)
                return 2
            if activation is None:
                return 0  # stopped while waiting: nothing was started
            cause = StopCause()
            application = build_application(
                settings,
                handle_stop_signals=True,
                lease_lost=lock.is_lost,
                took_over=activation.took_over,
                stop_cause=cause,
            )
            log.info("smsrelay starting; providers: %s", ", ".join(p.value for p in settings.enabled_providers))
            status = run_active(application, settings, redact, cause)
            if status != 0 or cause.signal or not cause.lease:
                return status
            log.warning("this process stopped its work and gives up the active lock; it waits as a standby again")
            lock.rearm()
            again = True
    finally:
        lock.release()


def run_active(application: Any, settings: Settings, redact: Callable[[str], str], cause: StopCause) -> int:
    """Poll Telegram (or serve the webhook) until a stop signal, or until the lock is lost; the exit status."""
    try:
        if settings.webhook_url is not None:
            from bot.web.webhook import run_webhook_mode

            run_webhook_mode(application, settings, ALLOWED_UPDATES)  # on a loop of its own
        else:
            asyncio.set_event_loop(asyncio.new_event_loop())  # a fresh loop: a previous run closed its own
            application.run_polling(allowed_updates=ALLOWED_UPDATES, timeout=poll_timeout(settings))
    except HttpStartError as exc:
        complain(f"smsrelay cannot start: {exc}", redact)
        return 2
    except StorageError as exc:
        complain(f"smsrelay cannot start: {exc}", redact)
        return 3
    except InvalidToken:
        # PTB's text is "The token `<token>` was rejected by the server.": say it without quoting it.
        complain(
            "smsrelay cannot start: Telegram refused the bot token (TELEGRAM_BOT_TOKEN); check it with @BotFather.",
            redact,
        )
        return 4
    except TelegramError as exc:
        if cause.signal:  # stopped while starting to poll, and Telegram did not answer in time: the stop asked
            log.info("stopped during start-up; Telegram did not answer: %s", exc)
            return 0
        complain(f"smsrelay cannot start: Telegram refused or could not be reached: {exc}", redact)
        return 4
    return 0


def poll_timeout(settings: Settings) -> int:
    """getUpdates' long-poll seconds (PTB's 10), shorter when needed for /healthz: an idle bot hears from Telegram
    only when a poll ends, and that must happen within HEALTH_STALE_SECONDS."""
    return max(1, min(10, int(settings.health_stale_seconds / 3)))


async def admin_chat_ids(settings: NotifySettings) -> list[int]:
    """ADMIN_CHAT_IDS plus admins granted in the bot; the database is optional here."""
    ids = list(dict.fromkeys(settings.admin_chat_ids))
    try:
        # Never upgrades the schema: only the active bot does, and it may be of an older version than this command.
        async with await open_database(settings.database_target, upgrade=False) as db:
            ids += [chat_id for chat_id in await db.chats.admin_ids() if chat_id not in ids]
    except (StorageError, OSError, sqlite3.Error, asyncpg.PostgresError) as exc:
        log.warning("database not readable (%s); notifying ADMIN_CHAT_IDS only", exc)
    return ids


async def notify(settings: NotifySettings, text: str) -> int:
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
    )
    ids = await admin_chat_ids(settings)

    async def admins() -> list[int]:
        return ids

    try:
        async with bot:
            # Cut before escaping so no entity is split; Telegram counts the text after parsing: under 4,096.
            return await TelegramAdminNotifier(bot, admins).to_admins(f"📣 {esc(truncate(text, 3500))}")
    except TelegramError as exc:
        log.error("Telegram refused or could not be reached: %s", exc)
        return 0
