"""The two SQL dialects the storage speaks: SQLite (the default) and PostgreSQL (``DATABASE_URL``).

A statement that differs between them picks its text with ``Dialect.pick`` where it is written; placeholders are
always ``?`` in our SQL and become ``$1, $2, …`` for PostgreSQL in ``numbered_placeholders``.
"""

from __future__ import annotations

import enum
import functools


class Dialect(enum.StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"

    def pick(self, *, sqlite: str, postgresql: str) -> str:
        """The text of one statement (or fragment) in this dialect."""
        return sqlite if self is Dialect.SQLITE else postgresql


@functools.lru_cache(maxsize=1024)
def numbered_placeholders(sql: str) -> str:
    """``?`` → ``$1, $2, …`` outside quoted literals and identifiers (``'?'`` and ``"?"`` stay as they are)."""
    out: list[str] = []
    number = 0
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
        elif char == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(char)
    return "".join(out)
