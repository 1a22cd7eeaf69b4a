"""The HTTP side's settings: the webhook needs its secret (Telegram's charset) and the HTTP server."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ConfigError, load_settings

BASE: dict[str, Any] = {"telegram_bot_token": "1:x", "admin_chat_ids": "1", "texin_api_key": "k", "_env_file": None}


@pytest.mark.parametrize(
    ("secret", "ok"), [("a" * 256, True), ("A-z_09", True), ("a" * 257, False), ("no spaces", False), ("ü", False)]
)
def test_webhook_secret_follows_telegrams_charset(secret: str, ok: bool) -> None:
    values = {**BASE, "webhook_url": "https://bot.example.com/tg", "webhook_secret": secret, "http_port": 8080}
    if ok:
        assert load_settings(**values).webhook_secret is not None
        return
    with pytest.raises(ConfigError) as caught:
        load_settings(**values)
    assert any(p.startswith("WEBHOOK_SECRET:") for p in caught.value.problems)
    assert secret not in str(caught.value)


def test_webhook_needs_the_http_server() -> None:
    with pytest.raises(ConfigError, match="HTTP_PORT: required with WEBHOOK_URL"):
        load_settings(**BASE, webhook_url="https://bot.example.com/tg", webhook_secret="s")


def test_http_server_is_off_by_default_and_new_secrets_are_redacted() -> None:
    from bot.redact import settings_secrets

    settings = load_settings(**BASE, alert_webhook_token="tok-123456", webhook_secret="hook-secret")
    assert settings.http_port is None and settings.http_host == "127.0.0.1"
    assert {"tok-123456", "hook-secret"} <= set(settings_secrets(settings))


def test_alert_sms_numbers_are_checked_and_normalised_at_start_up() -> None:
    settings = load_settings(**BASE, alert_sms_numbers="0712 345 678, +254712345678;0722000111")
    assert settings.alert_sms_numbers == ["254712345678", "254722000111"]
    with pytest.raises(ConfigError) as caught:
        load_settings(**BASE, alert_sms_numbers="0712345678,020123")
    assert caught.value.problems[0].startswith("ALERT_SMS_NUMBERS: number 2 is not a Kenyan mobile number")


@pytest.mark.parametrize(
    "url", ["https://b.example.com/healthz", "https://b.example.com/metrics/", "https://b.example.com/alerts/plain"]
)
def test_webhook_path_may_not_take_the_servers_own_paths(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**BASE, webhook_url=url, webhook_secret="s", http_port=8080)
    assert any(p.startswith("WEBHOOK_URL:") for p in caught.value.problems)


def test_webhook_path_beside_the_servers_own_is_fine() -> None:
    settings = load_settings(**BASE, webhook_url="https://b.example.com/alertsbot", webhook_secret="s", http_port=8080)
    assert settings.webhook_url == "https://b.example.com/alertsbot"
