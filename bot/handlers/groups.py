"""/group: list, show, add to, remove from and delete contact groups that /bulk addresses as ``@name``.

/group                          every group with its member count
/group show <name> [page]       the members, paged
/group add <name> <numbers…>    also as the caption of a CSV/TXT file, or as a reply to one (or to numbers)
/group remove <name> <numbers…>
/group delete <name>            asks for confirmation first
"""

from __future__ import annotations

from telegram import Message, Update

from bot.context import SmsContext
from bot.formatting import esc, join_within_limit, plural
from bot.handlers.bulk import EXPIRED_BUTTON, read_document
from bot.handlers.common import command_args, drop_buttons, keyboard, refusal, reply, sender_ids, take_confirmed
from bot.ids import parse_id
from bot.phone import display_phone, split_numbers
from bot.services.errors import UserInputError
from bot.services.groups import NAME_RULE, GroupChange

USAGE = (
    "/group · /group show <name> [page] · /group add <name> <numbers> · /group remove <name> <numbers> · "
    "/group delete <name>"
)
PAGE_SIZE = 100
_ACTIONS = frozenset({"list", "show", "add", "remove", "delete"})


async def group_command(update: Update, context: SmsContext) -> None:
    message = update.effective_message
    if message is None:
        return
    words = command_args(message).split()
    action = words[0].lower() if words else "list"
    try:
        if action == "list" and len(words) <= 1:
            text = await _list(context)
        elif action == "show" and len(words) in (2, 3):
            text = await _show(context, words[1], words[2] if len(words) == 3 else "1")
        elif action in ("add", "remove") and len(words) >= 2:
            text = await _change(update, message, context, action, words[1], words[2:])
        elif action == "delete" and len(words) == 2:
            await _ask_delete(update, context, words[1])
            return
        elif action not in _ACTIONS:
            raise UserInputError(f"“{action[:20]}” is not a /group action.")
        else:
            raise UserInputError(f"Group names: {NAME_RULE}.")
    except UserInputError as exc:
        await reply(update, refusal(exc, USAGE))
        return
    await reply(update, text)


async def _list(context: SmsContext) -> str:
    groups = await context.services.groups.summaries(caller_role=context.role)
    if not groups:
        return "No groups yet. Make one with <code>/group add &lt;name&gt; &lt;numbers&gt;</code>."
    items = [f"• @{esc(g.name)}: {plural(g.members, 'number')}" for g in groups]
    return join_within_limit("👥 <b>Groups</b>", items, more=lambda n: f"…and {n:,} more")


async def _show(context: SmsContext, name: str, page_text: str) -> str:
    page = parse_id(page_text)  # bounded: "²" is a digit to str.isdigit, not to int()
    if page is None or page < 1:
        raise UserInputError(f"“{page_text[:20]}” is not a page number.")
    name, members = await context.services.groups.members(name, caller_role=context.role)
    pages = max(1, -(-len(members) // PAGE_SIZE))
    if page > pages:
        raise UserInputError(f"@{name} has {plural(pages, 'page')}.")
    shown = members[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    head = f"👥 <b>@{esc(name)}</b>: {plural(len(members), 'number')}"
    if pages > 1:
        head += f" (page {page} of {pages}; next: <code>/group show {esc(name)} {min(page + 1, pages)}</code>)"
    blocked = await context.services.groups.blocked_among(shown)
    items = [esc(display_phone(n)) + (" 🚫 blocked (opted out)" if n in blocked else "") for n in shown]
    if blocked:
        head += f"\n{plural(len(blocked), 'number')} on this page blocked: /bulk leaves them out."
    return join_within_limit(head, items, more=lambda n: f"…and {n:,} more")


async def _change(
    update: Update, message: Message, context: SmsContext, action: str, name: str, typed: list[str]
) -> str:
    numbers = [n for word in typed for n in split_numbers(word)]
    source = None
    if not numbers:
        numbers, source = await _numbers_from_attachment(message, context)
    chat_id, user_id = sender_ids(update)
    groups = context.services.groups
    if action == "add":
        change = await groups.add(name, numbers, chat_id=chat_id, user_id=user_id, caller_role=context.role)
        return _added_text(change, source)
    change = await groups.remove(name, numbers, chat_id=chat_id, user_id=user_id, caller_role=context.role)
    lines = [f"➖ Removed {plural(len(change.changed), 'number')} from <b>@{esc(change.name)}</b>."]
    if change.unchanged:
        lines.append(f"Not in the group: {len(change.unchanged):,}")
    return "\n".join(lines + _refusal_lines(change))


async def _numbers_from_attachment(message: Message, context: SmsContext) -> tuple[list[str], str | None]:
    """Numbers from the file this command is the caption of, or from the file or text it replies to."""
    replied = message.reply_to_message
    document = message.document or (replied.document if replied is not None else None)
    if document is not None:
        return (await read_document(document, context)).numbers, document.file_name
    if replied is not None and (replied.text or replied.caption):
        return split_numbers(replied.text or replied.caption or ""), "the message you replied to"
    raise UserInputError("Give the numbers after the group name, or send this as the caption of a CSV/TXT file.")


def _added_text(change: GroupChange, source: str | None) -> str:
    verb = "Created" if change.created else "Updated"
    origin = f" from {esc(source)}" if source else ""
    lines = [f"✅ {verb} <b>@{esc(change.name)}</b>: added {plural(len(change.changed), 'number')}{origin}."]
    if change.unchanged:
        lines.append(f"Already in the group: {len(change.unchanged):,}")
    if change.recipients.duplicates:
        lines.append(f"Duplicates ignored: {len(change.recipients.duplicates):,}")
    return "\n".join(lines + _refusal_lines(change))


def _refusal_lines(change: GroupChange) -> list[str]:
    refused = change.recipients.refused
    if not refused:
        return []
    shown = [f"• {esc(r.raw[:40])}: {esc(r.reason)}" for r in refused[:20]]
    more = [f"…and {len(refused) - 20:,} more"] if len(refused) > 20 else []
    return [f"Refused: {plural(len(refused), 'number')}", *shown, *more]


async def _ask_delete(update: Update, context: SmsContext, raw_name: str) -> None:
    name, size = await context.services.groups.check_delete(raw_name, caller_role=context.role)
    _, user_id = sender_ids(update)
    token = context.services.group_previews.put(name, owner_user_id=user_id)
    await reply(
        update,
        f"🗑 Delete <b>@{esc(name)}</b> and its {plural(size, 'number')}? This cannot be undone.",
        keyboard(("🗑 Delete", f"ok:group:{token}"), ("✖️ Cancel", f"no:group:{token}")),
    )


async def group_button(update: Update, context: SmsContext) -> None:
    """Delete or Cancel under a /group delete question."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    pressed = await take_confirmed(
        query,
        context.services.group_previews,
        None,  # deleting spends nothing: a repeated Delete finds the preview taken and says it expired
        expired=EXPIRED_BUTTON,
        cancelled=lambda name: f"✖️ Cancelled. @{esc(name)} was not deleted.",
    )
    if pressed is None:
        return
    name, _ = pressed
    chat_id, user_id = sender_ids(update)
    try:
        size = await context.services.groups.delete(name, chat_id=chat_id, user_id=user_id, caller_role=context.role)
    except UserInputError as exc:
        await query.answer(str(exc), show_alert=True)
        await drop_buttons(query)
        return
    await query.answer("Deleted")
    await query.edit_message_text(f"🗑 Deleted @{esc(name)} ({plural(size, 'number')}).")
