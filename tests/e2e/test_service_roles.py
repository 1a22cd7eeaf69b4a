"""Defence in depth: the services refuse a caller whose role does not cover the action, whatever the handlers
and the guard did; and who may cancel a running bulk job, decided in the service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.services.errors import NotAllowedError
from storage import NewBulkJob, Role, audit_actions
from tests.e2e.harness import ADMIN, SENDER, VIEWER, BotHarness

Call = Callable[[BotHarness, Role | None], Awaitable[Any]]


async def _send(bot: BotHarness, role: Role | None) -> Any:
    return bot.services.sending.prepare(
        chat_id=VIEWER, user_id=VIEWER, number="0712345678", text="hi", caller_role=role
    )


async def _bulk(bot: BotHarness, role: Role | None) -> Any:
    return await bot.services.bulk.prepare(
        chat_id=VIEWER, user_id=VIEWER, numbers=["0712345678"], text="hi", caller_role=role
    )


async def _retry(bot: BotHarness, role: Role | None) -> Any:
    return await bot.services.bulk.prepare_retry(1, chat_id=SENDER, user_id=SENDER, caller_role=role)


async def _export_chat(bot: BotHarness, role: Role | None) -> Any:
    return await bot.services.history.export_chat(VIEWER, caller_role=role)


async def _export_job(bot: BotHarness, role: Role | None) -> Any:
    return await bot.services.history.export_job(1, chat_id=VIEWER, caller_role=role)


async def _allow(bot: BotHarness, role: Role | None) -> Any:
    return await bot.services.access.allow(
        by_chat_id=SENDER, by_user_id=SENDER, chat_id=SENDER, role=Role.ADMIN, caller_role=role
    )


async def _deny(bot: BotHarness, role: Role | None) -> Any:
    return await bot.services.access.deny(by_chat_id=SENDER, by_user_id=SENDER, chat_id=ADMIN, caller_role=role)


async def _cancel(bot: BotHarness, role: Role | None) -> Any:
    return await bot.services.bulk.cancel(1, chat_id=VIEWER, user_id=VIEWER, caller_role=role)


REFUSED = [
    pytest.param(_send, Role.VIEWER, id="send-viewer"),
    pytest.param(_send, None, id="send-no-role"),
    pytest.param(_bulk, Role.VIEWER, id="bulk-viewer"),
    pytest.param(_retry, Role.SENDER, id="retry-sender"),
    pytest.param(_export_chat, Role.VIEWER, id="export-chat-viewer"),
    pytest.param(_export_job, Role.VIEWER, id="export-job-viewer"),
    pytest.param(_allow, Role.SENDER, id="allow-sender"),
    pytest.param(_deny, Role.SENDER, id="deny-sender"),
    pytest.param(_cancel, Role.VIEWER, id="cancel-viewer"),
]


@pytest.mark.parametrize(("call", "role"), REFUSED)
async def test_services_refuse_a_role_that_does_not_cover_the_action(bot: BotHarness, call: Call, role: Role) -> None:
    with pytest.raises(NotAllowedError):
        await call(bot, role)
    assert await bot.services.access.role_of(SENDER) is Role.SENDER
    assert await bot.services.access.role_of(ADMIN) is Role.ADMIN
    assert await bot.services.db.jobs.list_for_chat(VIEWER) == []
    assert bot.texin.requests == [] and bot.sms254.requests == []


async def test_services_let_a_role_that_covers_the_action_through(bot: BotHarness) -> None:
    request = await _send(bot, Role.SENDER)
    assert request.recipient == "254712345678"
    draft = await _bulk(bot, Role.ADMIN)
    assert list(draft.recipients.valid) == ["254712345678"]
    export = await _export_chat(bot, Role.SENDER)
    assert export.rows == 0


ASKER, OTHER, OTHER_SENDER_CHAT = 11, 12, -300


@pytest.mark.parametrize(
    ("started_by", "chat_id", "user_id", "role", "allowed"),
    [
        pytest.param(ASKER, SENDER, ASKER, Role.SENDER, True, id="the-starter"),
        pytest.param(ASKER, SENDER, OTHER, Role.SENDER, False, id="another-member"),
        pytest.param(None, SENDER, OTHER, Role.SENDER, True, id="anyone-when-a-chat-started-it"),
        pytest.param(ASKER, OTHER_SENDER_CHAT, ASKER, Role.SENDER, False, id="the-starter-from-another-chat"),
        pytest.param(ASKER, ADMIN, OTHER, Role.ADMIN, True, id="an-admin-chat"),
    ],
)
async def test_who_may_cancel_a_bulk_job(
    bot: BotHarness, started_by: int | None, chat_id: int, user_id: int, role: Role, allowed: bool
) -> None:
    job = await bot.services.db.jobs.create(
        NewBulkJob(SENDER, started_by, "Hello", "gsm7", 1, "texin", "SMSRELAY"), ["254712345678"]
    )
    if allowed:
        assert await bot.services.bulk.cancel(job.id, chat_id=chat_id, user_id=user_id, caller_role=role)
        [entry] = [a for a in await bot.services.db.audit.list() if a.action == audit_actions.CANCEL]
        assert (entry.actor_chat_id, entry.actor_user_id) == (chat_id, user_id)
    else:
        with pytest.raises(NotAllowedError):
            await bot.services.bulk.cancel(job.id, chat_id=chat_id, user_id=user_id, caller_role=role)
        totals = await bot.services.db.jobs.totals(job.id)
        assert totals.pending == 1 and totals.cancelled == 0
