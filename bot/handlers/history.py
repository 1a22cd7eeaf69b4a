"""/history [n] and /export [job id]."""

from __future__ import annotations

from telegram import InputFile, Update

from bot.context import SmsContext
from bot.formatting import join_within_limit, plural, when
from bot.handlers.common import command_args, refusal, reply, sender_ids, usage
from bot.handlers.status import SIMULATED_MARK, message_line, sees_team, simulated_note
from bot.ids import parse_id
from bot.providers.types import ProviderName
from bot.services.errors import UserInputError

HISTORY_USAGE = "/history [how many, up to 50]"
EXPORT_USAGE = "/export [job id]"
MAX_HISTORY = 50


async def history_command(update: Update, context: SmsContext) -> None:
    """Latest messages and bulk jobs of this chat (of every chat for admins)."""
    message = update.effective_message
    if message is None:
        return
    chat_id, _ = sender_ids(update)
    arg = command_args(message)
    limit = parse_id(arg) if arg else 10
    if limit is None or not 1 <= limit <= MAX_HISTORY:
        await reply(update, usage(f"Give a number from 1 to {MAX_HISTORY}.", HISTORY_USAGE))
        return
    history = await context.services.history.recent(chat_id=chat_id, all_chats=sees_team(context), limit=limit)
    scope = "all chats" if history.all_chats else "this chat"
    if not history.messages and not history.jobs:
        await reply(update, f"Nothing sent from {scope} yet.")
        return
    items: list[str] = []
    if history.jobs:
        items.append("<b>Bulk jobs</b>")
        for job, totals in history.jobs:
            items.append(
                f"📦 #{job.id} {job.state.value} · {_provider(job.provider)}"
                + (f" (↪️ {totals.handed_over:,} through the other provider)" if totals.handed_over else "")
                + " · "
                f"{totals.accepted:,}/{job.total_recipients:,} sent, {totals.delivered:,} delivered, "
                f"{totals.failed:,} failed · {when(job.created_at, context.services.settings.timezone)}"
                + (f" · chat <code>{job.chat_id}</code>" if history.all_chats else "")
            )
    if history.messages:
        items.append("<b>Messages</b>")
        items += [message_line(m) for m in history.messages]
    items += simulated_note([*(job.provider for job, _ in history.jobs), *(m.provider for m in history.messages)])
    head = f"🗂 <b>History</b> of {scope}"
    await reply(update, join_within_limit(head, items, more=lambda n: f"…and {n} more lines"))


async def export_command(update: Update, context: SmsContext) -> None:
    """A CSV of this chat's messages, or of one bulk job's recipients, with their states."""
    message = update.effective_message
    if message is None:
        return
    chat_id, _ = sender_ids(update)
    arg = command_args(message)
    history = context.services.history
    try:
        if not arg:
            export = await history.export_chat(chat_id, caller_role=context.role)
        elif (job_id := parse_id(arg)) is not None:
            export = await history.export_job(job_id, chat_id=chat_id, caller_role=context.role)
        else:
            raise UserInputError("Give a job number, or nothing for this chat's messages.")
    except UserInputError as exc:
        await reply(update, refusal(exc, EXPORT_USAGE))
        return
    if export.rows == 0:
        await reply(update, "Nothing to export yet.")
        return
    await message.reply_document(
        InputFile(export.content, filename=export.file_name),
        caption=f"📄 {plural(export.rows, 'message')}",
    )


def _provider(value: str) -> str:
    name = ProviderName(value)
    return f"{name.label} {SIMULATED_MARK}" if name.simulated else name.label
