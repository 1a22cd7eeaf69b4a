"""Message templates: saving, listing and deleting them, and ``#name`` as a whole message meaning that template.

Names follow the contact-group rules (letters, digits, ``-`` and ``_``, 1–32 characters, case-insensitive).
Reading is open to every allowed chat; only senders and admins change templates.
"""

from __future__ import annotations

import re

from bot.services.errors import NotAllowedError, NotFoundError, UserInputError
from bot.sms_text import is_blank
from storage import Database, Role, TemplateRecord

NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
_WHOLE_REFERENCE = re.compile(r"#([A-Za-z0-9_-]{1,32})")
PAGE_SIZE = 20
# Ten GSM-7 parts and then some: the rendered text is checked again, per recipient, when it is sent.
MAX_TEMPLATE_CHARACTERS = 2000
_EDITORS = frozenset({Role.ADMIN, Role.SENDER})


def check_name(name: str) -> str:
    """The name in lower case, or a readable refusal."""
    if NAME.fullmatch(name) is None:
        raise UserInputError(f"“{name}” is not a template name: use 1–32 letters, digits, - or _.")
    return name.lower()


def referenced_name(text: str) -> str | None:
    """The template name when the whole message is ``#name``, else None."""
    match = _WHOLE_REFERENCE.fullmatch(text.strip())
    return None if match is None else match.group(1).lower()


class TemplateService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(
        self, name: str, body: str, *, by_chat_id: int, by_user_id: int | None, caller_role: Role | None
    ) -> bool:
        """Create or replace (audited); True when it replaced one."""
        _require_editor(caller_role)
        key = check_name(name)
        body = body.strip()
        if is_blank(body):
            raise UserInputError("The template text is empty: write it after the name.")
        if len(body) > MAX_TEMPLATE_CHARACTERS:
            raise UserInputError(f"The template is too long: at most {MAX_TEMPLATE_CHARACTERS} characters.")
        if referenced_name(body) is not None:
            raise UserInputError("A template cannot be only another template's #name.")
        return await self._db.templates.save(key, body, by_chat_id=by_chat_id, by_user_id=by_user_id)

    async def delete(self, name: str, *, by_chat_id: int, by_user_id: int | None, caller_role: Role | None) -> None:
        _require_editor(caller_role)
        key = check_name(name)
        if not await self._db.templates.delete(key, by_chat_id=by_chat_id, by_user_id=by_user_id):
            raise _unknown(key)

    async def show(self, name: str) -> TemplateRecord:
        key = check_name(name)
        record = await self._db.templates.get(key)
        if record is None:
            raise _unknown(key)
        return record

    async def page(self, number: int) -> tuple[list[TemplateRecord], int]:
        """One page (from 1) of templates by name, and how many there are in all."""
        total = await self._db.templates.count()
        return await self._db.templates.list(PAGE_SIZE, (number - 1) * PAGE_SIZE), total

    async def expand(self, text: str) -> str:
        """The template's text when ``text`` is exactly ``#name``; any other text is returned as it is."""
        name = referenced_name(text)
        if name is None:
            return text
        record = await self._db.templates.get(name)
        if record is None:
            raise _unknown(name)
        return record.body


def _require_editor(caller_role: Role | None) -> None:
    if caller_role not in _EDITORS:
        raise NotAllowedError("Only sender and admin chats may save or delete templates.")


def _unknown(name: str) -> UserInputError:
    return NotFoundError(f"There is no template “#{name}”. /template list shows the saved ones.")
