"""Telegram's HTML parse mode, checked as strictly as Telegram does, so careless formatting fails in tests.

The fake Bot API server refuses what Telegram refuses, in Telegram's words, so that a reply which would bounce
in production (an unknown tag, a stray ``<`` from user input) also bounces in a test. The parser follows
TDLib's ``parse_html`` (allowed tags, attributes, error texts, byte offsets) with one deliberate difference:
an ``&`` that does not start ``&lt; &gt; &amp; &quot;`` or a numeric entity is refused here, while Telegram
would keep it as text. Our bot must escape whatever users and providers write, and an unescaped ``&`` is the
cheapest sign that it did not (the next such text may contain a ``<``).

Lengths are measured in UTF-16 code units, the unit Telegram counts in (an emoji outside the BMP counts 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_SPACE = " \t\r\n\f\v"


class EntityParseError(ValueError):
    """Not valid Telegram HTML; the message is Telegram's detail, after "can't parse entities: "."""


@dataclass(frozen=True)
class Entity:
    """One MessageEntity as Telegram returns it; offset and length are in UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        for key in ("url", "language", "custom_emoji_id"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True)
class ParsedText:
    """What the user reads (``text``) and how it is formatted (``entities``)."""

    text: str
    entities: tuple[Entity, ...] = ()


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int
    byte_offset: int
    text_start: int  # index into the output list, to recover the text an <a> without href wraps
    language: str | None = field(default=None)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, index: int) -> tuple[str, int] | None:
    """The character an entity at ``index`` stands for and the index after it, or None if it is not one."""
    match = _ENTITY_RE.match(source, index)
    if match is None:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        char = _NAMED_ENTITIES.get(name)
        return None if char is None else (char, match.end())
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _skip_spaces(source: str, index: int) -> int:
    while index < len(source) and source[index] in _SPACE:
        index += 1
    return index


def _read_attribute_value(source: str, index: int) -> tuple[str, int]:
    """A quoted or bare attribute value at ``index``: entities decoded, a stray ``&`` kept (as TDLib)."""
    if index < len(source) and source[index] in "\"'":
        quote = source[index]
        end = source.find(quote, index + 1)
        end = len(source) if end < 0 else end
        raw = source[index + 1 : end]
        index = min(end + 1, len(source))
    else:
        start = index
        while index < len(source) and (source[index].isalnum() or source[index] in ".-"):
            index += 1
        raw = source[start:index].lower()
    return _ENTITY_RE.sub(_decode_match, raw), index


def _decode_match(match: re.Match[str]) -> str:
    decoded = _decode_entity(match.group(0), 0)
    return match.group(0) if decoded is None else decoded[0]


def _read_start_tag(source: str, begin: int, offset: int, text_start: int) -> tuple[_OpenTag, int]:
    at = _byte_offset(source, begin)
    index = begin + 1
    while index < len(source) and source[index] not in _SPACE and source[index] != ">":
        index += 1
    if index >= len(source):
        raise EntityParseError(f"Unclosed start tag at byte offset {at}")
    name = source[begin + 1 : index].lower()
    if name not in ALLOWED_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at}')
    argument = ""
    while True:
        index = _skip_spaces(source, index)
        if index >= len(source):
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {at}')
        if source[index] == ">":
            break
        attr_start = index
        while index < len(source) and source[index] not in _SPACE and source[index] not in "=>":
            index += 1
        attribute = source[attr_start:index].lower()
        if not attribute:
            raise EntityParseError(f'Empty attribute name in the tag "{name}" at byte offset {at}')
        index = _skip_spaces(source, index)
        if index >= len(source):
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {at}')
        if source[index] != "=":
            if name == "blockquote" and attribute == "expandable":
                argument = "expandable"
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" at byte offset {at}'
            )
        value, index = _read_attribute_value(source, _skip_spaces(source, index + 1))
        if name == "a" and attribute == "href":
            argument = value
        elif name == "span" and attribute == "class" and value.startswith("tg-"):
            argument = value[3:]
        elif name == "code" and attribute == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif name == "tg-emoji" and attribute == "emoji-id":
            argument = value
    if name == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    return _OpenTag(name, argument, offset, at, text_start), index + 1


def _read_end_tag(source: str, begin: int) -> tuple[str, int]:
    at = _byte_offset(source, begin)
    index = begin + 2
    while index < len(source) and source[index] not in _SPACE and source[index] != ">":
        index += 1
    name = source[begin + 2 : index].lower()
    index = _skip_spaces(source, index)
    if index >= len(source) or source[index] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {at}")
    return name, index + 1


def _entity_for(tag: _OpenTag, end: int, inner_text: str) -> Entity | None:
    length = end - tag.offset
    if length <= 0:
        return None
    kind = _ENTITY_TYPES[tag.name]
    if tag.name == "a":
        return Entity(kind, tag.offset, length, url=tag.argument or inner_text)
    if tag.name == "pre":
        return Entity(kind, tag.offset, length, language=tag.language)
    if tag.name == "blockquote" and tag.argument == "expandable":
        return Entity("expandable_blockquote", tag.offset, length)
    if tag.name == "tg-emoji":
        return Entity(kind, tag.offset, length, custom_emoji_id=tag.argument) if tag.argument else None
    return Entity(kind, tag.offset, length)


def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML into plain text and entities, or raise ``EntityParseError`` as Telegram would."""
    out: list[str] = []
    units = 0
    open_tags: list[_OpenTag] = []
    entities: list[Entity] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "&":
            decoded = _decode_entity(source, index)
            if decoded is None:
                at = _byte_offset(source, index)
                raise EntityParseError(f'Character "&" must be escaped as "&amp;" at byte offset {at}')
            out.append(decoded[0])
            units += utf16_len(decoded[0])
            index = decoded[1]
        elif char != "<":
            out.append(char)
            units += 2 if ord(char) > 0xFFFF else 1
            index += 1
        elif source.startswith("</", index):
            if not open_tags:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(source, index)}")
            at = _byte_offset(source, index)
            name, index = _read_end_tag(source, index)
            tag = open_tags.pop()
            if name and name != tag.name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {at}, expected "</{tag.name}>", found "</{name}>"'
                )
            if tag.name == "code" and tag.argument and open_tags and open_tags[-1].name == "pre":
                # <pre><code class="language-x"> is one pre entity with a language, as Telegram reports it.
                open_tags[-1].language = tag.argument
                continue
            entity = _entity_for(tag, units, "".join(out[tag.text_start :]))
            if entity is not None:
                entities.append(entity)
        else:
            tag, index = _read_start_tag(source, index, units, len(out))
            open_tags.append(tag)
    if open_tags:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1].name}"')
    entities.sort(key=lambda e: (e.offset, -e.length))
    return ParsedText("".join(out), tuple(entities))


def strip_text(parsed: ParsedText) -> ParsedText:
    """Drop leading and trailing whitespace like Telegram does, moving the entities along with the text."""
    stripped = parsed.text.strip()
    if stripped == parsed.text:
        return parsed
    lead = utf16_len(parsed.text[: len(parsed.text) - len(parsed.text.lstrip())])
    limit = lead + utf16_len(stripped)
    entities = []
    for entity in parsed.entities:
        start, end = max(entity.offset, lead), min(entity.offset + entity.length, limit)
        if end > start:
            entities.append(
                Entity(
                    entity.type,
                    start - lead,
                    end - start,
                    entity.url,
                    entity.language,
                    entity.custom_emoji_id,
                )
            )
    return ParsedText(stripped, tuple(entities))
