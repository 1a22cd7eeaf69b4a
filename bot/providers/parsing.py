"""Readers for the providers' loosely typed JSON: numbers as text (``"0.30"``, ``"KES 0.30"``), phone
numbers in ``07…`` or ``254…`` form, and provider words that must reach a chat without any secret.

They return ``None`` instead of raising, because one odd field must not lose a whole answer.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

PROVIDER_TEXT_LIMIT = 200
# Secrets shorter than this are hidden only where they stand as a whole word (see ``redact``).
WHOLE_WORD_BELOW = 4
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def redact(text: str, secrets: Collection[str]) -> str:
    """Every secret in ``text`` replaced by ``***``; longest first, so a secret holding another goes whole.

    A short value (a three-letter 254sms username) is hidden only where it stands as a whole word: replacing
    ``bob`` everywhere would garble ``bobsleigh``, yet "user bob blocked" must not show the login. Longer
    values are hidden wherever they appear, also inside other text (``key=abcd1234&``).
    """
    for secret in sorted({s for s in secrets if s}, key=lambda s: (-len(s), s)):
        if len(secret) >= WHOLE_WORD_BELOW:
            text = text.replace(secret, "***")
        else:
            # Lookarounds rather than \b: a secret may start or end with a character that is not a word one.
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", "***", text)
    return text


def provider_text(value: object, secrets: Collection[str], limit: int = PROVIDER_TEXT_LIMIT) -> str:
    """The provider's own words, made fit for a chat: one line, shortened, secrets hidden."""
    # Secrets go before shortening: a key cut in half would no longer be recognised.
    text = " ".join(redact(str(value), secrets).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def sentence(text: str) -> str:
    """``text`` ending like a sentence, so more can follow it."""
    return text if text.endswith((".", "!", "?", "…")) else text + "."


_SENDER_ID = re.compile(r"sender\s*[-_ ]?\s*(?:id|name)\b", re.IGNORECASE)
_SENDER_REFUSED = re.compile(
    r"invalid|unknown|unregistered|unauthori[sz]ed|inactive|denied"
    r"|not\s+(?:valid|registered|allowed|approved|found|active|permitted)",
    re.IGNORECASE,
)


def refuses_sender_id(text: str) -> bool:
    """Whether a provider's words say the sender id is not usable ("Invalid sender id ACME")."""
    return _SENDER_ID.search(text) is not None and _SENDER_REFUSED.search(text) is not None


def to_decimal(value: object) -> Decimal | None:
    """``0.3``, ``"0.30"``, ``"KES 0.30"``, ``"1,234"`` or ``"92 credits"`` as a Decimal, else ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as this float: 0.3 stays 0.3, not 0.2999…
        return Decimal(repr(value))
    if isinstance(value, str):
        match = _NUMBER.search(value.replace(",", ""))
        if match is None:
            return None
        try:
            return Decimal(match.group())
        except InvalidOperation:  # pragma: no cover - the pattern only matches valid numbers
            return None
    return None


def to_int(value: object) -> int | None:
    number = to_decimal(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def to_text(value: object) -> str | None:
    """A scalar as text (``""`` stays ``""``); ``None`` for null, objects and lists."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def first(item: dict[str, Any], fields: Sequence[str]) -> Any:
    """The first of ``fields`` that ``item`` fills, or ``None``."""
    return next((item[f] for f in fields if item.get(f) not in (None, "")), None)


_NON_DIGITS = re.compile(r"\D")


def number_key(value: object) -> str:
    """A phone number cut to its last nine digits, so ``0712…``, ``254712…``, ``+254 712…`` compare equal."""
    text = value if isinstance(value, str) else str(value)
    digits = text if text.isdigit() else _NON_DIGITS.sub("", text)  # bulk answers: thousands per second
    return digits[-9:] if len(digits) >= 9 else digits
