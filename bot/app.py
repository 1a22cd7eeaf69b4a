"""The python-telegram-bot ``Application``: wiring, lifecycle and the table of handlers.

Lifecycle (PTB's own): initialize → ``post_init`` (open storage, build provider clients and services, register
the command menus, recover and resume bulk jobs) → polling → stop → ``post_stop`` (let running batches finish
while the bot can still edit their progress) → shutdown → ``post_shutdown`` (close clients and the database).
All of the stop fits ``SHUTDOWN_GRACE_SECONDS`` from the stop signal (``bot/shutdown.py``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from telegram import LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import Settings
from bot.context import AppState, SmsContext
from bot.handlers.balance import balance_command
from bot.handlers.bulk import bulk_button, bulk_command, reporter_factory
from bot.handlers.chats import allow_command, chats_command, deny_command
from bot.handlers.errors import on_error
from bot.handlers.guard import guard
from bot.handlers.history import export_command, history_command
from bot.handlers.info import start, unknown_command
from bot.handlers.jobs import check_balances, report_recovery, track_deliveries
from bot.handlers.menus import register_command_menus
from bot.handlers.retry import retry_button, retry_command
from bot.handlers.send import send_button, send_command
from bot.handlers.status import status_command
from bot.notifier import TelegramAdminNotifier
from bot.runtime import open_services, utc_now
from bot.services.registry import ProviderRegistry
from bot.shutdown import ShutdownBudget, start_budget_on_stop_signals

log = logging.getLogger(__name__)

SmsApplication = Application[Any, SmsContext, Any, Any, AppState, Any]

# New messages only: an edited "/send …" must never send a second time.
NEW_MESSAGES = filters.UpdateType.MESSAGE


class _CaptionCommand(filters.MessageFilter):
    """A document whose caption starts with ``/<name>`` (any case, phones capitalise captions), optionally
    ``@``-addressed to this bot. CommandHandler only reads message texts, never captions."""

    def __init__(self, name: str) -> None:
        super().__init__(name=f"CaptionCommand({name})")
        self._pattern = re.compile(rf"^/{name}(?:@(\w+))?(?:\s|$)", re.IGNORECASE)

    def filter(self, message: Message) -> bool:
        match = self._pattern.match(message.caption or "")
        if match is None:
            return False
        addressed = match.group(1)
        return addressed is None or addressed.lower() == (message.get_bot().username or "").lower()


BULK_CAPTION = filters.Document.ALL & _CaptionCommand("bulk") & NEW_MESSAGES


def build_application(
    settings: Settings,
    *,
    providers: ProviderRegistry | None = None,
    clock: Callable[[], datetime] = utc_now,
    handle_stop_signals: bool = False,
) -> SmsApplication:
    """The bot, ready for ``run_polling``; ``providers``/``clock`` exist for tests and benchmarks.

    ``handle_stop_signals``: under ``run_polling`` (``python -m bot``), start the shutdown clock at SIGTERM/SIGINT
    instead of at ``post_stop``; off in-process (tests), where the signals belong to the test runner.
    """

    shutdown = ShutdownBudget(settings.shutdown_grace_seconds)

    async def post_init(application: SmsApplication) -> None:
        def notifier_for(admin_ids: Callable[[], Awaitable[list[int]]]) -> TelegramAdminNotifier:
            return TelegramAdminNotifier(application.bot, admin_ids)

        services = await open_services(settings, notifier_for, clock=clock, providers=providers)
        application.bot_data.services = services
        await register_command_menus(application.bot, services)
        await report_recovery(application.bot, services, reporter_factory(application.bot, services.alerts))
        schedule_jobs(application, settings)
        if handle_stop_signals:
            start_budget_on_stop_signals(shutdown, services)

    # Both return early when post_init failed (a bad database, say): its own error is the one to show.
    async def post_stop(application: SmsApplication) -> None:
        if application.bot_data.ready:
            # Batches finish (or are cut) and folded alerts go out while the bot can still send, within the grace.
            await shutdown.finish(application.bot_data.services)

    async def post_shutdown(application: SmsApplication) -> None:
        if application.bot_data.ready:
            await application.bot_data.services.aclose(grace=0)
            application.bot_data.services = None

    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                # The answer to a /send someone deleted meanwhile still arrives, just without the quote.
                allow_sending_without_reply=True,
            )
        )
        .context_types(ContextTypes(context=SmsContext, bot_data=AppState))
        # Slow provider calls in one chat must not hold up the others.
        .concurrent_updates(True)
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        # Keeps bursts (bulk progress, alerts to many admins) under Telegram's limits; retries a 429 itself.
        .rate_limiter(AIORateLimiter(max_retries=3))
    )
    application: SmsApplication = builder.build()
    add_handlers(application)
    return application


def add_handlers(application: SmsApplication) -> None:
    # Group -1 runs first for every update: the guard stops strangers and commands a role may not use.
    application.add_handler(TypeHandler(Update, guard), group=-1)

    application.add_handler(CommandHandler(["start", "help"], start, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("send", send_command, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("bulk", bulk_command, filters=NEW_MESSAGES))
    application.add_handler(MessageHandler(BULK_CAPTION, bulk_command))
    application.add_handler(CommandHandler("status", status_command, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("balance", balance_command, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("history", history_command, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("export", export_command, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("retry", retry_command, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("allow", allow_command, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("deny", deny_command, filters=NEW_MESSAGES))
    application.add_handler(CommandHandler("chats", chats_command, filters=NEW_MESSAGES))

    application.add_handler(CallbackQueryHandler(send_button, pattern=r"^(ok|no):send:"))
    application.add_handler(CallbackQueryHandler(bulk_button, pattern=r"^(ok|no|stop):bulk:"))
    application.add_handler(CallbackQueryHandler(retry_button, pattern=r"^(ok|no):retry:"))

    # Last in its group: only commands nothing above took.
    application.add_handler(MessageHandler(filters.COMMAND & NEW_MESSAGES, unknown_command))
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
