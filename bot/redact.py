"""Removing secrets from any text before it leaves the process (alerts, error reports, logs we write)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote, quote_plus

from pydantic import SecretStr

from bot.config import DatabaseSettings
from bot.providers.parsing import WHOLE_WORD_BELOW
from storage.postgres_url import passwords_in


def make_redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function replacing every secret, also URL-quoted (the token sits in request URLs and form bodies) and
    HTML-escaped (alerts are redacted after escaping: a key holding ``&`` or ``<`` would slip through otherwise).

    The provider clients' rule (``bot.providers.parsing.redact``): short values only as whole words. Matching
    ignores case: python-telegram-bot lower-cases the text of an error it strips "Bad Request: " from, and a
    lower-cased key is still the key.
    """
    variants = {
        form
        for secret in secrets
        if secret
        for form in (secret, quote(secret, safe=""), quote_plus(secret, safe=""), html.escape(secret))
    }
    if not variants:
        return lambda text: text
    alternatives = [
        # Lookarounds rather than \b: a short secret may start or end with a character that is not a word one.
        re.escape(form) if len(form) >= WHOLE_WORD_BELOW else rf"(?<!\w){re.escape(form)}(?!\w)"
        for form in sorted(variants, key=lambda form: (-len(form), form))  # longest first: a secret holding another
    ]
    pattern = re.compile("|".join(alternatives), re.IGNORECASE)

    def redact_all(text: str) -> str:
        return pattern.sub("***", text)

    return redact_all


def settings_secrets(settings: DatabaseSettings) -> list[str]:
    """Everything that signs in somewhere; 254sms's username counts, it is half of its credentials.

    The bot token's part after the colon is a secret on its own (the part before is the bot's public user id):
    a text that cut or re-encoded the token around the colon must not show it either.
    """
    values = [getattr(settings, name, None) for name in _SECRET_FIELDS]
    secrets = [value.get_secret_value() for value in values if isinstance(value, SecretStr)]
    token = getattr(settings, "telegram_bot_token", None)
    if isinstance(token, SecretStr):
        _, colon, token_secret = token.get_secret_value().partition(":")
        if colon and token_secret:
            secrets.append(token_secret)
    username = getattr(settings, "sms254_username", None)
    if username:
        secrets.append(str(username))
    for name in _SECRET_URLS:
        url = getattr(settings, name, None)
        if isinstance(url, SecretStr):
            # The password on its own too: a driver's message may quote it without the rest of the URL.
            secrets += passwords_in(url.get_secret_value())
    return secrets


# The settings that hold a secret (``Settings``, and ``SecretSettings`` for the commands).
_SECRET_FIELDS = ("telegram_bot_token", "texin_api_key", "sms254_api_key", "alert_webhook_token", "webhook_secret")
_SECRET_URLS = ("database_url", "alertmanager_url")
