"""/allow, /deny, /chats: admins decide which chats may use the bot (the guard lets only admins here).

/deny also cancels the chat's bulk jobs: the bot posts nothing more there, their summaries go to the admins.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Update

from bot.context import SmsContext
from bot.formatting import esc, join_within_limit, when
from bot.handlers.bulk_progress import summary_text
from bot.handlers.common import command_args, refusal, reply, sender_ids, usage
from bot.handlers.menus import set_chat_menu
from bot.ids import parse_chat_id
from bot.services.alerts import AlertService
from bot.services.bulk_runner import Progress
from bot.services.errors import UserInputError
from storage import BulkJobRecord, JobTotals, MessageRecord, Role

ALLOW_USAGE = "/allow <chat id> [admin|sender|viewer]"
DENY_USAGE = "/deny <chat id>"


class SummaryToAdmins:
    """Reports a bulk job of a chat that lost access: nothing in that chat any more, the summary to the admins."""

    def __init__(self, alerts: AlertService) -> None:
        self._alerts = alerts

    async def started(self, job: BulkJobRecord, progress: Progress) -> int | None:
        return None

    async def progress(self, job: BulkJobRecord, progress: Progress) -> None:
        return None

    async def finished(
        self, job: BulkJobRecord, totals: JobTotals, failures: Sequence[MessageRecord], stopped_by: str | None
    ) -> None:
        await self._alerts.notice(summary_text(job, totals, failures, stopped_by))


def _bootstrap_note(context: SmsContext, chat_id: int) -> str:
    """ADMIN_CHAT_IDS are made admins at every start: a change to one of them lasts only until a restart."""
    if chat_id not in context.services.settings.admin_chat_ids:
        return ""
    return (
        "\n⚠️ This chat is an admin in the bot's settings, so it becomes admin again when the bot restarts. "
        "Remove it from the settings' admin chats to make this last."
    )


async def allow_command(update: Update, context: SmsContext) -> None:
    """Let a chat use the bot, as sender unless another role is named; also changes a chat's role."""
    message = update.effective_message
    if message is None:
        return
    by_chat, by_user = sender_ids(update)
    parts = command_args(message).split()
    if not parts or len(parts) > 2 or (chat_id := parse_chat_id(parts[0])) is None:
        await reply(update, usage("Give the chat id (a number; /start shows it in that chat).", ALLOW_USAGE))
        return
    try:
        role = Role(parts[1].lower()) if len(parts) == 2 else Role.SENDER
    except ValueError:
        await reply(update, usage(f"Unknown role “{parts[1]}”.", ALLOW_USAGE))
        return
    try:
        _, before = await context.services.access.allow(
            by_chat_id=by_chat, by_user_id=by_user, chat_id=chat_id, role=role, caller_role=context.role
        )
    except UserInputError as exc:
        await reply(update, refusal(exc, ALLOW_USAGE))
        return
    await set_chat_menu(context.bot, chat_id, role)
    if before is None:
        text = f"✅ Chat <code>{chat_id}</code> may now use the bot as <b>{role.value}</b>."
    elif before is role:
        text = f"ℹ️ Chat <code>{chat_id}</code> already is <b>{role.value}</b>."
    else:
        text = f"✅ Chat <code>{chat_id}</code> is now <b>{role.value}</b> (was {before.value})."
    if role is not Role.ADMIN:
        text += _bootstrap_note(context, chat_id)
    await reply(update, text)


async def deny_command(update: Update, context: SmsContext) -> None:
    """Take a chat's access away at once."""
    message = update.effective_message
    if message is None:
        return
    by_chat, by_user = sender_ids(update)
    parts = command_args(message).split()
    if len(parts) != 1 or (chat_id := parse_chat_id(parts[0])) is None:
        await reply(update, usage("Give one chat id.", DENY_USAGE))
        return
    try:
        removed = await context.services.access.deny(
            by_chat_id=by_chat, by_user_id=by_user, chat_id=chat_id, caller_role=context.role
        )
    except UserInputError as exc:
        await reply(update, refusal(exc, DENY_USAGE))
        return
    if removed:
        services = context.services
        stopped = await services.bulk.stop_jobs_of_chat(
            chat_id, SummaryToAdmins(services.alerts), by_chat_id=by_chat, by_user_id=by_user
        )
        await set_chat_menu(context.bot, chat_id, None)
        text = f"✅ Chat <code>{chat_id}</code> can no longer use the bot."
        if unscheduled := await services.schedules.cancel_for_chat(chat_id):
            text += f"\n⏰ Cancelled its {len(unscheduled)} scheduled send{'s' if len(unscheduled) > 1 else ''}."
        if stopped:
            jobs = ", ".join(f"#{job_id}" for job_id in stopped)
            text += f"\n⏹ Cancelled its bulk job{'s' if len(stopped) > 1 else ''} {jobs}; summaries come to the admins."
        await reply(update, text + _bootstrap_note(context, chat_id))
    else:
        await reply(update, f"ℹ️ Chat <code>{chat_id}</code> was not on the list.")


async def chats_command(update: Update, context: SmsContext) -> None:
    """The chats that may use the bot, with their roles."""
    records = await context.services.access.chats()
    zone = context.services.settings.timezone
    items = []
    for record in records:
        added = "from the settings" if record.added_by is None else f"by <code>{record.added_by}</code>"
        title = f" {esc(record.title)}" if record.title else ""
        items.append(
            f"<code>{record.chat_id}</code>{title}: <b>{record.role.value}</b>, "
            f"added {added}, {when(record.added_at, zone)}"
        )
    head = f"👥 <b>Chats</b> ({len(records)})"
    await reply(update, join_within_limit(head, items, more=lambda n: f"…and {n} more"))
