"""Everything the handlers use, built once in ``post_init`` and closed in ``post_shutdown``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.providers.alertmanager import AlertmanagerClient
from bot.redact import make_redactor, settings_secrets
from bot.services.access import AccessService
from bot.services.alerts import AdminNotifier, AlertService
from bot.services.balance import BalanceService
from bot.services.balance_watch import BalanceWatcher
from bot.services.blocklist import BlocklistService
from bot.services.bulk import BulkDraft, BulkService, RetryDraft
from bot.services.groups import GroupService
from bot.services.history import HistoryService
from bot.services.oncall import EscalationPolicy, OnCallService
from bot.services.previews import PreviewStore
from bot.services.quotas import QuotaService
from bot.services.registry import ProviderRegistry, build_registry
from bot.services.requests import RequestLog
from bot.services.scheduler import Scheduler
from bot.services.schedules import ScheduleService
from bot.services.sending import SendingService, SingleSend
from bot.services.status import StatusService
from bot.services.templates import TemplateService
from bot.services.tracking import DeliveryTracker, TrackingSchedule
from bot.services.usage import UsageService
from storage import Database, Role, open_database

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    db: Database
    providers: ProviderRegistry
    alerts: AlertService
    access: AccessService
    sending: SendingService
    bulk: BulkService
    status: StatusService
    balances: BalanceService
    watcher: BalanceWatcher
    tracker: DeliveryTracker
    history: HistoryService
    requests: RequestLog
    send_previews: PreviewStore[SingleSend]
    bulk_previews: PreviewStore[BulkDraft]
    retry_previews: PreviewStore[RetryDraft]
    redact: Callable[[str], str]
    groups: GroupService
    group_previews: PreviewStore[str]
    blocklist: BlocklistService
    templates: TemplateService
    quotas: QuotaService
    usage: UsageService
    # Built from the services above once they exist (see ``open_services``).
    schedules: ScheduleService = field(init=False)
    scheduler: Scheduler = field(init=False)
    oncall: OnCallService = field(init=False)

    async def aclose(self, *, grace: float = 10.0) -> None:
        """Stop bulk jobs cleanly (pending rows resume next start) and flush the alerts, both within ``grace``
        seconds, then close the clients and the database (always, even when stopping the work failed)."""
        deadline = time.monotonic() + grace
        try:
            await self.bulk.shutdown(grace)
            try:
                # A Telegram that hangs must not hold the exit past the grace; at least one quick try.
                await asyncio.wait_for(self.alerts.aclose(), timeout=max(deadline - time.monotonic(), 0.5))
            except TimeoutError:
                log.warning("folded alerts were not sent: the shutdown grace ran out")
        finally:
            try:
                await self.providers.aclose()
            finally:
                try:
                    await self.oncall.aclose()
                finally:
                    await self.db.close()


async def open_services(
    settings: Settings,
    notifier_for: Callable[[Callable[[], Awaitable[list[int]]]], AdminNotifier],
    *,
    clock: Callable[[], datetime] = utc_now,
    providers: ProviderRegistry | None = None,
) -> Services:
    """Open the database, seed the admins, build the provider clients and the services on top."""
    db = await open_database(settings.database_target, clock=clock, active=True)
    try:
        registry = providers or build_registry(settings)
        redact = make_redactor(settings_secrets(settings))
        notifier = notifier_for(db.chats.admin_ids)
        alerts = AlertService(
            notifier,
            db.alert_state,
            redact=redact,
            clock=clock,
            fold_window=timedelta(seconds=settings.alert_fold_window),
        )
        access = AccessService(db, alerts, clock=clock)
        await access.seed_admins(settings.admin_chat_ids)
        code = await access.first_admin.open_if_needed()
        if code is not None:
            log.warning("No admin yet: send /claim %s to the bot from the chat that should be its admin", code)
        # Telegram redelivers an update for at most 24 hours: older keys can never match again.
        await db.spend_requests.forget_older_than(timedelta(days=2))
        balances = BalanceService(
            registry, timeout=settings.provider_timeout + 5, max_age=settings.balance_cache_seconds
        )
        status = StatusService(db, registry)
        quotas = QuotaService(
            db,
            alerts,
            zone=settings.timezone,
            defaults={Role.SENDER: settings.sender_daily_units, Role.ADMIN: settings.admin_daily_units},
            clock=clock,
        )
        services = Services(
            settings=settings,
            db=db,
            providers=registry,
            alerts=alerts,
            access=access,
            sending=SendingService(db, registry, alerts, balances, quotas, failover=settings.provider_failover),
            bulk=BulkService(
                db,
                registry,
                balances,
                alerts,
                batch_size=settings.bulk_batch_size,
                concurrency=settings.bulk_concurrency,
                progress_interval=settings.bulk_progress_interval,
                quotas=quotas,
                failover=settings.provider_failover,
            ),
            status=status,
            balances=balances,
            watcher=BalanceWatcher(balances, alerts, settings.low_balance_threshold_for),
            tracker=DeliveryTracker(
                db,
                registry,
                status,
                TrackingSchedule(
                    first_check=timedelta(seconds=settings.delivery_first_check),
                    give_up_after=timedelta(hours=settings.delivery_give_up_hours),
                ),
                clock=clock,
            ),
            history=HistoryService(db),
            requests=RequestLog(db, clock, stale_after=timedelta(seconds=settings.stale_command_seconds)),
            send_previews=PreviewStore(),
            bulk_previews=PreviewStore(),
            retry_previews=PreviewStore(),
            redact=redact,
            groups=GroupService(db),
            group_previews=PreviewStore(),
            blocklist=BlocklistService(db),
            templates=TemplateService(db),
            quotas=quotas,
            usage=UsageService(db, zone=settings.timezone, clock=clock),
        )
        services.schedules = ScheduleService(db, clock)
        services.scheduler = Scheduler(
            db,
            services.sending,
            services.bulk,
            alerts,
            clock=clock,
            grace=timedelta(seconds=settings.schedule_grace_seconds),
        )
        services.oncall = OnCallService(
            db,
            notifier,
            alerts,
            services.sending,
            services.groups,
            policy=EscalationPolicy(settings.alert_escalation, settings.alert_escalate_severities),
            silences=None
            if settings.alertmanager_url is None
            else AlertmanagerClient(settings.alertmanager_url.get_secret_value()),
            records_chat=lambda: records_chat(settings, access),
            zone=settings.timezone,
            clock=clock,
            redact=redact,
        )
    except BaseException:
        await db.close()
        raise
    return services


async def records_chat(settings: Settings, access: AccessService) -> int:
    """The chat the bot's own SMS are recorded under: the first of ADMIN_CHAT_IDS, else the first admin (0: none)."""
    admins = settings.admin_chat_ids or await access.admin_chat_ids()
    return admins[0] if admins else 0
