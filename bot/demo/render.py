"""Bot messages as plain text for a terminal: formatting already removed by the stand-in (what a person reads),
buttons listed with the numbers ``:press`` takes, documents shown by name with their first lines."""

from __future__ import annotations

from bot.demo.standin import SentMessage

INDENT = "     "
DOCUMENT_LINES = 8


def render(message: SentMessage, *, chat: str | None) -> str:
    """One message (or edit). ``chat`` names the chat when it is not the one being typed in."""
    where = f"bot → {chat}" if chat else "bot"
    if message.deleted:
        return f"{where} (deleted message #{message.message_id})"
    head = f"{where} (edited #{message.message_id}): " if message.edited else f"{where}: "
    lines = message.text.splitlines() or [""]
    document = message.document
    if document is not None:
        size = f"{len(document.content):,} bytes"
        lines = [f"📎 {document.file_name} ({size})" + (f" — {lines[0]}" if lines[0] else ""), *lines[1:]]
        lines += [f"  | {line}" for line in _document_preview(document.content)]
    out = [head + lines[0], *(INDENT + line for line in lines[1:])]
    buttons = message.buttons
    if buttons:
        out.append(INDENT + "   ".join(f"[{n}] {b.text}" for n, b in enumerate(buttons, 1)) + "   (:press N)")
    return "\n".join(out)


def _document_preview(content: bytes) -> list[str]:
    text = content.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    shown = [line[:200] + ("…" if len(line) > 200 else "") for line in lines[:DOCUMENT_LINES]]
    if len(lines) > DOCUMENT_LINES:
        shown.append(f"… {len(lines) - DOCUMENT_LINES:,} more lines")
    return shown
