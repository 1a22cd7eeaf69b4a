"""Removing secrets from any text before it leaves the process (alerts, error reports, logs we write)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import quote

from pydantic import SecretStr

from bot.config import Settings
from bot.providers.parsing import redact


def make_redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function replacing every secret, also in its URL-quoted form (the token sits in request URLs).

    The same rule as the provider clients' (``bot.providers.parsing.redact``): short values only as whole words.
    """
    variants = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""))}

    def redact_all(text: str) -> str:
        return redact(text, variants)

    return redact_all


def settings_secrets(settings: Settings) -> list[str]:
    """Everything that signs in somewhere; 254sms's username counts, it is half of its credentials."""
    values: list[SecretStr | None] = [settings.telegram_bot_token, settings.texin_api_key, settings.sms254_api_key]
    secrets = [value.get_secret_value() for value in values if value is not None]
    if settings.sms254_username:
        secrets.append(settings.sms254_username)
    return secrets
