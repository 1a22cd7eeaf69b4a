"""Scheduled sends in Telegram: storing a /send or /bulk with in:/at:, /scheduled with Cancel buttons, and the
periodic job that fires due schedules and tells each chat what happened."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.context import SmsContext
from bot.formatting import esc, join_within_limit, plural
from bot.handlers.bulk_progress import reporter_factory
from bot.handlers.common import command_args, keyboard, problem, reply, sender_ids, take_confirmed, usage
from bot.handlers.repeats import ignore_repeat, stale_line
from bot.handlers.send_texts import bulk_preview_text, report_text
from bot.ids import parse_id
from bot.localtime import local_day, show_local
from bot.phone import display_phone
from bot.providers.types import ProviderName
from bot.runtime import Services
from bot.schedule_time import when_text
from bot.services.bulk import BulkDraft
from bot.services.errors import UserInputError
from bot.services.quotas import QuotaStatus
from bot.services.requests import DuplicateRequest
from bot.services.scheduler import Fired
from bot.services.schedules import PAGE_SIZE, ScheduledBulk
from bot.services.sending import SingleSend
from storage import ScheduleKind, ScheduleRecord, ScheduleState

log = logging.getLogger(__name__)

SCHEDULED_USAGE = "/scheduled [page]"
EXPIRED_BUTTON = "This button has expired."
# How often due schedules are looked for: a schedule goes out at most this late.
TICK_SECONDS = 2.0


def _to_whom(record: ScheduleRecord) -> str:
    if record.kind is ScheduleKind.SEND:
        return display_phone(record.recipients[0])
    return plural(len(record.recipients), "recipient") + (", each with their own text" if record.personal else "")


def schedule_text(record: ScheduleRecord, services: Services, heading: str = "⏰ <b>Scheduled</b>") -> str:
    """What will be sent, to whom, via which provider, and when (local time and how long from now)."""
    zone = services.settings.timezone
    return (
        f"{heading} #{record.id}: SMS to {_to_whom(record)} via {ProviderName(record.provider).label}\n"
        f"When: {when_text(record.due_at, services.schedules.now(), zone)}\n"
        f"<blockquote>{esc(record.body[:300])}{'…' if len(record.body) > 300 else ''}</blockquote>"
    )


def cancel_button(schedule_id: int) -> tuple[str, str]:
    return (f"✖️ Cancel #{schedule_id}", f"no:scheduled:{schedule_id}")


async def schedule_single(
    update: Update, context: SmsContext, request: SingleSend, due: datetime, key: str, age: timedelta | None
) -> None:
    """A /send with in:/at: is stored at once: nothing is spent before it is due, and the reply's Cancel button
    is the confirmation (so no Send / Cancel preview first, even above CONFIRM_ABOVE_UNITS)."""
    services = context.services
    try:
        record = await services.schedules.schedule_send(request, due, request_key=key, caller_role=context.role)
    except DuplicateRequest:
        ignore_repeat(key)
        return
    except UserInputError as exc:
        await reply(update, problem(str(exc)))
        return
    text = schedule_text(record, services)
    if age is not None:
        text = f"<b>{stale_line(age, 'it was scheduled now; cancel it if that is wrong.')}</b>\n" + text
    await reply(update, text, keyboard(cancel_button(record.id)))


def bulk_schedule_preview(draft: BulkDraft, due: datetime, services: Services, age: timedelta | None) -> str:
    zone = services.settings.timezone
    when = f"⏰ <b>Scheduled for {when_text(due, services.schedules.now(), zone)}</b>: nothing goes out before then."
    quota = None if draft.quota is None else scheduled_quota_line(draft.quota, draft.units, local_day(due, zone))
    return when + "\n" + bulk_preview_text(draft, age, quota=quota)


def scheduled_quota_line(quota: QuotaStatus, units: int, day: date) -> str | None:
    """The quota is checked when the job goes out, against that day's use: today's figures only matter today."""
    if quota.limit is None:
        return None
    raise_it = "it will be refused when it goes out unless an admin raises the quota (/quota)."
    if day == quota.day:
        remaining = max(quota.limit - quota.used, 0)
        line = f"Quota: checked when it goes out (today); {remaining:,} of {plural(quota.limit, 'unit')} left today"
        return line + (f"\n⚠️ This needs {plural(units, 'unit')}: {raise_it}" if units > remaining else "")
    line = (
        f"Quota: checked on {day:%a %Y-%m-%d}, the day it goes out, against that day's use "
        f"(limit now {plural(quota.limit, 'unit')} a day; today's use does not count)"
    )
    return line + (f"\n⚠️ This needs {units:,}, more than the daily limit: {raise_it}" if units > quota.limit else "")


async def show_bulk_schedule_preview(
    update: Update, context: SmsContext, draft: BulkDraft, due: datetime, age: timedelta | None
) -> None:
    services = context.services
    token = services.schedules.bulk_previews.put(ScheduledBulk(draft, due), owner_user_id=draft.user_id)
    await reply(
        update,
        bulk_schedule_preview(draft, due, services, age),
        keyboard(
            (f"⏰ Schedule for {len(draft.recipients.valid):,}", f"ok:sbulk:{token}"),
            ("✖️ Cancel", f"no:sbulk:{token}"),
        ),
    )


async def scheduled_bulk_button(update: Update, context: SmsContext) -> None:
    """Schedule or Cancel under a scheduled bulk preview: Schedule stores it exactly once."""
    query = update.callback_query
    if query is None:
        return
    services = context.services
    pressed = await take_confirmed(
        query,
        services.schedules.bulk_previews,
        services.requests,
        expired="This preview has expired or was already used. Send /bulk again.",
        cancelled=lambda _: "✖️ Cancelled. Nothing was scheduled.",
    )
    if pressed is None:
        return
    pending, key = pressed
    try:
        record = await services.schedules.schedule_bulk(
            pending.draft, pending.due, request_key=key, caller_role=context.role
        )
    except DuplicateRequest:
        ignore_repeat(key)
        return
    except UserInputError as exc:
        await query.answer()
        await query.edit_message_text(problem(str(exc)))
        return
    await query.answer("Scheduled")
    await query.edit_message_text(schedule_text(record, services), reply_markup=keyboard(cancel_button(record.id)))


async def scheduled_command(update: Update, context: SmsContext) -> None:
    """This chat's pending schedules (admins: every chat's), a page at a time, each with a Cancel button."""
    message = update.effective_message
    if message is None:
        return
    chat_id, _ = sender_ids(update)
    args = command_args(message).split()
    page = parse_id(args[0]) if len(args) == 1 else (1 if not args else None)
    if page is None:
        await reply(update, usage("Give a page number.", SCHEDULED_USAGE))
        return
    services = context.services
    try:
        records, total = await services.schedules.pending(chat_id=chat_id, caller_role=context.role, page=page)
    except UserInputError as exc:
        await reply(update, problem(str(exc)))
        return
    if not records:
        await reply(update, "No scheduled sends are waiting." if page == 1 else f"There is no page {page}.")
        return
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    zone = services.settings.timezone
    now = services.schedules.now()
    head = f"⏰ <b>Scheduled sends</b> ({total:,}, page {page} of {pages})"
    items = [
        f"#{r.id} {when_text(r.due_at, now, zone)}: {_to_whom(r)}"
        + (f", chat <code>{r.chat_id}</code>" if r.chat_id != chat_id else "")
        + f" · {esc(r.body[:40])}{'…' if len(r.body) > 40 else ''}"
        for r in records
    ]
    more = f"\nNext: <code>/scheduled {page + 1}</code>" if page < pages else ""
    text = join_within_limit(head, items, more=lambda n: f"…and {n} more") + more
    buttons = [[InlineKeyboardButton(label, callback_data=data)] for label, data in map(cancel_button, ids(records))]
    await reply(update, text, InlineKeyboardMarkup(buttons))


def ids(records: list[ScheduleRecord]) -> list[int]:
    return [record.id for record in records]


async def cancel_schedule_button(update: Update, context: SmsContext) -> None:
    """Cancel pressed under a schedule: idempotent; only its chat or an admin."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    schedule_id = parse_id(query.data.rsplit(":", 1)[-1])
    if schedule_id is None:
        await query.answer(EXPIRED_BUTTON)
        return
    chat_id, user_id = sender_ids(update)
    try:
        result = await context.services.schedules.cancel(
            schedule_id, chat_id=chat_id, user_id=user_id, caller_role=context.role
        )
    except UserInputError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    state = result.record.state
    if result.cancelled:
        await query.answer(f"Scheduled send #{schedule_id} cancelled")
        if query.message is not None and query.message.chat.id == result.record.chat_id and _single(query):
            await query.edit_message_text(f"✖️ Scheduled send #{schedule_id} cancelled. Nothing will be sent.")
        else:
            await context.bot.send_message(chat_id, f"✖️ Scheduled send #{schedule_id} cancelled.")
        return
    already = {
        ScheduleState.CANCELLED: "It was already cancelled.",
        ScheduleState.MISSED: "It was missed while the bot was down; nothing was sent.",
        ScheduleState.REFUSED: "It was refused when it came due; nothing was sent.",
    }.get(state, "Too late: it has already gone out.")
    await query.answer(f"#{schedule_id}: {already}", show_alert=True)


def _single(query: CallbackQuery) -> bool:
    """A Cancel under one schedule's own message (not under the /scheduled list, which stays as it is)."""
    message = query.message
    markup = getattr(message, "reply_markup", None)
    return markup is not None and len(markup.inline_keyboard) == 1 and len(markup.inline_keyboard[0]) == 1


# The periodic job and start-up.


async def recover_schedules(services: Services) -> None:
    """Before the first round: schedules a crash caught mid-fire are settled (see ``Scheduler.recover``)."""
    await services.scheduler.recover()


async def fire_schedules(context: SmsContext) -> None:
    """Every TICK_SECONDS: miss the ones too late, fire the due ones, tell each chat what happened."""
    services = context.services
    await run_schedules(context.bot, services)


async def run_schedules(bot: ExtBot[None], services: Services) -> None:
    zone = services.settings.timezone
    for record in await services.scheduler.miss_late():
        await services.alerts.tell_chat(
            record.chat_id,
            f"⌛ <b>Scheduled send #{record.id} was missed</b>: it was due {show_local(record.due_at, zone)}, "
            f"while the bot was down for longer than the grace. Nothing was sent to {_to_whom(record)}.",
        )
    claimed = await services.scheduler.claim_due()
    if not claimed:
        return
    fired = await services.scheduler.fire_all(claimed, reporter_factory(bot, services.alerts))
    for outcome in fired:
        await _tell(bot, services, outcome)


async def _tell(bot: ExtBot[None], services: Services, fired: Fired) -> None:
    record = fired.schedule
    head = f"⏰ Scheduled send #{record.id}"
    if fired.lost_access:
        await services.alerts.notice(
            f"⛔ {head} of chat <code>{record.chat_id}</code> was not sent: {esc(fired.refusal or '')}"
        )
        if fired.removed:
            return
    if fired.refusal is not None:
        await services.alerts.tell_chat(record.chat_id, f"{head} was not sent: {esc(fired.refusal)}")
        return
    if fired.job is not None:
        await services.alerts.tell_chat(record.chat_id, f"{head} is going out now as bulk job #{fired.job.id}.")
        return
    if fired.report is not None:
        try:
            await bot.send_message(record.chat_id, f"{head}:\n{report_text(fired.report)}")
        except TelegramError:
            log.warning("could not report scheduled send #%s", record.id, exc_info=True)
