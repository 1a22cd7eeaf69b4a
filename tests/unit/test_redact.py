"""Secrets never leave the process: alerts and logs pass through this redactor."""

from __future__ import annotations

import html
import logging
from urllib.parse import quote_plus

from pydantic import SecretStr

from bot.config import Settings
from bot.logging_setup import RedactingFormatter
from bot.redact import make_redactor, settings_secrets

TOKEN = "123456:ABC-secret_token"


def test_token_is_hidden_also_url_quoted_as_in_request_urls() -> None:
    redact = make_redactor([TOKEN, "texin-api-key-9"])
    text = f"POST https://api.telegram.org/bot123456%3AABC-secret_token/getMe failed; key texin-api-key-9; {TOKEN}"
    cleaned = redact(text)
    assert "secret_token" not in cleaned and "texin-api-key-9" not in cleaned
    assert cleaned.count("***") == 3


def test_a_short_username_is_hidden_as_a_word_only() -> None:
    redact = make_redactor(["bob"])
    assert redact("user bob blocked; bobsleigh team") == "user *** blocked; bobsleigh team"


def test_log_lines_are_redacted_including_tracebacks() -> None:
    formatter = RedactingFormatter(make_redactor([TOKEN]), "%(message)s")
    try:
        raise RuntimeError(f"request to /bot{TOKEN}/sendMessage failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed with %s", (TOKEN,), exc_info=None)
        import sys

        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert TOKEN not in line and "***" in line and "RuntimeError" in line


def test_html_escaped_and_form_encoded_keys_are_hidden_as_alerts_and_bodies_carry_them() -> None:
    key = "k&y<9 secret>"
    redact = make_redactor([key])
    text = f"alert: {html.escape(key)} / body: api_key={quote_plus(key)}"
    cleaned = redact(text)
    assert "k&amp;y" not in cleaned and "k%26y" not in cleaned and "k&y" not in cleaned
    assert cleaned == "alert: *** / body: api_key=***"


def test_the_token_part_after_the_colon_is_a_secret_of_its_own() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_bot_token=SecretStr(TOKEN), admin_chat_ids=[1], texin_api_key=SecretStr("t-key-1")
    )
    redact = make_redactor(settings_secrets(settings))
    assert redact(f"bot id 123456, secret ABC-secret_token, whole {TOKEN}") == "bot id 123456, secret ***, whole ***"


def test_secrets_are_hidden_whatever_their_case() -> None:
    # python-telegram-bot turns "Bad Request: <text>" into "<text>".capitalize(): the rest is lower-cased.
    redact = make_redactor([TOKEN, "Bob"])
    assert redact(f"Bad Request: {TOKEN}".removeprefix("Bad Request: ").capitalize()) == "***"
    assert redact("BOB and bob, not bobsleigh") == "*** and ***, not bobsleigh"
