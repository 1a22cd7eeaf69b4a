"""``DATABASE_URL`` as smsrelay reads it: which URLs mean PostgreSQL, and the URL as it may be shown (no password)."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

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
    query = "&".join(
        f"{name}=***" if name.lower() == "password" else f"{name}={value}"
        for name, _, value in (field.partition("=") for field in parts.query.split("&") if field)
    )
    if password:
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[-1]
        parts = parts._replace(netloc=f"{user}:***@{host}")
    return urlunsplit(parts._replace(query=query))


def hide_password(text: str, url: str) -> str:
    """``text`` with the URL, and its password wherever it appears on its own, made safe to print."""
    text = text.replace(url, safe_url(url))
    for password in passwords_in(url):
        text = text.replace(password, "***")
    return text


def one_line_reason(error: BaseException, url: str) -> str:
    """A driver's words about ``url`` on one line, with its password taken out wherever it was quoted."""
    return hide_password(" ".join(str(error).split()) or type(error).__name__, url)


def passwords_in(url: str) -> list[str]:
    """The password of the URL's user part (as written and decoded), and any ``password=`` in its query string."""
    try:
        parts = urlsplit(url)
        found = [parts.password, unquote(parts.password)] if parts.password else []
    except ValueError:
        return []
    found += [value for name, value in parse_qsl(parts.query) if name.lower() == "password" and value]
    return list(dict.fromkeys(found))
