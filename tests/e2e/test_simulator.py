"""The bot on the simulator alone (SMS_SIMULATOR=true, no credentials): /send, /bulk, /status, /balance and
/export work as with a real provider, and every answer says the messages were simulated."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.app import build_application
from bot.providers.simulator import FAILURE_REASON, fails
from bot.providers.types import ProviderName
from bot.services.registry import build_registry
from storage import MessageStatus, Role
from tests.e2e import harness
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness, running
from tests.fakes.sms254_server import Sms254FakeServer
from tests.fakes.telegram_server import FakeTelegram, SentMessage
from tests.fakes.texin_server import TexinFakeServer

BALANCE = 500


def is_summary(message: SentMessage) -> bool:
    return "finished" in message.text or "stopped" in message.text


@pytest.fixture
async def sim(
    telegram: FakeTelegram, texin: TexinFakeServer, sms254: Sms254FakeServer, database_path: Path
) -> AsyncIterator[BotHarness]:
    """The bot as `SMS_SIMULATOR=true` with nothing else configured builds it (production's registry)."""
    settings = harness.test_settings(
        telegram,
        None,
        None,
        database_path,
        sms_simulator=True,
        simulator_latency_ms=0,
        simulator_balance=Decimal(BALANCE),
        simulator_delivery_seconds=0,
        simulator_failure_rate=0.3,
    )
    application = build_application(settings, providers=build_registry(settings))
    async with running(application):
        bot = BotHarness(telegram, texin, sms254, application, settings)
        access = bot.services.access
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=SENDER, role=Role.SENDER, caller_role=Role.ADMIN)
        await access.allow(by_chat_id=ADMIN, by_user_id=ADMIN, chat_id=VIEWER, role=Role.VIEWER, caller_role=Role.ADMIN)
        yield bot


def passing(count: int, text: str) -> list[str]:
    """Numbers the simulator accepts for ``text`` at the fixture's failure rate."""
    return [f"07{n:08d}" for n in range(10_000, 20_000) if not fails(f"2547{n:08d}", text, 0.3)][:count]


def failing(text: str) -> str:
    """A number the simulator rejects for ``text``."""
    return next(f"07{n:08d}" for n in range(10_000, 20_000) if fails(f"2547{n:08d}", text, 0.3))


async def test_send_status_and_balance_say_simulated(sim: BotHarness) -> None:
    [number] = passing(1, "Hello")
    sent = await sim.say(SENDER, f"/send {number} Hello")
    assert "Sent" in sent.text and "via Simulator (simulated)" in sent.text
    assert sent.text.count("simulated") == 1 and "Balance: 499 units" in sent.text
    [record] = await sim.services.db.messages.list_for_chat(SENDER)
    assert record.provider == ProviderName.SIMULATOR.value and record.status is MessageStatus.SENT

    # SIMULATOR_DELIVERY_SECONDS=0: the first /status already reads delivered, and stores it.
    status = await sim.say(SENDER, f"/status {record.id}")
    assert "delivered" in status.text and "Simulator says: Delivered" in status.text
    assert status.text.count("simulated") == 1
    assert "UTC" not in status.text and "EAT" in status.text  # the simulator's UTC time, in BOT_TIMEZONE
    assert (await sim.services.db.messages.get(record.id)).status is MessageStatus.DELIVERED  # type: ignore[union-attr]
    listing = await sim.say(SENDER, "/status")
    assert f"#{record.id} delivered 🧪" in listing.text and listing.text.count("simulated") == 1

    balance = await sim.say(VIEWER, "/balance")
    assert "Simulator (simulated): 499 units" in balance.text


async def test_a_simulated_failure_is_reported_as_failed(sim: BotHarness) -> None:
    number = failing("Hi there")
    reply = await sim.say(SENDER, f"/send {number} Hi there")
    assert "Not sent" in reply.text and "made-up failure" in reply.text
    [record] = await sim.services.db.messages.list_for_chat(SENDER)
    assert record.status is MessageStatus.FAILED and record.error == FAILURE_REASON


async def test_bulk_through_the_simulator_sends_counts_fails_and_exports_as_simulated(sim: BotHarness) -> None:
    text = "Water off tomorrow"
    good = passing(3, text)
    bad = failing(text)
    preview = await sim.say(SENDER, "/bulk " + ", ".join([*good, bad]) + "\n" + text)
    assert "Via: Simulator (simulated)" in preview.text
    summary = await sim.press(SENDER, preview, "Send", predicate=is_summary)
    [job] = await sim.services.db.jobs.list_for_chat(SENDER)
    await sim.services.bulk.wait(job.id)
    assert "finished via Simulator (simulated)" in summary.text
    assert "Sent: 3" in summary.text and "Failed: 1" in summary.text and "made-up failure" in summary.text
    assert summary.text.count("simulated") == 1

    balance = await sim.say(SENDER, "/balance")
    assert f"{BALANCE - 3} units" in balance.text

    export = await sim.say(SENDER, f"/export {job.id}")
    assert export.document is not None
    rows = list(csv.DictReader(io.StringIO(export.document.content.decode("utf-8-sig"))))
    assert len(rows) == 4 and {row["simulated"] for row in rows} == {"yes"}
    assert sorted(row["status"] for row in rows) == ["failed", "sent", "sent", "sent"]
