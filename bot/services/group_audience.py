"""``@name`` recipients of /bulk: each contact group named in the list becomes its numbers.

Kept apart from the bulk draft's other steps (blocklist, templates) so each change stays small: this only turns
group tokens into numbers and says how many each group gave. Repeats across groups and typed numbers are removed
later by ``read_recipients`` like any other repeat, so the preview's "Duplicates removed" counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.services.errors import NotFoundError
from storage import Database

_GROUP_TOKEN = re.compile(r"@[A-Za-z0-9_-]{1,32}")


def is_group_token(token: str) -> bool:
    """Whether a recipient token names a group (``@oncall``), as opposed to a phone number."""
    return _GROUP_TOKEN.fullmatch(token) is not None


@dataclass(frozen=True, slots=True)
class Audience:
    numbers: tuple[str, ...]  # typed numbers and the groups' members, in the order given, repeats kept
    groups: tuple[tuple[str, int], ...]  # (group name, its member count) for each group named, once each


async def expand_groups(db: Database, tokens: Iterable[str]) -> Audience:
    """Replace each ``@name`` with the group's members; ``UserInputError`` naming any group that does not exist."""
    numbers: list[str] = []
    groups: dict[str, int] = {}
    missing: list[str] = []
    for token in tokens:
        if not is_group_token(token):
            numbers.append(token)
            continue
        name = token[1:].lower()
        if name in groups:
            continue
        members = await db.groups.members(name)
        if members is None:
            missing.append(f"@{name}")
            continue
        groups[name] = len(members)
        numbers += members
    if missing:
        known = ", ".join(f"@{g.name}" for g in await db.groups.summaries()) or "none yet"
        raise NotFoundError(f"There is no group {', '.join(missing)}. Groups: {known} (see /group).")
    return Audience(tuple(numbers), tuple(groups.items()))
