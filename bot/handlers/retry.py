"""/retry <job id>: an admin resends a job's failed and unknown recipients, after a preview."""

from __future__ import annotations

from telegram import Update

from bot.context import SmsContext
from bot.formatting import plural
from bot.handlers.bulk_progress import reporter_factory
from bot.handlers.chats import SummaryToAdmins
from bot.handlers.common import command_args, keyboard, problem, refusal, reply, sender_ids, take_confirmed, usage
from bot.handlers.repeats import ignore_repeat, message_key, remember_preview
from bot.ids import parse_id
from bot.services.bulk import ReporterFactory
from bot.services.errors import UserInputError
from bot.services.requests import DuplicateRequest

USAGE = "/retry <job id>"


async def retry_command(update: Update, context: SmsContext) -> None:
    """Preview a retry of a job's failed and unknown recipients."""
    chat_id, user_id = sender_ids(update)
    message = update.effective_message
    if message is None:
        return
    key = message_key(message)
    if await context.services.requests.seen(key):
        ignore_repeat(key)  # its preview was shown already; after a retry it would offer to send again
        return
    job_id = parse_id(command_args(message))
    if job_id is None:
        await reply(update, usage("Which job? Give its number.", USAGE))
        return
    try:
        draft = await context.services.bulk.prepare_retry(
            job_id, chat_id=chat_id, user_id=user_id, caller_role=context.role
        )
    except UserInputError as exc:
        await reply(update, refusal(exc, USAGE))
        return
    token = context.services.retry_previews.put(draft, owner_user_id=user_id)
    lines = [
        f"🔁 <b>Retry bulk job #{draft.job.id}?</b>",
        f"Failed: {draft.failed:,} · Unknown: {draft.unknown:,}",
    ]
    if draft.unknown:
        lines.append("⚠️ Unknown ones may already have the message: they could receive it twice.")
    await reply(
        update,
        "\n".join(lines),
        keyboard(("✅ Send again", f"ok:retry:{token}"), ("✖️ Cancel", f"no:retry:{token}")),
    )
    await remember_preview(context.services.requests, key, chat_id)


async def retry_button(update: Update, context: SmsContext) -> None:
    """Send again or Cancel under a retry preview."""
    query = update.callback_query
    if query is None:
        return
    pressed = await take_confirmed(
        query,
        context.services.retry_previews,
        context.services.requests,
        expired="This preview has expired or was already used.",
        cancelled=lambda draft: f"✖️ Retry of job #{draft.job.id} cancelled.",
    )
    if pressed is None:
        return
    draft, key = pressed
    await query.answer("Retrying…")
    try:
        count = await context.services.bulk.retry(
            draft, await _reporter_for(context, draft.job.chat_id), request_key=key
        )
    except UserInputError as exc:
        await query.edit_message_text(problem(str(exc)))
        return
    except DuplicateRequest:
        ignore_repeat(key)
        return
    where = "below" if draft.job.chat_id == draft.by_chat_id else f"in chat <code>{draft.job.chat_id}</code>"
    await query.edit_message_text(f"🔁 Retrying {plural(count, 'recipient')} of job #{draft.job.id}; progress {where}.")


async def _reporter_for(context: SmsContext, job_chat_id: int) -> ReporterFactory:
    """Progress in the job's chat, unless that chat lost access: then nothing there, the summary to the admins."""
    services = context.services
    if await services.access.role_of(job_chat_id) is not None:
        return reporter_factory(context.bot, services.alerts)
    return lambda job, reason: SummaryToAdmins(services.alerts)
