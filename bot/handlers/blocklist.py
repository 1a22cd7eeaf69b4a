"""/block, /unblock and /blocked: the opt-out blocklist every send path honours.

Forms:
  /block 0712345678 0722000000 asked to stop    numbers first, then an optional reason;
  a CSV/TXT document with the caption ``/block [reason]``, or ``/block [reason]`` as a reply to such a document
  or to a message holding numbers;
  /unblock 0712345678 (admins; also from a file), /blocked [page].
"""

from __future__ import annotations

import re

from telegram import Message, Update

from bot.context import SmsContext
from bot.formatting import esc, join_within_limit, plural, when
from bot.handlers.bulk import read_document
from bot.handlers.common import command_args, refusal, reply, sender_ids
from bot.ids import parse_id
from bot.phone import display_phone, split_numbers
from bot.services.blocklist import BlockChange
from bot.services.errors import UserInputError

BLOCK_USAGE = "/block 0712345678 0722000000 [reason], or as the caption of (or a reply to) a CSV/TXT file"
UNBLOCK_USAGE = "/unblock 0712345678 0722000000, or as the caption of (or a reply to) a CSV/TXT file"
BLOCKED_USAGE = "/blocked [page]"
# A word that can only be (part of) a number: digits and the punctuation people put in numbers and lists.
_NUMBER_WORD = re.compile(r"^[+\d][\d+\-().,;]*$")
_WORD = re.compile(r"\S+")


async def block_command(update: Update, context: SmsContext) -> None:
    """Put numbers on the blocklist: they are never texted again, by any chat or provider."""
    message = update.effective_message
    if message is None:
        return
    chat_id, user_id = sender_ids(update)
    try:
        numbers, reason = await _numbers_and_rest(message, context)
        change = await context.services.blocklist.block(
            numbers, reason=reason or None, chat_id=chat_id, user_id=user_id, caller_role=context.role
        )
    except UserInputError as exc:
        await reply(update, refusal(exc, BLOCK_USAGE))
        return
    await reply(update, change_text(change, "🚫 Blocked (opted out)", "Already blocked"))


async def unblock_command(update: Update, context: SmsContext) -> None:
    """Take numbers off the blocklist (admins only)."""
    message = update.effective_message
    if message is None:
        return
    chat_id, user_id = sender_ids(update)
    try:
        numbers, rest = await _numbers_and_rest(message, context)
        if rest:
            raise UserInputError(f"Not a phone number: {rest[:40]}")
        change = await context.services.blocklist.unblock(
            numbers, chat_id=chat_id, user_id=user_id, caller_role=context.role
        )
    except UserInputError as exc:
        await reply(update, refusal(exc, UNBLOCK_USAGE))
        return
    await reply(update, change_text(change, "✅ Unblocked", "Were not blocked"))


async def blocked_command(update: Update, context: SmsContext) -> None:
    """One page of the blocklist: number, when, who and why."""
    message = update.effective_message
    if message is None:
        return
    arg = command_args(message)
    page_number = parse_id(arg) if arg else 1
    try:
        if page_number is None:
            raise UserInputError("Give a page number, like /blocked 2.")
        page = await context.services.blocklist.page(page_number, caller_role=context.role)
    except UserInputError as exc:
        await reply(update, refusal(exc, BLOCKED_USAGE))
        return
    if page.total == 0:
        await reply(update, "Nobody is on the blocklist.")
        return
    zone = context.services.settings.timezone
    head = f"🚫 <b>Blocked (opted out)</b>: {page.total:,} · page {page.page} of {page.pages}"
    items = [
        f"• {display_phone(entry.number)} · {when(entry.blocked_at, zone)} · "
        f"by chat <code>{entry.blocked_by_chat}</code>"
        + (f" (user <code>{entry.blocked_by_user}</code>)" if entry.blocked_by_user is not None else "")
        + (f"\n  {esc(entry.reason)}" if entry.reason else "")
        for entry in page.entries
    ]
    if page.page < page.pages:
        items.append(f"Next: <code>/blocked {page.page + 1}</code>")
    await reply(update, join_within_limit(head, items, more=lambda n: f"…and {n} more lines"))


def change_text(change: BlockChange, done: str, unchanged: str) -> str:
    """The answer to /block and /unblock: counts first, then the numbers (as many as fit)."""
    lines = [f"{done}: {plural(len(change.changed), 'number')}"]
    if change.unchanged:
        lines.append(f"{unchanged}: {len(change.unchanged):,}")
    if change.duplicates:
        lines.append(f"Duplicates ignored: {change.duplicates:,}")
    if change.refused:
        lines.append(f"Refused: {plural(len(change.refused), 'number')} (listed below)")
    items = [display_phone(number) for number in change.changed]
    items += [f"⚠️ {esc(r.raw[:40])}: {esc(r.reason)}" for r in change.refused]
    return join_within_limit("\n".join(lines), items, more=lambda n: f"…and {n:,} more")


async def _numbers_and_rest(message: Message, context: SmsContext) -> tuple[list[str], str]:
    """The numbers (typed, from a document, or from a replied-to message) and the text after them."""
    args = command_args(message)
    replied = message.reply_to_message
    document = message.document or (replied.document if replied is not None else None)
    if message.document is not None:  # the caption of the file: all of it is the reason
        return (await read_document(message.document, context)).numbers, args
    numbers, rest = split_leading_numbers(args)
    if numbers or replied is None:
        return numbers, rest  # numbers typed in the command win over whatever message it replies to
    if document is not None:
        return (await read_document(document, context)).numbers, args
    assert replied is not None
    return split_numbers(replied.text or replied.caption or ""), args


def split_leading_numbers(args: str) -> tuple[list[str], str]:
    """``0712345678, 0722000000 asked to stop`` → the number words and the rest (the reason)."""
    numbers: list[str] = []
    end = 0
    for word in _WORD.finditer(args):
        if not _NUMBER_WORD.match(word.group()):
            break
        numbers += split_numbers(word.group())
        end = word.end()
    return numbers, args[end:].strip()
