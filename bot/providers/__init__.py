"""SMS provider clients (Texin, 254sms) behind one protocol, one error tree and our own result types."""

from bot.providers.errors import (
    AuthenticationError,
    BadRequestError,
    InsufficientCreditError,
    InvalidSenderIdError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ProviderError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from bot.providers.http import DEFAULT_TIMEOUT, RetryPolicy, attempt_deadline
from bot.providers.sms254 import SMS254_CREDITS_URL, SMS254_SEND_URL, Sms254Client
from bot.providers.texin import TEXIN_BASE_URL, TexinClient
from bot.providers.texin_reading import delivery_state
from bot.providers.types import (
    Balance,
    DeliveryState,
    DeliveryStatus,
    GatewayResponse,
    ProviderName,
    RecipientOutcome,
    RecipientState,
    SendResult,
    SmsProvider,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "SMS254_CREDITS_URL",
    "SMS254_SEND_URL",
    "TEXIN_BASE_URL",
    "AuthenticationError",
    "BadRequestError",
    "Balance",
    "DeliveryState",
    "DeliveryStatus",
    "GatewayResponse",
    "InsufficientCreditError",
    "InvalidSenderIdError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "ProviderError",
    "ProviderName",
    "ProviderRejectedError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RecipientOutcome",
    "RecipientState",
    "RetryPolicy",
    "SendResult",
    "Sms254Client",
    "SmsProvider",
    "TexinClient",
    "attempt_deadline",
    "delivery_state",
]
