"""/send: one SMS to one number, at once or after a preview when it costs more than CONFIRM_ABOVE_UNITS or was
typed more than STALE_COMMAND_SECONDS ago (the bot was offline). A repeated delivery of the same update sends
nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from telegram import Update

from bot.context import SmsContext
from bot.formatting import esc, plural
from bot.handlers.arguments import parse_send
from bot.handlers.common import command_args, keyboard, problem, refusal, reply, sender_ids, take_confirmed
from bot.handlers.repeats import ignore_repeat, message_key, remember_preview, stale_line
from bot.handlers.scheduled import schedule_single
from bot.handlers.send_texts import estimated_cost, length_line, report_text
from bot.phone import InvalidPhoneNumberError, display_phone
from bot.services.errors import UserInputError
from bot.services.merge import has_placeholders, literal_braces, no_columns_refusal
from bot.services.requests import DuplicateRequest
from bot.services.sending import SingleSend
from bot.sms_text import MessageTextError

USAGE = "/send [via:texin|sms254] [in:10m|at:18:30] <number> <message>"


async def send_command(update: Update, context: SmsContext) -> None:
    """Send one SMS, or show a Send / Cancel preview when it costs more than the configured units or is old."""
    message = update.effective_message
    if message is None:
        return
    chat_id, user_id = sender_ids(update)
    services = context.services
    key = message_key(message)
    if await services.requests.seen(key):
        ignore_repeat(key)
        return
    try:
        args = parse_send(
            command_args(message), services.providers, now=services.schedules.now(), zone=services.settings.timezone
        )
        text = await services.templates.expand(args.text)  # "#name" as the whole message: that template
        if has_placeholders(text):
            raise UserInputError(no_columns_refusal(args.text, text))
        text = literal_braces(text)
        request = services.sending.prepare(
            chat_id=chat_id,
            user_id=user_id,
            number=args.number,
            text=text,
            provider=args.provider,
            caller_role=context.role,
        )
        await services.sending.check_recipient(request)
    except (UserInputError, InvalidPhoneNumberError, MessageTextError) as exc:
        await reply(update, refusal(exc, USAGE))
        return
    age = services.requests.staleness(message.date)
    if args.due is not None:
        await schedule_single(update, context, request, args.due, key, age)
        return
    if request.units > services.settings.confirm_above_units or age is not None:
        # Only the Send press spends (its own update is recorded with the row); this one is remembered as shown.
        price = await services.balances.unit_price(request.provider)
        token = services.send_previews.put(request, owner_user_id=user_id)
        await reply(
            update,
            preview_text(request, price, services.settings.confirm_above_units, age),
            keyboard(("✅ Send", f"ok:send:{token}"), ("✖️ Cancel", f"no:send:{token}")),
        )
        await remember_preview(services.requests, key, chat_id)
        return
    try:
        report = await services.sending.send(request, request_key=key)
    except DuplicateRequest:
        ignore_repeat(key)  # the same update, delivered twice at once: the other delivery answers
        return
    except UserInputError as exc:  # blocked between the check above and now, or over the daily quota
        await reply(update, problem(str(exc)))
        return
    await reply(update, report_text(report))


async def send_button(update: Update, context: SmsContext) -> None:
    """Send or Cancel pressed under a /send preview."""
    query = update.callback_query
    if query is None:
        return
    services = context.services
    pressed = await take_confirmed(
        query,
        services.send_previews,
        services.requests,
        expired="This preview has expired or was already used. Send the command again.",
        cancelled=lambda request: f"✖️ Cancelled. Nothing was sent to {display_phone(request.recipient)}.",
    )
    if pressed is None:
        return
    request, key = pressed
    await query.answer("Sending…")
    await query.edit_message_text(f"⏳ Sending to {display_phone(request.recipient)}…")
    try:
        report = await context.services.sending.send(request, request_key=key)
    except DuplicateRequest:
        ignore_repeat(key)
        return
    except UserInputError as exc:  # blocked after the preview was shown, or over the daily quota
        await query.edit_message_text(problem(str(exc)))
        return
    await query.edit_message_text(report_text(report))


def preview_text(request: SingleSend, unit_price: Decimal | None, limit: int, age: timedelta | None = None) -> str:
    """The Send / Cancel question; ``age`` when the command was typed long ago, which is why it asks."""
    cost = estimated_cost(None if unit_price is None else unit_price * request.units, request.provider)
    heading = "📝 <b>Send this SMS?</b>" if age is None else f"<b>{stale_line(age, 'send it now?')}</b>"
    if request.units > limit:
        heading += f" It costs more than {plural(limit, 'unit')}."
    return (
        f"{heading}\n"
        f"To: {display_phone(request.recipient)}\n"
        f"Via: {request.provider.shown} (sender id {esc(request.sender_id)})\n"
        f"Length: {length_line(request.length)}\n"
        f"Estimated cost: {cost}\n"
        f"<blockquote>{esc(request.text[:500])}{'…' if len(request.text) > 500 else ''}</blockquote>"
    )
