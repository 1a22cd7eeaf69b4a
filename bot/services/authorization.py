"""The services' own role check: the guard stops a command its chat may not use before any handler runs, and
each service that spends money or changes access checks again, so a handler that skipped the guard (or a new
caller) still cannot act beyond its chat's role."""

from __future__ import annotations

from bot.permissions import may_use
from bot.services.errors import NotAllowedError
from storage import Role


def require(caller_role: Role | None, command: str) -> None:
    """Raise ``NotAllowedError`` unless ``caller_role`` may use ``command`` (a name from ``bot.permissions``)."""
    if caller_role is None or not may_use(caller_role, command):
        raise NotAllowedError(f"/{command} is not allowed for this chat.")
