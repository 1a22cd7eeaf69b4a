"""One SMS to one number: validate, record, send, record the outcome.

The row is written as ``sending`` before the provider is called, so a crash mid-call leaves a trace that start-up
turns into ``unknown`` instead of a message nobody knows about. Provider faults never escape as exceptions: they
become a ``SendReport`` the handler can show, and the admins are told. A refusal before sending may hand the same
row to the other provider (``failover``; ``docs/failover.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from bot.config import FailoverMode
from bot.phone import normalise_phone
from bot.providers.errors import OutcomeUnknownError, ProviderError
from bot.providers.types import ProviderName, RecipientState, SendResult, SmsProvider
from bot.services.alerts import AlertService
from bot.services.authorization import require
from bot.services.balance import BalanceService
from bot.services.blocklist import refuse_if_blocked
from bot.services.failover import SendPurpose, backup_provider
from bot.services.quotas import QuotaService
from bot.services.registry import ProviderRegistry
from bot.sms_text import SmsLength, check_message
from storage import Database, MessageStatus, NewMessage, Role, audit_actions


@dataclass(frozen=True, slots=True)
class SingleSend:
    """A validated send, either waiting for the user's Send button or about to go out."""

    chat_id: int
    user_id: int | None
    provider: ProviderName
    sender_id: str
    recipient: str
    text: str
    length: SmsLength
    provider_chosen: bool = False  # named by the person (via:): never replaced by another provider

    @property
    def units(self) -> int:
        return self.length.units(1)


@dataclass(frozen=True, slots=True)
class SendReport:
    request: SingleSend
    message_id: int  # our id, for /status
    status: MessageStatus  # sent, failed or unknown
    provider_message_id: str | None = None
    units: int | None = None  # the provider's figure
    cost: Decimal | None = None
    balance_after: Decimal | None = None
    simulation: bool = False
    error: str | None = None
    failover_from: ProviderName | None = None  # refused before sending; ``request.provider`` then took it
    failover_reason: str | None = None  # what it said


@dataclass(frozen=True, slots=True)
class _Failover:
    """The provider that refused before sending, and what it said."""

    provider: ProviderName
    reason: str


class SendingService:
    def __init__(
        self,
        db: Database,
        providers: ProviderRegistry,
        alerts: AlertService,
        balances: BalanceService,
        quotas: QuotaService | None = None,
        *,
        failover: FailoverMode = FailoverMode.OFF,
    ) -> None:
        self._db = db
        self._providers = providers
        self._alerts = alerts
        self._balances = balances
        self._quotas = quotas
        self._failover = failover

    def prepare(
        self,
        *,
        chat_id: int,
        user_id: int | None,
        number: str,
        text: str,
        provider: ProviderName | None = None,
        caller_role: Role | None,
    ) -> SingleSend:
        """Check everything before anything is stored or sent; raises ``UserInputError``-like errors."""
        require(caller_role, "send")
        recipient = normalise_phone(number)
        length = check_message(text)
        client = self._providers.get(provider)
        return SingleSend(
            chat_id=chat_id,
            user_id=user_id,
            provider=client.name,
            sender_id=client.default_sender_id,
            recipient=recipient,
            text=text,
            length=length,
            provider_chosen=provider is not None,
        )

    async def check_recipient(self, request: SingleSend) -> None:
        """Refuse an opted-out recipient before a preview is shown (``send`` checks again)."""
        await refuse_if_blocked(self._db, request.recipient)

    async def send(
        self,
        request: SingleSend,
        *,
        request_key: str | None = None,
        count_quota: bool = True,
        purpose: SendPurpose = SendPurpose.USER,
    ) -> SendReport:
        """Send now; a ``request_key`` already stored raises ``DuplicateRequest``, a blocked recipient or one past the
        chat's quota ``RecipientBlockedError``/``QuotaExceededError``, all before anything is written or sent.
        ``count_quota=False`` (alert SMS, the bot's own) marks the row outside every quota and checks none."""
        await refuse_if_blocked(self._db, request.recipient)
        client = self._providers.get(request.provider)
        async with self._db.transaction():
            record = await self._db.messages.add(
                NewMessage(
                    chat_id=request.chat_id,
                    user_id=request.user_id,
                    provider=request.provider.value,
                    recipient=request.recipient,
                    body=request.text,
                    encoding=request.length.encoding.value,
                    segments=request.length.segments,
                    status=MessageStatus.SENDING,
                    outside_quota=not count_quota,
                ),
                request_key=request_key,
            )
            quotas = self._quotas if count_quota else None
            reserved = None if quotas is None else await quotas.reserve(request.chat_id, request.units)
        report = await self._call_provider(request, client, record.id, purpose)
        if quotas is not None:
            await quotas.announce(reserved)  # after the SMS left: a slow Telegram must not hold it up
        return report

    async def _call_provider(
        self,
        request: SingleSend,
        client: SmsProvider,
        message_id: int,
        purpose: SendPurpose | None,
        failover: _Failover | None = None,
    ) -> SendReport:
        """Send the stored ``sending`` row and record what the provider said; provider faults become reports.

        ``purpose`` ``None``: this is already the other provider's attempt, so it never fails over again."""
        try:
            result = await client.send([request.recipient], request.text, request.sender_id)
        except OutcomeUnknownError as exc:
            report = await self._finish(request, message_id, MessageStatus.UNKNOWN, error=str(exc), failover=failover)
            await self._alerts.send_failed(
                request.provider,
                str(exc),
                chat_id=request.chat_id,
                user_id=request.user_id,
                recipients=1,
                unknown=True,
            )
            return report
        except ProviderError as exc:
            backup = None if purpose is None else self._backup(request, purpose, exc)
            if backup is not None:
                handed = await self._fail_over(request, message_id, exc, backup)
                if handed is not None:
                    return handed
            report = await self._finish(request, message_id, MessageStatus.FAILED, error=str(exc), failover=failover)
            await self._alerts.send_failed(
                request.provider, str(exc), chat_id=request.chat_id, user_id=request.user_id, recipients=1
            )
            return report
        except BaseException:
            # A bug or a cancellation after the request may have left: never leave the row looking unsent.
            await self._db.messages.set_status(
                message_id, MessageStatus.UNKNOWN, error="interrupted while sending; outcome unknown"
            )
            raise
        return await self._record_result(request, message_id, result, failover)

    def _backup(self, request: SingleSend, purpose: SendPurpose, error: ProviderError) -> ProviderName | None:
        return backup_provider(
            self._failover,
            purpose,
            request.provider,
            error,
            chosen=request.provider_chosen,
            configured=self._providers.names,
        )

    async def _fail_over(
        self, request: SingleSend, message_id: int, error: ProviderError, backup: ProviderName
    ) -> SendReport | None:
        """The same SMS through ``backup`` on the same row, after ``request.provider`` refused before sending.

        The row names ``backup`` before it is called; ``None`` when the row is no longer ours to send."""
        failover = _Failover(request.provider, str(error))
        moved = await self._db.messages.record_failover(
            message_id, provider=backup.value, failover_from=failover.provider.value, reason=failover.reason
        )
        if moved is None:
            return None
        client = self._providers.get(backup)
        second = replace(request, provider=backup, sender_id=client.default_sender_id)
        report = await self._call_provider(second, client, message_id, None, failover)
        # The admins must still learn that the first provider refused, and where the SMS went instead.
        await self._alerts.send_failed(
            request.provider,
            failover.reason,
            chat_id=request.chat_id,
            user_id=request.user_id,
            recipients=1,
            failover_to=backup,
            failover_status=report.status.value,
        )
        return report

    async def _record_result(
        self, request: SingleSend, message_id: int, result: SendResult, failover: _Failover | None
    ) -> SendReport:
        self._balances.note_balance_after_send(request.provider, result.balance_after)
        outcome = result.outcomes[0]
        if outcome.state is RecipientState.ACCEPTED:
            status, error = MessageStatus.SENT, None
        elif outcome.state is RecipientState.REJECTED:
            status, error = MessageStatus.FAILED, outcome.error or "refused by the provider"
        else:
            status, error = MessageStatus.UNKNOWN, outcome.error or "the provider's answer did not mention this number"
        report = await self._finish(
            request,
            message_id,
            status,
            provider_message_id=outcome.provider_message_id,
            units=result.units,
            cost=result.cost,
            balance_after=result.balance_after,
            simulation=result.simulation,
            error=error,
            failover=failover,
        )
        if status is not MessageStatus.SENT:
            await self._alerts.send_failed(
                request.provider,
                error or "",
                chat_id=request.chat_id,
                user_id=request.user_id,
                recipients=1,
                unknown=status is MessageStatus.UNKNOWN,
            )
        return report

    async def _finish(
        self,
        request: SingleSend,
        message_id: int,
        status: MessageStatus,
        *,
        provider_message_id: str | None = None,
        units: int | None = None,
        cost: Decimal | None = None,
        balance_after: Decimal | None = None,
        simulation: bool = False,
        error: str | None = None,
        failover: _Failover | None = None,
    ) -> SendReport:
        await self._db.messages.set_status(
            message_id,
            status,
            provider_message_id=provider_message_id,
            units=units if units is not None else (request.units if status is MessageStatus.SENT else None),
            cost=cost,
            error=error,
        )
        await self._db.audit.record(
            audit_actions.SEND,
            actor_chat_id=request.chat_id,
            actor_user_id=request.user_id,
            target=request.recipient,
            detail=f"{request.provider.value} message #{message_id}: {status.value}"
            + (f" ({error})" if error else "")
            + (f", after {failover.provider.value} refused: {failover.reason}" if failover else ""),
            units=units if units is not None else request.units,
        )
        return SendReport(
            request=request,
            message_id=message_id,
            status=status,
            provider_message_id=provider_message_id,
            units=units,
            cost=cost,
            balance_after=balance_after,
            simulation=simulation,
            error=error,
            failover_from=None if failover is None else failover.provider,
            failover_reason=None if failover is None else failover.reason,
        )
