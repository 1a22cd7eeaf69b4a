"""STALE_COMMAND_SECONDS: documented default, read from the environment, nonsense refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def minimal_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("STALE_COMMAND_SECONDS", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_CHAT_IDS", "111")
    monkeypatch.setenv("TEXIN_API_KEY", "k")


def test_stale_commands_default_to_five_minutes_as_documented() -> None:
    assert load_settings().stale_command_seconds == 300
    assert "\nSTALE_COMMAND_SECONDS=300\n" in (REPO / ".env.example").read_text()


def test_stale_command_seconds_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STALE_COMMAND_SECONDS", "60")
    assert load_settings().stale_command_seconds == 60


@pytest.mark.parametrize("value", ["0", "-5", "soon"])
def test_a_nonsense_stale_limit_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("STALE_COMMAND_SECONDS", value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert any(problem.startswith("STALE_COMMAND_SECONDS:") for problem in caught.value.problems)
