"""The python-telegram-bot ``Application``: wiring, lifecycle and the table of handlers.

Lifecycle (PTB's own): initialize → ``post_init`` (open storage, build provider clients and services, register
the command menus, recover and resume bulk jobs) → polling → stop → ``post_stop`` (let running batches finish
while the bot can still edit their progress) → shutdown → ``post_shutdown`` (close clients and the database).
All of the stop fits ``SHUTDOWN_GRACE_SECONDS`` from the stop signal (``bot/shutdown.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import Settings
from bot.context import AppState, SmsContext
from bot.handlers.alerts import alert_button, alerts_command, escalate_alerts, reconcile_alerts
from bot.handlers.balance import balance_command
from bot.handlers.blocklist import block_command, blocked_command, unblock_command
from bot.handlers.bulk import bulk_button, bulk_command
from bot.handlers.bulk_progress import reporter_factory
from bot.handlers.chats import allow_command, chats_command, deny_command
from bot.handlers.commands import Command
from bot.handlers.data_safety import schedule_data_safety
from bot.handlers.dispatch import CommandTable
from bot.handlers.errors import on_error
from bot.handlers.files import file_without_command
from bot.handlers.groups import group_button, group_command
from bot.handlers.guard import guard
from bot.handlers.history import export_command, history_command
from bot.handlers.info import start, unknown_command
from bot.handlers.jobs import check_balances, report_recovery, track_deliveries
from bot.handlers.menus import register_command_menus
from bot.handlers.migration import FollowingBot, chat_migrated, follow_migration
from bot.handlers.quota import quota_command
from bot.handlers.restored import report_restore
from bot.handlers.retry import retry_button, retry_command
from bot.handlers.scheduled import (
    TICK_SECONDS,
    cancel_schedule_button,
    fire_schedules,
    recover_schedules,
    scheduled_bulk_button,
    scheduled_command,
)
from bot.handlers.send import send_button, send_command
from bot.handlers.status import status_command
from bot.handlers.templates import template_command
from bot.handlers.usage import usage_command
from bot.notifier import TelegramAdminNotifier
from bot.redact import make_redactor, settings_secrets
from bot.redacting_limiter import RedactingRateLimiter
from bot.runtime import open_services, utc_now
from bot.services.registry import ProviderRegistry, build_registry
from bot.shutdown import ShutdownBudget, StopCause, StopSignals
from bot.web import WebSide
from bot.web.instrumented import CountingNotifier, instrument
from bot.web.telegram_contact import TrackingRequest

log = logging.getLogger(__name__)

SmsApplication = Application[Any, SmsContext, Any, Any, AppState, Any]

# New messages only: an edited "/send …" must never send a second time.
NEW_MESSAGES = filters.UpdateType.MESSAGE


def build_application(
    settings: Settings,
    *,
    providers: ProviderRegistry | None = None,
    clock: Callable[[], datetime] = utc_now,
    handle_stop_signals: bool = False,
    lease_lost: Callable[[], bool] | None = None,
    took_over: bool = False,
    stop_cause: StopCause | None = None,
) -> SmsApplication:
    """The bot, ready for ``run_polling``; ``providers``/``clock`` exist for tests and benchmarks.

    ``lease_lost``: polled while running; once True (or the database fenced or lost) the bot fences its database
    and stops, saying so in ``stop_cause`` (``bot/standby.py``).
    ``took_over``: this process waited as a standby, so the admins hear that it took over.

    ``handle_stop_signals``: under ``run_polling`` (``python -m bot``), start the shutdown clock at SIGTERM/SIGINT
    instead of at ``post_stop``; off in-process (tests), where the signals belong to the test runner.
    """

    shutdown = ShutdownBudget(settings.shutdown_grace_seconds)
    web = WebSide(settings, None)  # the application is set below, once built
    watchers: list[asyncio.Task[None]] = []
    signals = StopSignals(shutdown, stop_cause, lambda: application.running) if handle_stop_signals else None

    async def post_init(application: SmsApplication) -> None:
        if signals is None:
            await start_up(application)
            return
        signals.install()  # a stop signal from here on cancels the start-up, which unwinds before the stop
        try:
            await start_up(application)
        except asyncio.CancelledError:
            if not signals.requested:
                raise
            raise SystemExit from None  # as PTB's own handler: its stop sequence follows
        signals.started_up(application.bot_data.services)

    async def start_up(application: SmsApplication) -> None:
        def notifier_for(admin_ids: Callable[[], Awaitable[list[int]]]) -> CountingNotifier:
            return CountingNotifier(TelegramAdminNotifier(application.bot, admin_ids), web.metrics)

        registry = instrument(providers or build_registry(settings), web.metrics)
        services = await open_services(settings, notifier_for, clock=clock, providers=registry)
        application.bot_data.services = services

        async def chat_moved(old_chat_id: int, new_chat_id: int) -> None:
            await follow_migration(application.bot, services, old_chat_id, new_chat_id)

        application.bot.follow_moves(chat_moved)
        await register_command_menus(application.bot, services)
        # First: after `python -m bot restore`, unfinished work of the backup is settled, not resumed.
        await report_restore(services)
        if lease_lost is not None:
            cause = stop_cause or StopCause()
            watchers.append(asyncio.create_task(watch_lease(application, lease_lost, cause), name="lease-watch"))
        await report_recovery(
            application.bot, services, reporter_factory(application.bot, services.alerts), took_over=took_over
        )
        await recover_schedules(services)
        schedule_jobs(application, settings)
        await web.start()  # last: /healthz and the webhook see a bot that is ready

    # Both return early when post_init failed (a bad database, say): its own error is the one to show.
    async def post_stop(application: SmsApplication) -> None:
        for watcher in watchers:
            watcher.cancel()
        if application.bot_data.ready:
            # Batches finish (or are cut) and folded alerts go out while the bot can still send, within the grace.
            await shutdown.finish(application.bot_data.services)

    async def post_shutdown(application: SmsApplication) -> None:
        for watcher in watchers:
            watcher.cancel()
        if signals is not None:
            signals.close()
        await web.stop()
        if application.bot_data.ready:
            await application.bot_data.services.aclose(grace=0)
            application.bot_data.services = None

    bot = FollowingBot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_url,
        base_file_url=settings.telegram_file_url,
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            # The answer to a /send someone deleted meanwhile still arrives, just without the quote.
            allow_sending_without_reply=True,
        ),
        # Keeps bursts (bulk progress, alerts to many admins) under Telegram's limits; retries a 429 itself.
        # Wrapped: every text and caption loses its secrets on the way out (bot/redacting_limiter.py).
        rate_limiter=RedactingRateLimiter(AIORateLimiter(max_retries=3), make_redactor(settings_secrets(settings))),
        # What ApplicationBuilder would build: a pool for concurrent handlers, one connection for polling.
        # Each also records when Telegram last answered (/healthz) and counts failed calls (/metrics).
        request=TrackingRequest(web.contact, web.metrics, connection_pool_size=256),
        get_updates_request=TrackingRequest(web.contact, web.metrics, connection_pool_size=1),
    )
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=SmsContext, bot_data=AppState))
        # Slow provider calls in one chat must not hold up the others.
        .concurrent_updates(True)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    application: SmsApplication = builder.build()
    web.application = application
    application.bot_data.web = web
    add_handlers(application)
    return application


async def watch_lease(application: SmsApplication, lease_lost: Callable[[], bool], cause: StopCause) -> None:
    """Stop at once when the active lock is lost, another process took the lease, or the database connection died:
    from then on no claim of this process succeeds. The cli loop then waits as a standby (and reopens)."""
    db = application.bot_data.services.db
    # Flags set by the lock's own thread and by the database link: polled, four times a second.
    while not (lease_lost() or db.unusable):  # noqa: ASYNC110
        await asyncio.sleep(LEASE_WATCH_SECONDS)
    reason = (
        "the active lock is lost"
        if lease_lost()
        else "the database connection is lost"
        if db.link_broken
        else "another replica took the lease"
    )
    log.error("stopping all work: %s; another replica may take over", reason)
    cause.lease = True
    db.lose_lease()
    # Lost during start-up: stop once started (stop_running before that only marks run_polling, not the webhook).
    while not application.running:  # noqa: ASYNC110
        await asyncio.sleep(LEASE_WATCH_SECONDS)
    application.stop_running()


LEASE_WATCH_SECONDS = 0.25
ESCALATION_TICK_SECONDS = 2.0  # two indexed reads: the firing alerts that escalate, the all-clears due
RECONCILE_SECONDS = 60.0  # the firing alerts compared with Alertmanager's: one read, one GET /api/v2/alerts

COMMAND_TABLE = CommandTable(
    {
        "start": start,
        "help": start,
        "send": send_command,
        "bulk": bulk_command,
        "status": status_command,
        "balance": balance_command,
        "history": history_command,
        "export": export_command,
        "retry": retry_command,
        "allow": allow_command,
        "deny": deny_command,
        "chats": chats_command,
        "group": group_command,
        "block": block_command,
        "unblock": unblock_command,
        "blocked": blocked_command,
        "template": template_command,
        "quota": quota_command,
        "usage": usage_command,
        "scheduled": scheduled_command,
        "alerts": alerts_command,
    },
    unknown=unknown_command,
)


def add_handlers(application: SmsApplication) -> None:
    # Group -2: a group's upgrade to a supergroup moves its role before the guard looks the new id up.
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, chat_migrated), group=-2)
    # Group -1 runs next for every update: the guard stops strangers and commands a role may not use.
    application.add_handler(TypeHandler(Update, guard), group=-1)

    # Command() reads texts and documents' captions with the guard's own matcher (bot/handlers/commands.py); the
    # table finds the command's handler with one lookup, and sends commands it does not have to unknown_command.
    application.add_handler(MessageHandler(Command() & NEW_MESSAGES, COMMAND_TABLE))
    # Same group, so only a file whose caption is no command gets here: it is told what to do with the file.
    application.add_handler(MessageHandler(filters.Document.ALL & NEW_MESSAGES, file_without_command))

    application.add_handler(CallbackQueryHandler(send_button, pattern=r"^(ok|no):send:"))
    application.add_handler(CallbackQueryHandler(bulk_button, pattern=r"^(ok|no|stop):bulk:"))
    application.add_handler(CallbackQueryHandler(retry_button, pattern=r"^(ok|no):retry:"))
    application.add_handler(CallbackQueryHandler(group_button, pattern=r"^(ok|no):group:"))
    application.add_handler(CallbackQueryHandler(scheduled_bulk_button, pattern=r"^(ok|no):sbulk:"))
    application.add_handler(CallbackQueryHandler(cancel_schedule_button, pattern=r"^no:scheduled:"))
    application.add_handler(CallbackQueryHandler(alert_button, pattern=r"^(ack|sil|exp):alerts:"))
    application.add_error_handler(on_error)


def schedule_jobs(application: SmsApplication, settings: Settings) -> None:
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    if settings.balance_check_interval > 0:
        job_queue.run_repeating(
            check_balances,
            interval=settings.balance_check_interval,
            first=min(5, settings.balance_check_interval),
            name="balance-check",
        )
    if settings.delivery_check_interval > 0:
        job_queue.run_repeating(
            track_deliveries,
            interval=settings.delivery_check_interval,
            first=settings.delivery_check_interval,
            name="delivery-tracking",
        )
    schedule_data_safety(job_queue, settings, application.bot_data.services)
    # First round at once: steps that came due while the bot was down go out at start-up. Also without
    # ALERT_ESCALATION: those an earlier escalation texted still get their all-clear.
    job_queue.run_repeating(escalate_alerts, interval=ESCALATION_TICK_SECONDS, first=0, name="alert-escalation")
    if settings.alertmanager_url is not None:
        job_queue.run_repeating(reconcile_alerts, interval=RECONCILE_SECONDS, first=10, name="alert-reconcile")
    # First round at once: schedules that came due while the bot was down go out (or are missed) at start-up.
    job_queue.run_repeating(fire_schedules, interval=TICK_SECONDS, first=0, name="scheduled-sends")
