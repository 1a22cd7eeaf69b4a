"""/bulk: one message to many numbers, always after a preview; also from an uploaded CSV/TXT file.

Forms:
  /bulk [via:x] 0712345678, 0722000000      numbers on the first line,
  Message text on the following lines        the message below;
  a CSV/TXT document with the caption ``/bulk <message>``, or ``/bulk <message>`` sent as a reply to such a
  document or to a message holding numbers.
"""

from __future__ import annotations

import asyncio

from telegram import Document, Message, Update

from bot.context import SmsContext
from bot.formatting import plural
from bot.handlers.arguments import split_bulk_text, take_leading
from bot.handlers.bulk_progress import reporter_factory
from bot.handlers.common import command_args, keyboard, problem, refusal, reply, sender_ids, take_confirmed
from bot.handlers.repeats import ignore_repeat, message_key, remember_preview
from bot.handlers.scheduled import show_bulk_schedule_preview
from bot.handlers.send_texts import bulk_preview_text, over_quota
from bot.ids import parse_id
from bot.phone import InvalidPhoneNumberError, normalise_phone, split_numbers
from bot.services.errors import UserInputError
from bot.services.group_audience import is_group_token
from bot.services.merge import FileColumns
from bot.services.recipient_files import FileNumbers, check_upload, numbers_from_file
from bot.services.requests import DuplicateRequest
from bot.sms_text import MessageTextError, is_blank

USAGE = "/bulk 0712345678, 0722000000\nYour message on the next line"
REPLIED_SOURCE = "the message you replied to"
# A button whose data we never made (forged, or from a version of the bot that no longer exists).
EXPIRED_BUTTON = "This button has expired."


async def bulk_command(update: Update, context: SmsContext) -> None:
    """Read recipients and message, then show the preview with Send / Cancel."""
    message = update.effective_message
    if message is None:
        return
    chat_id, user_id = sender_ids(update)
    services = context.services
    key = message_key(message)
    if await services.requests.seen(key):
        ignore_repeat(key)  # its preview was shown already: a second one would invite a second Send
        return
    try:
        leading = take_leading(
            command_args(message), services.providers, now=services.schedules.now(), zone=services.settings.timezone
        )
        provider, rest = leading.provider, leading.rest
        numbers, text, source, columns = await _recipients_and_text(message, rest, context)
        if is_blank(text):
            where = "on the line after the numbers" if source is None else "after /bulk"
            raise UserInputError(f"The message is empty: write it {where}.")
        text = await services.templates.expand(text)  # "#name" as the whole message: that template
        draft = await services.bulk.prepare(
            chat_id=chat_id,
            user_id=user_id,
            numbers=numbers,
            text=text,
            provider=provider,
            source=source,
            caller_role=context.role,
            columns=columns,
        )
    except (UserInputError, MessageTextError) as exc:
        await reply(update, refusal(exc, USAGE))
        return
    if leading.due is not None:
        await show_bulk_schedule_preview(update, context, draft, leading.due, services.requests.staleness(message.date))
        await remember_preview(services.requests, key, chat_id)
        return
    preview = bulk_preview_text(draft, services.requests.staleness(message.date))
    if over_quota(draft):
        await reply(update, preview)  # no Send button: it would only be refused
        await remember_preview(services.requests, key, chat_id)
        return
    token = services.bulk_previews.put(draft, owner_user_id=user_id)
    await reply(
        update,
        preview,
        keyboard(
            (f"✅ Send to {len(draft.recipients.valid):,}", f"ok:bulk:{token}"),
            ("✖️ Cancel", f"no:bulk:{token}"),
        ),
    )
    await remember_preview(services.requests, key, chat_id)


async def _recipients_and_text(
    message: Message, rest: str, context: SmsContext
) -> tuple[list[str], str, str | None, FileColumns | None]:
    """Numbers, message, where the numbers came from, and a CSV's columns (for ``{column}`` placeholders)."""
    numbers, text = split_bulk_text(rest)
    replied = message.reply_to_message
    if message.document is None and (replied is None or _has_phone(numbers)):
        # Numbers typed in the command win over whatever message it happens to reply to.
        return numbers, text, None, None
    document = message.document or (replied.document if replied is not None else None)
    if document is not None:
        read = await read_document(document, context)
        columns = None if read.header is None or read.values is None else FileColumns(read.header, read.values)
        if message.document is not None and numbers and all(is_group_token(n) for n in numbers):
            # "/bulk @oncall Server down" as a file's caption: the file's numbers and the groups' members. The
            # columns go along so that {column} placeholders are refused saying why (the members have no row).
            return read.numbers + numbers, text, document.file_name, columns
        return read.numbers, rest, document.file_name, columns
    if replied is not None and (replied.text or replied.caption):
        return split_numbers(replied.text or replied.caption or ""), rest, REPLIED_SOURCE, None
    return numbers, text, None, None


def _has_phone(numbers: list[str]) -> bool:
    """Whether a leading number token is really a phone number (or a group), not "10" in "/bulk 10 minutes"."""
    for number in numbers:
        if is_group_token(number):
            return True
        try:
            normalise_phone(number)
        except InvalidPhoneNumberError:
            continue
        return True
    return False


async def read_document(document: Document, context: SmsContext) -> FileNumbers:
    """An uploaded CSV/TXT: checked before download (size, kind), then read off the event loop."""
    limit = context.services.settings.max_upload_bytes
    check_upload(document.file_name, document.mime_type, document.file_size, max_bytes=limit)
    telegram_file = await context.bot.get_file(document.file_id)
    content = bytes(await telegram_file.download_as_bytearray())
    # A big file takes a moment to read: keep the event loop free for other chats.
    return await asyncio.to_thread(numbers_from_file, content, document.file_name, max_bytes=limit)


async def bulk_button(update: Update, context: SmsContext) -> None:
    """Send or Cancel under a bulk preview; Cancel under a running job's progress."""
    query = update.callback_query
    if query is None or query.data is None or query.message is None:
        return
    action, _, token = query.data.split(":", 2)
    chat_id, user_id = sender_ids(update)
    services = context.services
    if action == "stop":
        job_id = parse_id(token)
        if job_id is None:
            await query.answer(EXPIRED_BUTTON)
            return
        try:
            stopping = await services.bulk.cancel(job_id, chat_id=chat_id, user_id=user_id, caller_role=context.role)
        except UserInputError as exc:
            await query.answer(str(exc), show_alert=True)
            return
        await query.answer("Stopping: batches already out will finish." if stopping else "It has already finished.")
        return
    pressed = await take_confirmed(
        query,
        services.bulk_previews,
        services.requests,
        expired="This preview has expired or was already used. Send /bulk again.",
        cancelled=lambda draft: (
            f"✖️ Cancelled. Nothing was sent to the {plural(len(draft.recipients.valid), 'recipient')}."
        ),
    )
    if pressed is None:
        return
    draft, key = pressed
    await query.answer("Starting…")
    try:
        await services.bulk.start(
            draft, reporter_factory(context.bot, services.alerts, query.message.message_id), request_key=key
        )
    except DuplicateRequest:
        ignore_repeat(key)
    except UserInputError as exc:  # over the daily quota since the preview
        await query.edit_message_text(problem(str(exc)))
