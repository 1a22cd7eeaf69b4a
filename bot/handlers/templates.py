"""/template: save, list, show and delete message texts; ``#name`` as the whole message of /send or /bulk uses one."""

from __future__ import annotations

import re

from telegram import Update

from bot.context import SmsContext
from bot.formatting import esc, join_within_limit, truncate, when
from bot.handlers.common import command_args, refusal, reply, sender_ids
from bot.ids import parse_id
from bot.services.errors import UserInputError
from bot.services.templates import PAGE_SIZE

USAGE = "/template [list [page]|show <name>|save <name> <text>|delete <name>]"
SAVE_USAGE = "/template save <name> <text>"
_WORD = re.compile(r"\S+")


async def template_command(update: Update, context: SmsContext) -> None:
    """Dispatch on the first word; no word lists the templates."""
    message = update.effective_message
    if message is None:
        return
    args = command_args(message)
    first = _WORD.search(args)
    action = "list" if first is None else first.group().lower()
    rest = "" if first is None else args[first.end() :].strip()
    try:
        if action == "list":
            await _list(update, context, rest)
        elif action == "show":
            await _show(update, context, rest)
        elif action == "save":
            await _save(update, context, rest)
        elif action == "delete":
            await _delete(update, context, rest)
        else:
            raise UserInputError(f"Unknown action “{truncate(action, 40)}”: use list, show, save or delete.")
    except UserInputError as exc:
        await reply(update, refusal(exc, SAVE_USAGE if action == "save" else USAGE))


async def _list(update: Update, context: SmsContext, rest: str) -> None:
    page = parse_id(rest) if rest else 1  # bounded: "²" is a digit to str.isdigit, not to int()
    if page is None or page < 1:
        raise UserInputError(f"“{truncate(rest, 40)}” is not a page number.")
    records, total = await context.services.templates.page(page)
    if total == 0:
        await reply(update, "📄 No templates yet. Save one with <code>/template save &lt;name&gt; &lt;text&gt;</code>.")
        return
    pages = -(-total // PAGE_SIZE)
    if not records:
        raise UserInputError(f"There {'is' if pages == 1 else 'are'} only {pages} page{'' if pages == 1 else 's'}.")
    items = [f"<code>#{esc(r.name)}</code>: {esc(truncate(r.body.replace(chr(10), ' '), 60))}" for r in records]
    head = f"📄 <b>Templates</b> ({total}), page {page} of {pages}"
    text = join_within_limit(head, items, more=lambda n: f"…and {n} more")
    if page < pages:
        text += f"\nNext: <code>/template list {page + 1}</code>"
    await reply(update, text)


def _one_name(rest: str) -> str:
    words = rest.split()
    if len(words) != 1:
        raise UserInputError("Give one template name.")
    return words[0].removeprefix("#")


async def _show(update: Update, context: SmsContext, rest: str) -> None:
    zone = context.services.settings.timezone
    record = await context.services.templates.show(_one_name(rest))
    await reply(
        update,
        f"📄 <b>#{esc(record.name)}</b> (saved {when(record.saved_at, zone)})\n"
        f"<blockquote>{esc(record.body)}</blockquote>",
    )


async def _save(update: Update, context: SmsContext, rest: str) -> None:
    name_match = _WORD.match(rest)
    if name_match is None:
        raise UserInputError("Give a name and the text.")
    name = name_match.group().removeprefix("#")
    chat_id, user_id = sender_ids(update)
    replaced = await context.services.templates.save(
        name, rest[name_match.end() :], by_chat_id=chat_id, by_user_id=user_id, caller_role=context.role
    )
    verb = "Replaced" if replaced else "Saved"
    await reply(
        update, f"✅ {verb} template <code>#{esc(name.lower())}</code>. Use it as the whole message of /send or /bulk."
    )


async def _delete(update: Update, context: SmsContext, rest: str) -> None:
    name = _one_name(rest)
    chat_id, user_id = sender_ids(update)
    await context.services.templates.delete(name, by_chat_id=chat_id, by_user_id=user_id, caller_role=context.role)
    await reply(update, f"🗑 Deleted template <code>#{esc(name.lower())}</code>.")
