"""Telegram's limits, parameter checks and refusal texts, shared by the fake's Bot API methods.

The texts are Telegram's own where we know them, so a test asserting on a refusal asserts on what
production would say. What the fake does not support is refused with a description saying so, never
silently accepted.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.telegram_html import Entity, EntityParseError, ParsedText, parse_html, strip_text, utf16_len
from tests.fakes.telegram_wire import ApiError

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
_TEXT_BUTTON = "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")

Params = dict[str, Any]


def int_param(params: Params, name: str, default: int | None = None) -> int:
    value = params.get(name, default)
    if value is None or value == "":
        raise ApiError(400, f"Bad Request: {name} is empty")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f'Bad Request: field "{name}" must be of type Integer')
    return int(value)


def chat_id_param(params: Params) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "Bad Request: chat not found")
    return value


def message_id_param(params: Params) -> int:
    if params.get("message_id") in (None, ""):
        raise ApiError(400, "Bad Request: message identifier is not specified")
    return int_param(params, "message_id")


def explicit_entities(value: Any) -> tuple[Entity, ...]:
    if not value:
        return ()
    try:
        return tuple(
            Entity(e["type"], int(e["offset"]), int(e["length"]), e.get("url"), e.get("language")) for e in value
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(400, "Bad Request: can't parse entities JSON object") from exc


def format_text(text: str, parse_mode: Any, entities: Any, *, caption: bool) -> ParsedText:
    """The text the user will read, or Telegram's refusal of it."""
    mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
    if mode == "html":
        try:
            parsed = parse_html(text)
        except EntityParseError as exc:
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
    elif mode:
        raise ApiError(400, "Bad Request: unsupported parse_mode")  # the fake speaks HTML only
    else:
        parsed = ParsedText(text, explicit_entities(entities))
    parsed = strip_text(parsed)
    if caption:
        if utf16_len(parsed.text) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
    elif not parsed.text:
        raise ApiError(400, "Bad Request: message text is empty")
    elif utf16_len(parsed.text) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")
    return parsed


def check_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # a reply keyboard or its removal: recorded as sent, never part of the message
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array of Arrays')
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise ApiError(400, 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String')
        data = button.get("callback_data")
        if data is not None:
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        elif not any(key in button for key in _BUTTON_ACTIONS):
            raise ApiError(400, _TEXT_BUTTON)
    return markup


def inline_markup(markup: Any) -> Any:
    """The part of a markup that belongs to the message: only an inline keyboard does."""
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
