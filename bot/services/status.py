"""Where a message stands: our record, refreshed from the provider when it has a status call (Texin)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.ids import parse_id
from bot.providers.errors import ProviderError
from bot.providers.types import DeliveryState, DeliveryStatus, ProviderName
from bot.services.errors import NotFoundError
from bot.services.registry import ProviderRegistry
from storage import Database, InvalidTransitionError, MessageRecord, MessageStatus

_FROM_DELIVERY = {
    DeliveryState.SENT: MessageStatus.SENT,
    DeliveryState.DELIVERED: MessageStatus.DELIVERED,
    DeliveryState.FAILED: MessageStatus.FAILED,
}


@dataclass(frozen=True, slots=True)
class StatusReport:
    message: MessageRecord
    delivery: DeliveryStatus | None  # the provider's fresh answer, when it was asked
    note: str | None = None  # why the provider was not asked, or what went wrong asking


class StatusService:
    def __init__(self, db: Database, providers: ProviderRegistry) -> None:
        self._db = db
        self._providers = providers

    async def find(self, ident: str, *, chat_id: int, all_chats: bool) -> MessageRecord:
        """Our id (digits) or a provider's message id; other chats' messages only with ``all_chats``."""
        ident = ident.strip().lstrip("#")
        candidates: list[MessageRecord] = []
        number = parse_id(ident)
        if number is not None:
            own = await self._db.messages.get(number)
            if own is not None:
                candidates.append(own)
        for name in ProviderName:
            by_provider = await self._db.messages.get_by_provider_id(name.value, ident)
            if by_provider is not None:
                candidates.append(by_provider)
        for message in candidates:
            if all_chats or message.chat_id == chat_id:
                return message
        raise NotFoundError(f"No message “{ident}” in this chat. /status alone lists the latest ones.")

    async def lookup(self, ident: str, *, chat_id: int, all_chats: bool) -> StatusReport:
        return await self.refresh(await self.find(ident, chat_id=chat_id, all_chats=all_chats))

    async def refresh(self, message: MessageRecord) -> StatusReport:
        """Ask the provider (when it can tell) and store what it says; never raises for provider faults."""
        provider_name = ProviderName(message.provider)
        if provider_name not in self._providers.names:
            return StatusReport(message, None, f"{provider_name.label} is no longer configured: our record.")
        provider = self._providers.get(provider_name)
        if not provider.supports_status:
            return StatusReport(message, None, f"{provider_name.label} has no status call: this is our record.")
        if message.provider_message_id is None:
            return StatusReport(message, None, "No provider message id to ask about: this is our record.")
        try:
            delivery = await provider.status(message.provider_message_id)
        except ProviderError as exc:
            return StatusReport(message, None, f"Could not ask {provider_name.label}: {exc}")
        return StatusReport(await self.apply(message, delivery), delivery)

    async def apply(self, message: MessageRecord, delivery: DeliveryStatus) -> MessageRecord:
        """Store the provider's state if it moves the row forward; ``pending`` and backwards moves change nothing."""
        target = _FROM_DELIVERY.get(delivery.state)
        if target is None or target is message.status:
            return message
        try:
            return await self._db.messages.set_status(
                message.id,
                target,
                error=delivery.error_message if target is MessageStatus.FAILED else None,
            )
        except InvalidTransitionError:
            return message

    async def latest(self, *, chat_id: int, limit: int = 10, all_chats: bool = False) -> list[MessageRecord]:
        """This chat's latest messages, or the whole team's."""
        if all_chats:
            return await self._db.messages.list_recent(limit=limit)
        return await self._db.messages.list_for_chat(chat_id, limit=limit)
