"""ALERT_ESCALATION, ALERT_ESCALATE_SEVERITIES and ALERTMANAGER_URL as operators write them: read into steps, or
refused at start-up with one line that names the step (never the number itself); and how long an alert lasted."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import ConfigError, load_settings
from bot.escalation_plan import EscalationStep, parse_escalation
from bot.redact import settings_secrets
from bot.services.alert_posts import lasted

BASE: dict[str, Any] = {"telegram_bot_token": "1:x", "admin_chat_ids": "1", "texin_api_key": "k", "_env_file": None}


def test_the_issues_example_is_two_steps_of_groups_and_numbers() -> None:
    steps = parse_escalation("10m:@oncall,30m:@managers 0712345678")
    assert steps == (
        EscalationStep(timedelta(minutes=10), ("oncall",), ()),
        EscalationStep(timedelta(minutes=30), ("managers",), ("254712345678",)),
    )
    assert steps[1].targets == "@managers, +254 712 345 678"


def test_units_spaces_and_case() -> None:
    [step] = parse_escalation("  90s : @On-Call_2   +254 ".replace("+254 ", "+254712345678 "))
    assert step == EscalationStep(timedelta(seconds=90), ("on-call_2",), ("254712345678",))
    assert parse_escalation("1h:0712345678,1d:0712345679")[1].delay == timedelta(days=1)
    assert parse_escalation("") == () and parse_escalation("   ") == ()


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("@oncall", "step 1: write it as <delay>:<targets>"),
        ("10:@oncall", "step 1: the delay must be a number with s, m, h or d"),
        ("10m:", "step 1: name at least one @group or number"),
        ("10m:@oncall,5m:@managers", "step 2: its delay must be later than step 1's"),
        ("10m:@oncall,10m:@managers", "step 2: its delay must be later than step 1's"),
        ("8d:@oncall", "step 1: the delay is longer than 7 days"),
        ("10m:@on.call", "step 1: target 1 is not a group name"),
        ("10m:@oncall 0812345678", "step 1: target 2 is not a Kenyan mobile number"),
    ],
)
def test_mistakes_are_one_line_naming_the_step(written: str, says: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(says)):
        parse_escalation(written)


def test_a_bad_plan_stops_the_start_with_one_line_and_without_the_number() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**BASE, alert_escalation="10m:0812345678")
    [problem] = caught.value.problems
    assert problem.startswith("ALERT_ESCALATION:") and "0812345678" not in problem


def test_severities_are_read_in_any_case_and_default_to_critical() -> None:
    assert load_settings(**BASE).alert_escalate_severities == frozenset({"critical"})
    chosen = load_settings(**BASE, alert_escalate_severities=" Critical, PAGE;warning ")
    assert chosen.alert_escalate_severities == frozenset({"critical", "page", "warning"})
    assert load_settings(**BASE).alert_escalation == ()


def test_alertmanager_url_keeps_its_password_secret() -> None:
    settings = load_settings(**BASE, alertmanager_url="http://oncall:pa55-word@alertmanager:9093/")
    assert settings.alertmanager_url is not None
    assert settings.alertmanager_url.get_secret_value() == "http://oncall:pa55-word@alertmanager:9093"
    assert "pa55-word" in settings_secrets(settings)
    assert "pa55-word" not in repr(settings)
    with pytest.raises(ConfigError, match=r"ALERTMANAGER_URL: .*http://alertmanager:9093") as caught:
        load_settings(**BASE, alertmanager_url="alertmanager:9093:pa55")
    assert "pa55" not in str(caught.value)
    assert load_settings(**BASE, alertmanager_url="").alertmanager_url is None


_DELAYS = st.integers(min_value=1, max_value=160)  # 160 h is under the 7-day cap


@given(st.lists(st.tuples(_DELAYS, st.sampled_from("smh")), min_size=1, max_size=10))
def test_written_steps_read_back_in_order(delays: list[tuple[int, str]]) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600}
    written = ",".join(f"{amount}{unit}:@g{index} 07{index:08d}" for index, (amount, unit) in enumerate(delays))
    totals = [amount * seconds[unit] for amount, unit in delays]
    if any(later <= earlier for earlier, later in itertools.pairwise(totals)):
        with pytest.raises(ValueError, match="its delay must be later"):
            parse_escalation(written)
        return
    steps = parse_escalation(written)
    assert [step.delay.total_seconds() for step in steps] == totals
    assert [step.groups for step in steps] == [(f"g{index}",) for index in range(len(delays))]
    assert [step.numbers for step in steps] == [(f"2547{index:08d}",) for index in range(len(delays))]


@given(st.text(max_size=300))
def test_any_text_is_steps_or_one_line_refusal(text: str) -> None:
    try:
        steps = parse_escalation(text)
    except ValueError as exc:
        refusal = str(exc)
    else:
        refusal = ""
    if refusal:
        assert "\n" not in refusal and len(refusal) < 200
        return
    assert all(step.groups or step.numbers for step in steps)
    assert [step.delay for step in steps] == sorted({step.delay for step in steps})


@pytest.mark.parametrize(
    ("span", "shown"),
    [
        (timedelta(seconds=40), "40 s"),
        (timedelta(minutes=14, seconds=59), "14 min"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(hours=3), "3 h"),
        (timedelta(days=3, hours=4, minutes=10), "3 d 4 h"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_how_long_an_alert_lasted(span: timedelta, shown: str) -> None:
    assert lasted(span) == shown
