"""Errors raised by the storage layer.

Callers catch a precise leaf; the tree::

    StorageError                    anything raised on purpose by ``storage``
    ├── SchemaTooNewError           the file was written by a newer smsrelay: refused, never used
    ├── MigrationError              a migration file is misnamed, missing, or failed (nothing half-applied)
    ├── NotFoundError               a write named a row that does not exist (also a ``LookupError``)
    ├── InvalidTransitionError      a message status change the rules forbid (also a ``ValueError``)
    ├── LastAdminError              removing or demoting the only admin (also a ``ValueError``)
    ├── DuplicateRequestError       the Telegram update asking for a spend was already carried out
    ├── LeaseLostError              another process became the active one: this one must not send (``lease.py``)
    └── DatabaseUnavailableError    DATABASE_URL is malformed, refused, or lacks rights (one line, no password)

Driver errors pass through unchanged: ``sqlite3.IntegrityError`` / ``asyncpg.IntegrityConstraintViolationError``
for a broken constraint, ``sqlite3.OperationalError`` when another process held the write lock too long.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of the errors the storage layer raises itself."""


class SchemaTooNewError(StorageError):
    """The database was migrated by a newer program; using it could corrupt data this one does not know."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"database schema version {found} is newer than this program knows ({known}); "
            "upgrade smsrelay or use another database (DATABASE_PATH or DATABASE_URL)"
        )
        self.found = found
        self.known = known


class MigrationError(StorageError):
    """A migration could not be loaded or applied; the database keeps the version it had before that file."""


class NotFoundError(StorageError, LookupError):
    """A write named a row (message, bulk job) that does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} does not exist")
        self.kind = kind
        self.key = key


class InvalidTransitionError(StorageError, ValueError):
    """A message may not go from ``current`` to ``requested`` (a delivered SMS cannot become pending)."""

    def __init__(self, current: str, requested: str, message_id: int | None = None) -> None:
        which = f"message {message_id}" if message_id is not None else "a message"
        super().__init__(f"{which} cannot go from {current} to {requested}")
        self.current = current
        self.requested = requested
        self.message_id = message_id


class LastAdminError(StorageError, ValueError):
    """The change would leave no admin chat, so nobody could manage access any more."""

    def __init__(self, chat_id: int) -> None:
        super().__init__(f"chat {chat_id} is the last admin; make another chat admin first")
        self.chat_id = chat_id


class DuplicateRequestError(StorageError):
    """The update with this identity was already recorded: a repeated delivery, nothing may be stored again."""

    def __init__(self, key: str) -> None:
        super().__init__(f"request {key} was already carried out")
        self.key = key


class LeaseLostError(StorageError):
    """A newer active process took the lease (its epoch is in ``ha_lease``): claims and records of this one fail."""


class DatabaseUnavailableError(StorageError):
    """The database named by DATABASE_URL cannot be used; the text is one line and never holds the password."""
