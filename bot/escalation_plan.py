"""``ALERT_ESCALATION`` read into steps: ``10m:@oncall,30m:@managers 0712345678`` is two steps, each a delay after
the alert's post and the contact groups and numbers it texts. A problem raises ``ValueError`` with one line that
names the step; numbers are checked here, groups when the step fires (they may be created later)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from bot.phone import InvalidPhoneNumberError, display_phone, normalise_phone

MAX_STEPS = 10
MAX_TARGETS = 50
MAX_DELAY = timedelta(days=7)
_DELAY = re.compile(r"(\d{1,6})([smhd])")
_GROUP = re.compile(r"@([A-Za-z0-9_-]{1,32})")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class EscalationStep:
    delay: timedelta
    groups: tuple[str, ...]  # lower-case names, without the @
    numbers: tuple[str, ...]  # normalised (2547…)

    @property
    def targets(self) -> str:
        """How the step is shown (the posts, /alerts): ``@oncall +254 712 345 678``."""
        return ", ".join([f"@{group}" for group in self.groups] + [display_phone(number) for number in self.numbers])


def parse_escalation(text: str) -> tuple[EscalationStep, ...]:
    """The steps in order; empty text is no escalation. Delays must grow from step to step."""
    if not text.strip():
        return ()
    written = [part.strip() for part in text.split(",")]
    if len(written) > MAX_STEPS:
        raise ValueError(f"at most {MAX_STEPS} steps")
    steps: list[EscalationStep] = []
    for position, part in enumerate(written, start=1):
        step = _step(part, position)
        if steps and step.delay <= steps[-1].delay:
            raise ValueError(f"step {position}: its delay must be later than step {position - 1}'s")
        steps.append(step)
    return tuple(steps)


def _step(part: str, position: int) -> EscalationStep:
    delay_text, colon, targets_text = part.partition(":")
    if not colon:
        raise ValueError(f"step {position}: write it as <delay>:<targets>, e.g. 10m:@oncall")
    match = _DELAY.fullmatch(delay_text.strip())
    if match is None:
        raise ValueError(f"step {position}: the delay must be a number with s, m, h or d, e.g. 10m")
    delay = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if delay > MAX_DELAY:
        raise ValueError(f"step {position}: the delay is longer than 7 days")
    targets = targets_text.split()
    if not targets:
        raise ValueError(f"step {position}: name at least one @group or number")
    if len(targets) > MAX_TARGETS:
        raise ValueError(f"step {position}: at most {MAX_TARGETS} targets")
    groups: list[str] = []
    numbers: list[str] = []
    for index, target in enumerate(targets, start=1):
        if target.startswith("@"):
            group = _GROUP.fullmatch(target)
            if group is None:
                raise ValueError(f"step {position}: target {index} is not a group name (letters, digits, - and _)")
            groups.append(group.group(1).lower())
            continue
        try:
            numbers.append(normalise_phone(target))
        except InvalidPhoneNumberError as exc:  # the number itself is not quoted back
            raise ValueError(f"step {position}: target {index} is not a Kenyan mobile number ({exc.reason})") from None
    return EscalationStep(delay, tuple(dict.fromkeys(groups)), tuple(dict.fromkeys(numbers)))
