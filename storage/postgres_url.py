"""``DATABASE_URL`` as smsrelay reads it: which URLs mean PostgreSQL, and the URL as it may be shown (no password)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("postgresql", "postgres")


def is_postgres_url(text: str) -> bool:
    return text.split("://", 1)[0].lower() in SCHEMES and "://" in text


def safe_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (and as it was when it cannot be read as a URL at all)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unreadable URL>"
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def hide_password(text: str, url: str) -> str:
    """``text`` with the URL, and its password wherever it appears on its own, made safe to print."""
    text = text.replace(url, safe_url(url))
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return text.replace(password, "***") if password else text
