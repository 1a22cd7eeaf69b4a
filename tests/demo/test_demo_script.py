"""``make demo`` scripted through a pipe: every command in /help answered by the real bot on the simulator, a
bulk from an uploaded file, button presses, role switching, and the demo's own commands."""

from __future__ import annotations

import re
import shutil
import sys

import pytest

from bot.providers.simulator import fails
from tests.demo.support import REPO, answer_to, run_demo, turns
from tests.providers.support import closed_port

FAILURE_RATE = 0.5
BULK_TEXT = "Water off at 10"


def number_that(text: str, *, fail: bool = False) -> str:
    """A number the simulator accepts (or rejects) for ``text`` at ``FAILURE_RATE``."""
    return next(f"07{n:08d}" for n in range(10_000, 20_000) if fails(f"2547{n:08d}", text, FAILURE_RATE) is fail)


GOOD, BAD = number_that(BULK_TEXT), number_that(BULK_TEXT, fail=True)
HELLO = f"/send {number_that('Hello demo')} Hello demo"
TEMPLATE = f"/send {number_that('Hello from the demo')} #hi"
FROM_SENDER = f"/send {number_that('From the sender')} From the sender"

# One line (or a few) for each command of /help, typed by the admin unless a ":as" line says otherwise.
SCRIPT = [
    "/help",
    "/start",
    HELLO,
    "/status 1",
    "/status",
    f"/bulk {GOOD}, {BAD}\\n{BULK_TEXT}",
    ":press 1",
    "/retry 1",
    ":press 1",
    "/balance",
    "/history",
    "/export 1",
    "/group add team 0712345678 0722000111",
    "/group show team",
    "/block 0733000222 asked to stop",
    "/blocked",
    "/unblock 0733000222",
    "/template save hi Hello from the demo",
    "/template list",
    TEMPLATE,
    "/quota",
    f"/send in:2h {GOOD} Scheduled from the demo",
    "/scheduled",
    "/usage",
    "/alerts",
    "/allow 5005 viewer",
    "/chats",
    "/deny 5005",
    ":as sender",
    FROM_SENDER,
    ":as viewer",
    f"/send {GOOD} Not for viewers",
    "/balance",
    ":as stranger",
    "/start",
    ":as admin",
    "/nonsense",
]


@pytest.fixture(scope="module")
def transcript() -> str:
    return run_demo(
        SCRIPT, SIMULATOR_FAILURE_RATE=str(FAILURE_RATE), SIMULATOR_DELIVERY_SECONDS="0", SIMULATOR_LATENCY_MS="0"
    )


def test_every_command_in_help_is_scripted_and_answered(transcript: str) -> None:
    said = turns(transcript)
    listed = set(re.findall(r"^\s+/(\w+)\b.* — ", answer_to(said, "/help"), flags=re.MULTILINE))
    assert {"send", "bulk", "status", "balance", "template"} <= listed  # the parse found the list
    typed = {t.typed.split()[0].lstrip("/") for t in said if t.typed.startswith("/")}
    assert listed - typed == set(), f"commands in /help that the demo script never types: {listed - typed}"
    for turn in said:
        if turn.typed.startswith("/") and turn.typed != "/nonsense":
            assert turn.answer.strip() and "(no reply)" not in turn.answer, turn
            assert "Unknown command" not in turn.answer and "went wrong" not in turn.answer, turn
    assert "Unknown command /nonsense" in answer_to(said, "/nonsense")
    assert "No alert is firing" in answer_to(said, "/alerts")
    assert "Error while handling" not in transcript  # no handler failed (the admins would be shown a traceback)


def test_replies_are_the_bots_as_plain_text_and_say_simulated(transcript: str) -> None:
    said = turns(transcript)
    sent = answer_to(said, HELLO)
    assert sent.startswith("bot: ✅ Sent to") and "via Simulator (simulated)" in sent
    assert "<b>" not in transcript and "&lt;" not in transcript  # formatting removed, entities decoded
    # SIMULATOR_DELIVERY_SECONDS=0 from the environment: the simulator already says delivered.
    assert "Message #1: delivered" in answer_to(said, "/status 1")
    assert "#1 delivered 🧪" in answer_to(said, "/status")
    assert "Simulator (simulated):" in answer_to(said, "/balance")
    export = answer_to(said, "/export 1")
    assert "📎 smsrelay-job-1.csv" in export and ",simulated" in export
    assert "Sent to" in answer_to(said, TEMPLATE)  # the template "#hi" expanded and sent


def test_buttons_are_numbered_and_pressed_by_number(transcript: str) -> None:
    said = turns(transcript)
    preview = answer_to(said, f"/bulk {GOOD}, {BAD}\\n{BULK_TEXT}")
    assert "Bulk SMS preview" in preview and "[1] ✅ Send to 2   [2] ✖️ Cancel" in preview
    [send, retry] = [t.answer for t in said if t.typed == ":press 1"]
    assert "bot (pop-up): Starting…" in send
    assert "Bulk job #1 finished via Simulator (simulated)" in send
    assert "Sent: 1" in send and "Failed: 1" in send and "made-up failure" in send
    assert "[1] ✅ Send again" in answer_to(said, "/retry 1")
    # The same text to the same number fails the same way again: the simulator is deterministic.
    assert "Retrying 1 recipient of job #1" in retry and "Failed: 1" in retry


def test_switching_people_switches_chats_and_roles(transcript: str) -> None:
    said = turns(transcript)
    assert "You are now sender (chat 2002, sender)." in answer_to(said, ":as sender")
    assert "Sent to" in answer_to(said, FROM_SENDER, person="sender")
    assert "/send is not for viewer chats" in answer_to(said, f"/send {GOOD} Not for viewers", person="viewer")
    assert "Simulator (simulated)" in answer_to(said, "/balance", person="viewer")
    stranger = answer_to(said, "/start", person="stranger")
    assert "Your chat id is 4004" in stranger
    assert "bot → admin: 🚫 Refused chat" in stranger  # the admins' alert, shown as another chat's message


def test_a_bulk_from_an_uploaded_csv_is_previewed_sent_and_summarised() -> None:
    said = turns(run_demo([":upload bot/demo/contacts.csv /bulk Hello {name}", ":press 1", "/history"]))
    preview = answer_to(said, ":upload bot/demo/contacts.csv /bulk Hello {name}")
    assert "Recipients: 4 from contacts.csv" in preview and "Hello Amina" in preview
    sent = answer_to(said, ":press 1")
    assert "Bulk job #1 finished via Simulator (simulated)" in sent and "Sent: 4" in sent
    assert "#1 done · Simulator 🧪 · 4/4 sent" in answer_to(said, "/history")


def test_demo_commands_help_mistakes_and_quit() -> None:
    said = turns(
        run_demo(
            [":help", ":as nobody", ":press 1", ":upload missing.csv /bulk hi", ":bogus", "hello", ":quit", "/start"]
        )
    )
    assert ":press N" in answer_to(said, ":help") and ":upload PATH" in answer_to(said, ":help")
    assert "Who? Choose one of: admin, sender, viewer, stranger." in answer_to(said, ":as nobody")
    assert "No message in this chat shows buttons now." in answer_to(said, ":press 1")
    assert "no file at missing.csv" in answer_to(said, ":upload missing.csv /bulk hi")
    assert "Unknown demo command :bogus" in answer_to(said, ":bogus")
    assert answer_to(said, "hello").strip() == "(no reply)"
    assert [t.typed for t in said][-1] == ":quit"  # nothing after it was read


def test_real_provider_credentials_in_the_environment_are_ignored() -> None:
    # A developer's shell may hold real keys: the demo must never send through them.
    said = turns(
        run_demo(
            ["/balance", "/send via:texin 0712345678 hi"],
            TEXIN_API_KEY="real-key",
            TEXIN_BASE_URL=f"http://127.0.0.1:{closed_port()}/api/",
        )
    )
    balance = answer_to(said, "/balance")
    assert "Simulator (simulated)" in balance and "Texin" not in balance
    assert "Texin is not configured on this bot" in answer_to(said, "/send via:texin 0712345678 hi")


def test_the_demo_loads_nothing_from_the_dev_extras() -> None:
    probe = (
        "import sys, bot.demo.terminal, bot.demo.session\n"
        "dev = {'pytest', '_pytest', 'hypothesis', 'mypy', 'ruff', 'pytest_asyncio'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in dev))"
    )
    import subprocess

    from tests.demo.support import demo_environment

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, env=demo_environment(), check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.skipif(
    shutil.which("make") is None or not (REPO / ".venv" / ".installed-runtime").is_file(),
    reason="make, or the .venv that make sets up, is missing (make test creates it first)",
)
def test_make_demo_prints_the_replies_to_piped_commands() -> None:
    output = run_demo(["/send 0712345678 Hello", "/balance"], command=["make", "-s", "demo"])
    said = turns(output)
    assert "Sent to +254 712 345 678 via Simulator (simulated)" in answer_to(said, "/send 0712345678 Hello")
    assert "Simulator (simulated): 9,999 units" in answer_to(said, "/balance")
