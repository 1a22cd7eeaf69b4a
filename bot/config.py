"""Settings from the environment and `.env`, checked once at start-up.

Every name here is part of the public interface: operators set them, `.env.example` documents them. A problem is
reported as one line per variable (``ConfigError.problems``), never as a pydantic traceback, and never with the
value of a secret in it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.escalation_plan import EscalationStep, parse_escalation
from bot.phone import InvalidPhoneNumberError, normalise_phone
from bot.providers.types import ProviderName
from storage.postgres_url import is_postgres_url

DEFAULT_TEXIN_BASE_URL = "https://texin.hotspotbillingsystem.co.ke/api/"
DEFAULT_SMS254_SEND_URL = "https://api.254sms.com/version1/sendsms"
# Not published by 254sms: this follows the send URL's pattern and is unverified (see .env.example).
DEFAULT_SMS254_CREDITS_URL = "https://api.254sms.com/version1/credits"
WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


_RESERVED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # served by bot/web/routes.py


class FailoverMode(StrEnum):
    """``PROVIDER_FAILOVER``: which sends another provider may take when the first refused before sending."""

    OFF = "off"
    ALERTS = "alerts"  # alert SMS only
    ALL = "all"  # also /send and bulk jobs


class ConfigError(Exception):
    """The settings cannot be used; ``problems`` holds one readable line per variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class DatabaseSettings(BaseSettings):
    """What ``backup``, ``restore`` and ``migrate-to`` read: the database and the log level, nothing that signs in."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `TEXIN_API_KEY=` copied from .env.example means "not set"
        extra="ignore",
        case_sensitive=False,
    )

    database_path: Path = Path("data/smsrelay.db")
    # PostgreSQL instead of the SQLite file (README "High availability"): postgresql://user:pass@host:5432/db.
    database_url: SecretStr | None = None
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # The URL holds the password: never quoted back.
        if value is None:
            return None
        url = value.get_secret_value().strip()
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError:
            raise ValueError(
                "is not a readable URL; write it as postgresql://user:password@host:5432/database"
            ) from None
        if not is_postgres_url(url) or not parts.hostname or not parts.path.strip("/"):
            raise ValueError("must be postgresql://user:password@host:5432/database (or postgres://…)")
        return SecretStr(url)

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def database_target(self) -> str | Path:
        """What ``open_database`` opens: the PostgreSQL URL when DATABASE_URL is set, else the SQLite file."""
        return self.database_path if self.database_url is None else self.database_url.get_secret_value()


class SecretSettings(DatabaseSettings):
    """Every secret the settings may hold, all optional: what a command redacts from what it prints or sends, even
    the secrets it does not use itself (a script may paste a log line with the provider key into ``notify``)."""

    telegram_bot_token: SecretStr | None = None
    texin_api_key: SecretStr | None = None
    sms254_username: str | None = None
    sms254_api_key: SecretStr | None = None
    alert_webhook_token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    alertmanager_url: SecretStr | None = None


class NotifySettings(DatabaseSettings):
    """What ``notify`` reads besides: Telegram and the admins; no SMS provider."""

    telegram_bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_file_url: str = "https://api.telegram.org/file/bot"
    # Empty: the first admin claims the bot with the one-time code it logs at start-up (/claim <code>).
    admin_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    @field_validator("admin_chat_ids", mode="before")
    @classmethod
    def _split_chat_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            return [part for part in parts if part]
        if isinstance(value, int):
            return [value]
        return value


class Settings(NotifySettings):
    """Everything the bot reads (``.env.example`` tells each setting)."""

    # How soon a standby replica takes over from an active one that died or lost its database connection.
    ha_takeover_seconds: float = Field(default=10.0, ge=2, le=300)
    default_provider: ProviderName | None = None
    provider_failover: FailoverMode = FailoverMode.ALERTS

    texin_api_key: SecretStr | None = None
    texin_base_url: str = DEFAULT_TEXIN_BASE_URL
    texin_sender_id: str = "Texin"

    sms254_username: str | None = None
    sms254_api_key: SecretStr | None = None
    sms254_send_url: str = DEFAULT_SMS254_SEND_URL
    sms254_credits_url: str = DEFAULT_SMS254_CREDITS_URL
    sms254_sender_id: str = "254sms"

    low_balance_threshold: Decimal = Field(default=Decimal(100), ge=0)
    texin_low_balance_threshold: Decimal | None = Field(default=None, ge=0)
    sms254_low_balance_threshold: Decimal | None = Field(default=None, ge=0)
    balance_check_interval: float = Field(default=900, ge=0)
    balance_cache_seconds: float = Field(default=5.0, ge=0)
    confirm_above_units: int = Field(default=3, ge=0)
    stale_command_seconds: float = Field(default=300, gt=0)
    # Telegram lets bots download files up to 20 MB; the parser reads at most 10 MB.
    max_upload_bytes: int = Field(default=5_242_880, ge=1, le=10 * 1024 * 1024)

    provider_timeout: float = Field(default=30.0, gt=0)
    bulk_batch_size: int = Field(default=100, ge=1, le=1000)
    bulk_concurrency: int = Field(default=4, ge=1, le=32)
    bulk_progress_interval: float = Field(default=2.0, gt=0)
    alert_fold_window: float = Field(default=600.0, ge=0)
    delivery_check_interval: float = Field(default=30.0, ge=0)
    delivery_first_check: float = Field(default=60.0, gt=0)
    delivery_give_up_hours: float = Field(default=24.0, gt=0)
    shutdown_grace_seconds: float = Field(default=8.0, gt=0)
    # Times people type (`at:18:30`) and read (schedules, /usage days, alerts) are in this IANA zone.
    bot_timezone: str = "Africa/Nairobi"
    # Units a chat may spend per local day, by role, unless /quota sets its own limit (None: no limit).
    sender_daily_units: int | None = Field(default=None, ge=0)
    admin_daily_units: int | None = Field(default=None, ge=0)

    # The simulator provider (bot/providers/simulator.py): sends nothing, needs no credentials.
    sms_simulator: bool = False
    simulator_latency_ms: int = Field(default=200, ge=0, le=60_000)
    simulator_balance: Decimal = Field(default=Decimal(10_000), ge=0)
    simulator_delivery_seconds: float = Field(default=5.0, ge=0)
    simulator_failure_rate: float = Field(default=0.0, ge=0, le=1)

    # Data safety (README "Backups and retention"): online backups into BACKUP_DIR (unset: none), and the age
    # after which message texts are removed (unset: kept forever).
    backup_dir: Path | None = None
    backup_interval_hours: float = Field(default=24, gt=0)
    backup_keep: int = Field(default=7, ge=1)
    retention_days: int | None = Field(default=None, ge=1)

    # The HTTP side (bot/web/): off while HTTP_PORT is empty. The Docker image sets HTTP_HOST=0.0.0.0.
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=0, le=65535)
    http_max_connections: int = Field(default=100, ge=1)  # open sockets at once; more wait in the backlog
    health_stale_seconds: float = Field(default=120.0, gt=0)
    alert_webhook_token: SecretStr | None = None
    alert_sms_numbers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # On call (README "On call"): Alertmanager's API for the Silence buttons (basic auth allowed in the URL), and
    # the SMS steps for alerts nobody acknowledged, silenced or resolved in time.
    alertmanager_url: SecretStr | None = None
    alert_escalation: Annotated[tuple[EscalationStep, ...], NoDecode] = ()
    alert_escalate_severities: Annotated[frozenset[str], NoDecode] = frozenset({"critical"})
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    # A scheduled send that came due while the bot was down goes out at start-up if at most this late, else missed.
    schedule_grace_seconds: float = Field(default=3600.0, ge=0)

    @field_validator("alert_sms_numbers", mode="before")
    @classmethod
    def _split_numbers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("alert_sms_numbers")
    @classmethod
    def _alert_numbers_valid(cls, value: list[str]) -> list[str]:
        # Checked now, not when the first critical alert fires; the numbers are not quoted back.
        normalised = []
        for position, raw in enumerate(value, start=1):
            try:
                normalised.append(normalise_phone(raw))
            except InvalidPhoneNumberError as exc:
                raise ValueError(f"number {position} is not a Kenyan mobile number ({exc.reason})") from None
        return list(dict.fromkeys(normalised))

    @field_validator("alertmanager_url")
    @classmethod
    def _alertmanager_url_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            url = urlsplit(value.get_secret_value().strip())
            url.port  # noqa: B018 (a port that is no number raises here)
        except ValueError:
            raise ValueError("must be a URL such as http://alertmanager:9093") from None
        if url.scheme not in {"https", "http"} or not url.hostname:
            raise ValueError("must be a URL such as http://alertmanager:9093")
        return SecretStr(value.get_secret_value().strip().rstrip("/"))

    @field_validator("alert_escalation", mode="before")
    @classmethod
    def _read_escalation(cls, value: Any) -> Any:
        return parse_escalation(value) if isinstance(value, str) else value

    @field_validator("alert_escalate_severities", mode="before")
    @classmethod
    def _read_severities(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace(";", ",").split(",")
        return frozenset(part.strip().casefold() for part in value if part.strip())

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = urlsplit(value.strip())
        if url.scheme not in {"https", "http"} or not url.hostname:
            raise ValueError("must be a full URL such as https://bot.example.com/telegram")
        path = url.path.rstrip("/") or "/"
        if path in _RESERVED_PATHS or path == "/alerts" or path.startswith("/alerts/"):
            raise ValueError(f"its path {path} is the HTTP server's own (/healthz, /readyz, /metrics, /alerts/…)")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token; the value itself is never quoted back.
        if value is not None and not WEBHOOK_SECRET_RE.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("default_provider", mode="before")
    @classmethod
    def _provider_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            lowered = value.strip().lower()
            return {"254sms": "sms254"}.get(lowered, lowered)
        return value

    @field_validator("provider_failover", mode="before")
    @classmethod
    def _failover_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("bot_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        name = value.strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Africa/Nairobi") from None
        return name

    @model_validator(mode="after")
    def _providers_usable(self) -> Settings:
        if (self.sms254_username is None) != (self.sms254_api_key is None):
            missing = "SMS254_API_KEY" if self.sms254_api_key is None else "SMS254_USERNAME"
            raise ValueError(f"{missing}: 254sms needs both SMS254_USERNAME and SMS254_API_KEY")
        enabled = self.enabled_providers
        if not enabled:
            raise ValueError(
                "TEXIN_API_KEY / SMS254_API_KEY: no SMS provider is configured; "
                "set TEXIN_API_KEY, or SMS254_USERNAME and SMS254_API_KEY (or SMS_SIMULATOR=true to try the bot)"
            )
        if self.default_provider is ProviderName.SIMULATOR and not self.sms_simulator:
            raise ValueError("DEFAULT_PROVIDER: simulator is chosen but SMS_SIMULATOR is not true")
        if self.default_provider is not None and self.default_provider not in enabled:
            raise ValueError(
                f"DEFAULT_PROVIDER: {self.default_provider.value} is chosen but its credentials are not set"
            )
        if self.webhook_url is not None:
            if self.webhook_secret is None:
                raise ValueError("WEBHOOK_SECRET: required with WEBHOOK_URL (1-256 characters of A-Z a-z 0-9 _ -)")
            if self.http_port is None:
                raise ValueError("HTTP_PORT: required with WEBHOOK_URL (the webhook is served by the HTTP server)")
        return self

    @property
    def enabled_providers(self) -> list[ProviderName]:
        """Providers with credentials, in the order they are preferred."""
        enabled = []
        if self.texin_api_key is not None:
            enabled.append(ProviderName.TEXIN)
        if self.sms254_username is not None and self.sms254_api_key is not None:
            enabled.append(ProviderName.SMS254)
        if self.sms_simulator:
            enabled.append(ProviderName.SIMULATOR)  # last: never the default next to a real provider
        return enabled

    @property
    def timezone(self) -> ZoneInfo:
        """``BOT_TIMEZONE`` as a zone (cached by ``zoneinfo``)."""
        return ZoneInfo(self.bot_timezone)

    @property
    def chosen_default_provider(self) -> ProviderName:
        return self.default_provider or self.enabled_providers[0]

    def low_balance_threshold_for(self, provider: ProviderName) -> Decimal:
        specific = {
            ProviderName.TEXIN: self.texin_low_balance_threshold,
            ProviderName.SMS254: self.sms254_low_balance_threshold,
        }.get(provider)
        return self.low_balance_threshold if specific is None else specific


def _describe(error: dict[str, Any]) -> str:
    """One line naming the variable; the rejected value is left out because it may be a secret."""
    location = [str(part) for part in error.get("loc", ()) if not isinstance(part, int)]
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if not location:
        # Model-level checks already start with the variable name.
        return message
    variable = location[0].upper()
    if error.get("type") == "missing":
        hint = _MISSING_HINTS.get(variable, "")
        return f"{variable}: required but not set{hint}"
    return f"{variable}: {message}"


_MISSING_HINTS = {
    "TELEGRAM_BOT_TOKEN": " (the token @BotFather gave you)",
}


def load_settings(**overrides: Any) -> Settings:
    """Read and check the settings, raising ``ConfigError`` with readable lines."""
    return load(Settings, **overrides)


AnySettings = TypeVar("AnySettings", bound=DatabaseSettings)


def load(kind: type[AnySettings], **overrides: Any) -> AnySettings:
    """Read and check only what ``kind`` holds (a command needs less than the bot); ``ConfigError`` as above."""
    try:
        return kind(**overrides)
    except ValidationError as exc:
        problems = list(dict.fromkeys(_describe(dict(error)) for error in exc.errors()))
        raise ConfigError(problems) from None
