"""Running ``python -m bot.demo`` (or ``make demo``) with a script on standard input, and reading what it printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_TYPED = re.compile(r"^(admin|sender|viewer|stranger)> (.*)$")


@dataclass(frozen=True)
class Turn:
    person: str
    typed: str
    answer: str  # everything printed after the line until the next one


def demo_environment(**variables: str) -> dict[str, str]:
    """A clean environment: nothing of ours inherited (a developer's TEXIN_API_KEY must not matter either)."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "NO_PROXY": "127.0.0.1,localhost",
        "PYTHONPATH": str(REPO),
    }
    environment.update(variables)
    return environment


def run_demo(lines: list[str], *, command: list[str] | None = None, **variables: str) -> str:
    """Feed ``lines`` to the demo through a pipe; returns standard output after checking it exited 0."""
    done = subprocess.run(
        command or [sys.executable, "-m", "bot.demo"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=demo_environment(**variables),
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def turns(output: str) -> list[Turn]:
    """The transcript cut at each echoed input line."""
    found: list[Turn] = []
    person = typed = None
    answer: list[str] = []
    for line in output.splitlines():
        match = _TYPED.match(line)
        if match is not None:
            if typed is not None and person is not None:
                found.append(Turn(person, typed, "\n".join(answer)))
            person, typed, answer = match.group(1), match.group(2), []
        elif typed is not None:
            answer.append(line)
    if typed is not None and person is not None:
        found.append(Turn(person, typed, "\n".join(answer)))
    return found


def answer_to(transcript: list[Turn], typed: str, person: str = "admin") -> str:
    """The answer to the one line typed exactly so by ``person``."""
    [turn] = [t for t in transcript if t.typed == typed and t.person == person]
    return turn.answer
