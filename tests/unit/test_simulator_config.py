"""SMS_SIMULATOR: the simulator without credentials, never the default next to a real provider unless chosen."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.providers.simulator import SimulatorProvider
from bot.providers.types import ProviderName
from bot.services.errors import UserInputError
from bot.services.registry import build_registry

VARIABLES = [
    "TEXIN_API_KEY",
    "SMS254_USERNAME",
    "SMS254_API_KEY",
    "DEFAULT_PROVIDER",
    "SMS_SIMULATOR",
    "SIMULATOR_LATENCY_MS",
    "SIMULATOR_BALANCE",
    "SIMULATOR_DELIVERY_SECONDS",
    "SIMULATOR_FAILURE_RATE",
]


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "111")


def test_the_simulator_alone_needs_no_credentials_and_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_SIMULATOR", "true")
    settings = load_settings()
    assert settings.enabled_providers == [ProviderName.SIMULATOR]
    assert settings.chosen_default_provider is ProviderName.SIMULATOR
    assert settings.simulator_latency_ms == 200
    assert settings.simulator_balance == Decimal(10_000)
    assert settings.simulator_failure_rate == 0
    registry = build_registry(settings)
    assert isinstance(registry.get(), SimulatorProvider)
    assert registry.parse_name("simulator") is ProviderName.SIMULATOR


def test_a_real_provider_stays_the_default_next_to_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_SIMULATOR", "1")
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    settings = load_settings()
    assert settings.enabled_providers == [ProviderName.TEXIN, ProviderName.SIMULATOR]
    assert settings.chosen_default_provider is ProviderName.TEXIN


def test_default_provider_simulator_chooses_it_over_a_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_SIMULATOR", "true")
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    monkeypatch.setenv("DEFAULT_PROVIDER", "simulator")
    assert load_settings().chosen_default_provider is ProviderName.SIMULATOR


def test_default_provider_simulator_without_sms_simulator_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    monkeypatch.setenv("DEFAULT_PROVIDER", "simulator")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.problems == ["DEFAULT_PROVIDER: simulator is chosen but SMS_SIMULATOR is not true"]


def test_without_sms_simulator_there_is_no_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXIN_API_KEY", "k")
    registry = build_registry(load_settings())
    assert registry.names == [ProviderName.TEXIN]
    with pytest.raises(UserInputError, match="Simulator is not configured"):
        registry.parse_name("simulator")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SIMULATOR_FAILURE_RATE", "1.5"), ("SIMULATOR_LATENCY_MS", "-1"), ("SIMULATOR_BALANCE", "-5")],
)
def test_out_of_range_simulator_settings_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("SMS_SIMULATOR", "true")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert [p.split(":")[0] for p in caught.value.problems] == [variable]
