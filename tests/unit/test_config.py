"""Settings: defaults, provider enablement, and one readable line per problem."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import DEFAULT_SMS254_SEND_URL, DEFAULT_TEXIN_BASE_URL, ConfigError, FailoverMode, load_settings
from bot.providers.types import ProviderName

CONFIG_VARS = [
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_URL",
    "TELEGRAM_FILE_URL",
    "ADMIN_CHAT_IDS",
    "DATABASE_PATH",
    "DEFAULT_PROVIDER",
    "TEXIN_API_KEY",
    "TEXIN_BASE_URL",
    "TEXIN_SENDER_ID",
    "SMS254_USERNAME",
    "SMS254_API_KEY",
    "SMS254_SEND_URL",
    "SMS254_CREDITS_URL",
    "SMS254_SENDER_ID",
    "LOW_BALANCE_THRESHOLD",
    "BALANCE_CHECK_INTERVAL",
    "CONFIRM_ABOVE_UNITS",
    "PROVIDER_FAILOVER",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_minimal_texin_configuration_uses_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "111, 222")
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    settings = load_settings()
    assert settings.admin_chat_ids == [111, 222]
    assert settings.telegram_api_url == "https://api.telegram.org/bot"
    assert settings.telegram_file_url == "https://api.telegram.org/file/bot"
    assert settings.database_path == Path("data/smsrelay.db")
    assert settings.texin_base_url == DEFAULT_TEXIN_BASE_URL
    assert settings.texin_sender_id == "Texin"
    assert settings.sms254_send_url == DEFAULT_SMS254_SEND_URL
    assert settings.sms254_sender_id == "254sms"
    assert settings.enabled_providers == [ProviderName.TEXIN]
    assert settings.chosen_default_provider is ProviderName.TEXIN


def test_both_providers_and_per_provider_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "-100123")
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    monkeypatch.setenv("SMS254_USERNAME", "u")
    monkeypatch.setenv("SMS254_API_KEY", "s")
    monkeypatch.setenv("DEFAULT_PROVIDER", "254sms")
    monkeypatch.setenv("LOW_BALANCE_THRESHOLD", "50")
    monkeypatch.setenv("SMS254_LOW_BALANCE_THRESHOLD", "500")
    settings = load_settings()
    assert settings.enabled_providers == [ProviderName.TEXIN, ProviderName.SMS254]
    assert settings.chosen_default_provider is ProviderName.SMS254
    assert settings.low_balance_threshold_for(ProviderName.TEXIN) == Decimal(50)
    assert settings.low_balance_threshold_for(ProviderName.SMS254) == Decimal(500)


def test_empty_values_from_env_example_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "1")
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    monkeypatch.setenv("SMS254_USERNAME", "")
    monkeypatch.setenv("SMS254_API_KEY", "")
    assert load_settings().enabled_providers == [ProviderName.TEXIN]


def test_every_problem_is_one_line_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_CHAT_IDS", "12,abc")
    monkeypatch.setenv("CONFIRM_ABOVE_UNITS", "-3")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    problems = caught.value.problems
    assert any(p.startswith("TELEGRAM_BOT_TOKEN: required") for p in problems)
    assert any(p.startswith("ADMIN_CHAT_IDS:") for p in problems)
    assert any(p.startswith("CONFIRM_ABOVE_UNITS:") for p in problems)
    assert all("\n" not in p for p in problems)


def test_no_provider_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "1")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "no SMS provider is configured" in str(caught.value)


def test_half_configured_254sms_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "1")
    monkeypatch.setenv("SMS254_USERNAME", "u")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems[0].startswith("SMS254_API_KEY:")


def test_default_provider_without_credentials_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "1")
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    monkeypatch.setenv("DEFAULT_PROVIDER", "sms254")
    with pytest.raises(ConfigError, match="DEFAULT_PROVIDER"):
        load_settings()


def test_secret_values_never_appear_in_problems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:very-secret-token")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "1")
    monkeypatch.setenv("TEXIN_API_KEY", "texin-secret-key")
    monkeypatch.setenv("BALANCE_CHECK_INTERVAL", "soon")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    text = str(caught.value)
    assert "BALANCE_CHECK_INTERVAL" in text
    assert "very-secret-token" not in text
    assert "texin-secret-key" not in text


def test_python_m_bot_without_configuration_prints_readable_error(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "TELEGRAM_BOT_TOKEN: required" in result.stderr
    assert "Traceback" not in result.stderr
    assert "ValidationError" not in result.stderr


def test_an_empty_admin_list_is_allowed_the_first_admin_claims_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "")
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    assert load_settings().admin_chat_ids == []


def test_env_example_leaves_the_docker_image_paths_alone() -> None:
    """``docker run --env-file .env`` must not replace the image's DATABASE_PATH (/data) or HTTP_HOST (0.0.0.0)."""
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    set_lines = [line for line in example.splitlines() if not line.lstrip().startswith("#")]
    for name in ("DATABASE_PATH", "HTTP_HOST"):
        assert not any(line.startswith(f"{name}=") for line in set_lines), name


@pytest.mark.parametrize(
    ("value", "mode"), [(None, FailoverMode.ALERTS), ("off", FailoverMode.OFF), (" ALL ", FailoverMode.ALL)]
)
def test_provider_failover_defaults_to_alerts(
    monkeypatch: pytest.MonkeyPatch, value: str | None, mode: FailoverMode
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    if value is not None:
        monkeypatch.setenv("PROVIDER_FAILOVER", value)
    assert load_settings().provider_failover is mode


def test_an_unknown_provider_failover_value_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    monkeypatch.setenv("PROVIDER_FAILOVER", "sometimes")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems == ["PROVIDER_FAILOVER: Input should be 'off', 'alerts' or 'all'"]
