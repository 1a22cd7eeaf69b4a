"""The fake Telegram Bot API server behaves like Telegram where our tests depend on it.

Everything goes over real HTTP: raw httpx calls for the refusals and polling semantics, and one real
python-telegram-bot ``Application`` for the end-to-end path (command, button, document download).
"""

from __future__ import annotations

import asyncio
import html
import json
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_server import FakeTelegram

CHAT = 42
PARSE_ERROR = "Bad Request: can't parse entities: "
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
KEYBOARD = {"inline_keyboard": [[{"text": "Ping", "callback_data": "ping"}]]}


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def client(telegram: FakeTelegram) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{telegram.base_url}{telegram.token}/", timeout=10) as http:
        yield http


async def call(client: httpx.AsyncClient, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """A urlencoded call the way python-telegram-bot makes it: strings as they are, the rest as JSON."""
    form = {key: value if isinstance(value, str) else json.dumps(value) for key, value in params.items()}
    response = await client.post(method, data=form)
    return response.status_code, response.json()


async def send_html(client: httpx.AsyncClient, text: str, **params: Any) -> tuple[int, dict[str, Any]]:
    return await call(client, "sendMessage", chat_id=CHAT, text=text, parse_mode="HTML", **params)


# --- HTML parse mode ---------------------------------------------------------------------------------------


async def test_html_accepts_every_allowed_tag_nested_and_reports_entities(client: httpx.AsyncClient) -> None:
    text = (
        "<b>b</b><strong>st</strong><i>i</i><em>em</em><u>u</u><ins>in</ins><s>s</s><strike>sk</strike>"
        '<del>d</del><span class="tg-spoiler">sp</span><tg-spoiler>ts</tg-spoiler>'
        '<a href="https://example.com/?a=1&amp;b=2">link</a><code>c</code>'
        '<pre><code class="language-python">x = 1</code></pre><blockquote>q</blockquote>'
        '<blockquote expandable>e</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        "<B>one <i>two <u>three <s>four <tg-spoiler>five</tg-spoiler></s></u></i></B>"
        " &lt;&gt;&amp;&quot;&#65;&#x1F600;"
    )
    status, body = await send_html(client, text)

    assert status == 200, body
    message = body["result"]
    assert message["text"] == 'bstiemuinsskdsptslinkcx = 1qe👍one two three four five <>&"A😀'
    kinds = {entity["type"] for entity in message["entities"]}
    assert kinds == {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "text_link",
        "code",
        "pre",
        "blockquote",
        "expandable_blockquote",
        "custom_emoji",
    }
    link = next(e for e in message["entities"] if e["type"] == "text_link")
    assert link["url"] == "https://example.com/?a=1&b=2"
    assert next(e for e in message["entities"] if e["type"] == "pre")["language"] == "python"
    emoji = next(e for e in message["entities"] if e["type"] == "custom_emoji")
    assert emoji["length"] == 2  # one emoji outside the BMP is two UTF-16 code units


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("AT&T", 'Character "&" must be escaped as "&amp;" at byte offset 2'),
        ("a &nbsp; b", 'Character "&" must be escaped as "&amp;" at byte offset 2'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("é<b", "Unclosed start tag at byte offset 2"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            '<a href="x" title>y</a>',
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
    ],
)
async def test_html_refuses_what_telegram_refuses(
    telegram: FakeTelegram, client: httpx.AsyncClient, text: str, detail: str
) -> None:
    status, body = await send_html(client, text)

    assert (status, body["description"]) == (400, PARSE_ERROR + detail)
    assert (body["ok"], body["error_code"]) == (False, 400)
    assert telegram.messages(CHAT) == []
    assert [r.description for r in telegram.refusals("sendMessage")] == [PARSE_ERROR + detail]


@pytest.mark.parametrize("text", ["<b> </b>", "   ", ""])
async def test_text_empty_after_parsing_is_refused(client: httpx.AsyncClient, text: str) -> None:
    status, body = await send_html(client, text)

    assert (status, body["description"]) == (400, "Bad Request: message text is empty")


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("x" * 4096, True),
        ("x" * 4097, False),
        ("<b>" + "x" * 4096 + "</b>", True),  # tags are not text
        ("&amp;" * 4096, True),  # an entity is one character
        ("😀" * 2048, True),  # 4096 UTF-16 code units
        ("😀" * 2048 + "x", False),
    ],
)
async def test_message_length_is_counted_in_utf16_after_parsing(
    client: httpx.AsyncClient, text: str, accepted: bool
) -> None:
    status, body = await send_html(client, text)

    if accepted:
        assert status == 200, body["description"] if status != 200 else ""
    else:
        assert (status, body["description"]) == (400, "Bad Request: message is too long")


@pytest.mark.parametrize(("length", "accepted"), [(1024, True), (1025, False)])
async def test_document_caption_limit_is_1024(
    telegram: FakeTelegram, client: httpx.AsyncClient, length: int, accepted: bool
) -> None:
    response = await client.post(
        "sendDocument",
        data={"chat_id": str(CHAT), "caption": "<i>" + "c" * length + "</i>", "parse_mode": "HTML"},
        files={"document": ("report.csv", b"a,b\r\n1,2\r\n", "text/csv")},
    )

    if accepted:
        assert response.status_code == 200, response.text
        document = telegram.last_message(CHAT).document
        assert document is not None
        assert (document.file_name, document.content, document.mime_type) == (
            "report.csv",
            b"a,b\r\n1,2\r\n",
            "text/csv",
        )
        assert response.json()["result"]["caption"] == "c" * length
    else:
        assert (response.status_code, response.json()["description"]) == (
            400,
            "Bad Request: message caption is too long",
        )


def tiny_png(width: int, height: int) -> bytes:
    """A valid PNG of one white RGB image, written by hand so the fake is tested without the bot's chart code."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff" * 3 * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


async def test_send_photo_takes_an_uploaded_png_and_answers_with_its_size(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    png = tiny_png(64, 32)
    response = await client.post(
        "sendPhoto",
        data={"chat_id": str(CHAT), "caption": "<b>Units</b> per day", "parse_mode": "HTML"},
        files={"photo": ("usage.png", png, "image/png")},
    )

    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["caption"] == "Units per day" and "document" not in result
    [size] = result["photo"]
    assert (size["width"], size["height"], size["file_size"]) == (64, 32, len(png))
    sent = telegram.last_message(CHAT)
    assert sent.photo is not None and sent.photo.content == png and sent.document is None


@pytest.mark.parametrize(
    ("content", "description"),
    [
        (b"a,b\r\n1,2\r\n", "Bad Request: IMAGE_PROCESS_FAILED"),
        (tiny_png(400, 10), "Bad Request: PHOTO_INVALID_DIMENSIONS"),
    ],
)
async def test_send_photo_refuses_what_is_not_a_usable_image(
    telegram: FakeTelegram, client: httpx.AsyncClient, content: bytes, description: str
) -> None:
    response = await client.post(
        "sendPhoto", data={"chat_id": str(CHAT)}, files={"photo": ("usage.png", content, "image/png")}
    )
    assert (response.status_code, response.json()["description"]) == (400, description)
    assert telegram.messages(CHAT) == []


# --- edits, keyboards, blocking, injected failures ---------------------------------------------------------


async def test_edit_that_changes_nothing_is_refused_as_not_modified(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    _, sent = await send_html(client, "<b>Total</b>: 3", reply_markup=KEYBOARD)
    message_id = sent["result"]["message_id"]
    edit = {"chat_id": CHAT, "message_id": message_id, "parse_mode": "HTML"}

    same = await call(client, "editMessageText", text="<strong>Total</strong>: 3", reply_markup=KEYBOARD, **edit)
    markup_same = await call(
        client, "editMessageReplyMarkup", chat_id=CHAT, message_id=message_id, reply_markup=KEYBOARD
    )
    new_text = await call(client, "editMessageText", text="<b>Total</b>: 4", reply_markup=KEYBOARD, **edit)
    missing = await call(client, "editMessageText", text="x", chat_id=CHAT, message_id=999)

    assert same == (400, {"ok": False, "error_code": 400, "description": NOT_MODIFIED})
    assert markup_same[1]["description"] == NOT_MODIFIED
    assert new_text[0] == 200
    assert missing[1]["description"] == "Bad Request: message to edit not found"
    current = telegram.last_message(CHAT)
    assert (current.text, [v.text for v in current.history]) == ("Total: 4", ["Total: 3"])


async def test_edit_without_markup_removes_the_keyboard_so_its_button_cannot_be_pressed(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    _, sent = await send_html(client, "Send?", reply_markup=KEYBOARD)
    message_id = sent["result"]["message_id"]
    query_id = telegram.press_button(CHAT, message_id, "ping")

    status, _ = await call(client, "editMessageText", chat_id=CHAT, message_id=message_id, text="Sent.")

    assert status == 200
    assert telegram.last_message(CHAT).buttons == ()
    with pytest.raises(AssertionError, match="no button with callback_data 'ping'"):
        telegram.press_button(CHAT, message_id, "ping")
    update = telegram.pending_updates()[-1]["callback_query"]
    assert (update["id"], update["data"], update["from"]["id"]) == (query_id, "ping", CHAT)
    assert update["message"]["reply_markup"] == KEYBOARD


@pytest.mark.parametrize(("data", "accepted"), [("é" * 32, True), ("é" * 32 + "x", False), ("", False)])
async def test_callback_data_is_limited_to_64_bytes(client: httpx.AsyncClient, data: str, accepted: bool) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": data}]]}

    status, body = await send_html(client, "Choose", reply_markup=markup)

    assert status == (200 if accepted else 400)
    if not accepted:
        assert body["description"] == "Bad Request: BUTTON_DATA_INVALID"


async def test_blocked_chat_gets_forbidden_and_others_do_not(telegram: FakeTelegram, client: httpx.AsyncClient) -> None:
    telegram.block_chat(CHAT)

    blocked = await call(client, "sendMessage", chat_id=CHAT, text="hi")
    other = await call(client, "sendMessage", chat_id=CHAT + 1, text="hi")

    assert blocked == (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    assert other[0] == 200


async def test_injected_failure_is_answered_count_times_then_calls_succeed(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    telegram.fail_next("sendmessage", status=429, retry_after=3, count=2)

    results = [await call(client, "sendMessage", chat_id=CHAT, text=f"try {n}") for n in range(3)]

    assert results[0] == results[1]
    assert results[0] == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        },
    )
    assert results[2][0] == 200
    assert [m.text for m in telegram.messages(CHAT)] == ["try 2"]
    assert len(telegram.requests("sendMessage")) == 3


async def test_held_method_is_recorded_at_once_and_answered_only_when_released(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    hold = telegram.hold("sendmessage", chat_id=CHAT)

    held = asyncio.create_task(call(client, "sendMessage", chat_id=CHAT, text="held"))
    await telegram.wait_for_request("sendMessage", lambda r: r.chat_id == CHAT)
    other = await call(client, "sendMessage", chat_id=CHAT + 1, text="not held")  # other chats go on

    assert other[0] == 200
    assert hold.waiting == 1 and not held.done()
    assert telegram.messages(CHAT) == []
    hold.release()
    status, body = await held
    assert status == 200 and body["result"]["text"] == "held"
    assert hold.waiting == 0 and hold.arrived == 1
    assert [m.text for m in telegram.messages(CHAT)] == ["held"]


async def test_outage_refuses_connections_cuts_long_polls_and_comes_back_on_the_same_port(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    port = telegram.port
    poll = asyncio.create_task(call(client, "getUpdates", timeout=30))
    await telegram.wait_for_request("getUpdates")
    with telegram.outage():
        with pytest.raises(httpx.TransportError):
            await poll  # the held long poll is cut, not answered
        with pytest.raises(httpx.ConnectError):
            await call(client, "getMe")
        telegram.send_text(CHAT, "typed while Telegram was unreachable")
    assert telegram.port == port
    status, body = await call(client, "getUpdates", timeout=0)
    assert status == 200 and [u["message"]["text"] for u in body["result"]] == ["typed while Telegram was unreachable"]


async def test_token_and_method_are_checked_like_telegram(telegram: FakeTelegram) -> None:
    async with httpx.AsyncClient() as http:
        quoted = await http.post(f"{telegram.base_url}{telegram.token.replace(':', '%3A')}/getMe")
        wrong = await http.post(f"{telegram.base_url}999:WRONG/getMe")
        unknown = await http.post(f"{telegram.base_url}{telegram.token}/sendPigeon")

    assert quoted.json()["result"]["username"] == telegram.bot_user.username
    assert (wrong.status_code, wrong.json()["description"]) == (401, "Unauthorized")
    assert unknown.status_code == 400  # never 404: python-telegram-bot reads 404 as an invalid token


async def test_parameters_arrive_the_same_in_every_encoding(telegram: FakeTelegram, client: httpx.AsyncClient) -> None:
    no_body = await client.post("getMe")
    form = await call(client, "sendMessage", chat_id=CHAT, text="form", reply_markup=KEYBOARD)
    as_json = await client.post("sendMessage", json={"chat_id": CHAT, "text": "json", "reply_markup": KEYBOARD})
    query = await client.get("sendMessage", params={"chat_id": str(CHAT), "text": "query"})
    multipart = await client.post(
        "sendDocument",
        data={"chat_id": str(CHAT), "caption": "multi"},
        files={"document": ("a.txt", b"\r\n--x\r\n")},
    )

    assert [no_body.status_code, form[0], as_json.status_code, query.status_code, multipart.status_code] == [200] * 5
    sends = telegram.requests("sendMessage")
    assert [(r.params["chat_id"], r.params["text"]) for r in sends] == [
        (CHAT, "form"),
        (CHAT, "json"),
        (CHAT, "query"),
    ]
    assert sends[0].params["reply_markup"] == sends[1].params["reply_markup"] == KEYBOARD
    document = telegram.last_message(CHAT).document
    assert document is not None
    assert document.content == b"\r\n--x\r\n"


# --- getUpdates --------------------------------------------------------------------------------------------


async def test_get_updates_with_timeout_zero_answers_at_once(client: httpx.AsyncClient) -> None:
    started = time.monotonic()

    status, body = await call(client, "getUpdates", timeout=0)

    assert (status, body["result"]) == (200, [])
    assert time.monotonic() - started < 0.5


async def test_empty_poll_is_held_for_its_timeout(client: httpx.AsyncClient) -> None:
    started = time.monotonic()

    _, body = await call(client, "getUpdates", timeout=1)

    assert body["result"] == []
    assert 0.9 <= time.monotonic() - started < 2.5


async def test_held_poll_is_answered_as_soon_as_an_update_arrives(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    poll = asyncio.create_task(call(client, "getUpdates", timeout=10))
    await telegram.wait_for_request("getUpdates")
    await asyncio.sleep(0.2)
    assert not poll.done()  # held, not answered empty

    started = time.monotonic()
    telegram.send_text(CHAT, "/start@smsrelay_test_bot now")
    _, body = await poll

    assert time.monotonic() - started < 1.0
    message = body["result"][0]["message"]
    assert message["text"] == "/start@smsrelay_test_bot now"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 24}]
    assert (message["chat"]["type"], message["from"]["id"]) == ("private", CHAT)


async def test_offset_confirms_earlier_updates_and_limit_caps_the_batch(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    for text in ("one", "two", "three"):
        telegram.send_text(CHAT, text)

    _, first = await call(client, "getUpdates", timeout=0, limit=2)
    ids = [update["update_id"] for update in first["result"]]
    _, again = await call(client, "getUpdates", timeout=0, offset=ids[1])
    _, rest = await call(client, "getUpdates", timeout=0, offset=again["result"][-1]["update_id"] + 1)

    assert len(ids) == 2
    assert [u["message"]["text"] for u in again["result"]] == ["two", "three"]
    assert rest["result"] == []
    assert telegram.pending_updates() == []


async def test_a_confirmed_update_can_be_redelivered_identically_to_a_bot_starting_at_offset_zero(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    message_id = telegram.send_text(CHAT, "/send 0712345678 hi")
    telegram.send_text(CHAT, "later")
    _, first = await call(client, "getUpdates", timeout=0)
    await call(client, "getUpdates", timeout=0, offset=first["result"][-1]["update_id"] + 1)
    update_id = telegram.update_id_of(CHAT, message_id=message_id)

    assert telegram.redeliver(update_id) == update_id
    _, restarted = await call(client, "getUpdates", timeout=0)

    assert restarted["result"] == [first["result"][0]]


async def test_redelivery_as_new_repeats_the_same_message_under_a_fresh_update_id(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    message_id = telegram.send_text(CHAT, "/send 0712345678 hi")
    _, first = await call(client, "getUpdates", timeout=0)
    [original] = first["result"]
    await call(client, "getUpdates", timeout=0, offset=original["update_id"] + 1)

    new_id = telegram.redeliver(telegram.update_id_of(CHAT, message_id=message_id), as_new=True)
    _, running = await call(client, "getUpdates", timeout=0, offset=original["update_id"] + 1)

    [repeat] = running["result"]
    assert new_id == repeat["update_id"] > original["update_id"]
    assert repeat["message"] == original["message"]


async def test_a_message_can_be_backdated(telegram: FakeTelegram, client: httpx.AsyncClient) -> None:
    typed = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    telegram.send_text(CHAT, "/send 0712345678 hi", date=typed)
    telegram.send_document(CHAT, b"0712345678", "n.csv", caption="/bulk hi", date=typed)

    _, body = await call(client, "getUpdates", timeout=0)

    assert [update["message"]["date"] for update in body["result"]] == [int(typed.timestamp())] * 2


async def test_newer_poll_ends_a_held_one_with_conflict(telegram: FakeTelegram, client: httpx.AsyncClient) -> None:
    held = asyncio.create_task(call(client, "getUpdates", timeout=10))
    await telegram.wait_for_request("getUpdates")

    started = time.monotonic()
    await call(client, "getUpdates", timeout=0)
    status, body = await held

    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates")
    assert time.monotonic() - started < 1.0


async def test_stop_does_not_wait_for_a_held_poll() -> None:
    fake = FakeTelegram().start()
    async with httpx.AsyncClient(base_url=f"{fake.base_url}{fake.token}/", timeout=10) as http:
        poll = asyncio.create_task(http.post("getUpdates", data={"timeout": "30"}))
        await fake.wait_for_request("getUpdates")

        started = time.monotonic()
        await asyncio.to_thread(fake.stop)
        stopped_after = time.monotonic() - started
        outcome = (await asyncio.gather(poll, return_exceptions=True))[0]
        answered_after = time.monotonic() - started

    assert stopped_after < 2.0
    assert answered_after < 2.0  # the client learns at once, not after its own 10 s timeout
    if isinstance(outcome, httpx.Response):
        assert outcome.json()["result"] == []
    else:
        assert isinstance(outcome, httpx.TransportError)


# --- files, commands, replies, waiting ---------------------------------------------------------------------


async def test_get_file_serves_the_document_and_refuses_files_over_20_mb(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    telegram.send_document(CHAT, b"phone\n254700000001\n", "numbers.csv", caption="/bulk hello")
    telegram.send_document(CHAT, b"x" * (20 * 1024 * 1024 + 1), "huge.csv")
    small, huge = (update["message"]["document"] for update in telegram.pending_updates())

    _, found = await call(client, "getFile", file_id=small["file_id"])
    too_big = await call(client, "getFile", file_id=huge["file_id"])
    file_path = found["result"]["file_path"]
    download = await client.get(f"{telegram.base_file_url}{telegram.token}/{file_path}")
    unknown = await client.get(f"{telegram.base_file_url}{telegram.token}/documents/nope.csv")

    assert file_path.startswith("documents/file_")
    assert file_path.endswith(".csv")
    assert (download.status_code, download.content) == (200, b"phone\n254700000001\n")
    assert too_big == (400, {"ok": False, "error_code": 400, "description": "Bad Request: file is too big"})
    assert unknown.status_code == 404
    caption = telegram.pending_updates()[0]["message"]
    assert caption["caption_entities"] == [{"type": "bot_command", "offset": 0, "length": 5}]


async def test_commands_are_stored_per_scope(telegram: FakeTelegram, client: httpx.AsyncClient) -> None:
    admins = {"type": "chat", "chat_id": CHAT}
    everyone = [{"command": "start", "description": "Start"}]
    more = [*everyone, {"command": "allow", "description": "Authorise a chat"}]

    await call(client, "setMyCommands", commands=everyone)
    await call(client, "setMyCommands", commands=more, scope=admins)
    _, read_back = await call(client, "getMyCommands", scope=admins)
    invalid = await call(client, "setMyCommands", commands=[{"command": "Bad-Name", "description": "x"}])

    assert telegram.commands() == everyone
    assert telegram.commands(admins) == more == read_back["result"]
    assert invalid[1]["description"] == "Bad Request: BOT_COMMAND_INVALID"


async def test_reply_to_message_embeds_the_bot_message_replied_to(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    _, sent = await send_html(client, "Which number?")

    telegram.send_text(CHAT, "254700000001", reply_to_message_id=sent["result"]["message_id"])

    replied = telegram.pending_updates()[-1]["message"]["reply_to_message"]
    assert (replied["text"], replied["from"]["is_bot"]) == ("Which number?", True)
    with pytest.raises(AssertionError, match="no message 999"):
        telegram.send_text(CHAT, "x", reply_to_message_id=999)


async def test_wait_for_message_times_out_with_a_dump_of_the_chat(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    await send_html(client, "<b>Balance</b>: 10")
    await send_html(client, "<oops>")

    with pytest.raises(TimeoutError) as caught:
        await telegram.wait_for_message(CHAT, lambda m: "Sent" in m.text, timeout=0.2)

    assert "'Balance: 10'" in str(caught.value)
    assert 'Unsupported start tag "oops"' in str(caught.value)


async def test_wait_for_message_after_mark_sees_only_newer_versions(
    telegram: FakeTelegram, client: httpx.AsyncClient
) -> None:
    _, sent = await send_html(client, "Progress 0/2")
    mark = telegram.mark()
    edit = {"chat_id": CHAT, "message_id": sent["result"]["message_id"]}

    waiter = asyncio.create_task(telegram.wait_for_message(CHAT, after=mark))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await call(client, "editMessageText", text="Progress 1/2", **edit)
    await call(client, "editMessageText", text="Progress 2/2", **edit)

    assert (await waiter).text == "Progress 1/2"  # an intermediate version is not lost to a later edit
    done = await telegram.wait_for_message(CHAT, lambda m: m.text.endswith("2/2"), after=mark)
    assert done.edited
    assert done.seq > mark


# --- the real python-telegram-bot --------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greets with a Ping button."""
    assert update.message is not None
    assert update.effective_user is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Ping", callback_data="ping")]])
    await update.message.reply_text(
        f"<b>Hello</b>, {html.escape(update.effective_user.first_name)}", reply_markup=keyboard
    )


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Repeats the text, escaped."""
    assert update.message is not None
    assert update.message.text is not None
    await update.message.reply_text(html.escape(update.message.text))


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answers the button and replaces the message."""
    query = update.callback_query
    assert query is not None
    await query.answer("pong")
    await query.edit_message_text("Pressed <i>ping</i>")


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Downloads the file and sends it back."""
    assert update.message is not None
    assert update.message.document is not None
    data = await (await update.message.document.get_file()).download_as_bytearray()
    await update.message.reply_document(bytes(data), filename="echo.csv", caption=f"<b>{len(data)}</b> bytes")


async def test_python_telegram_bot_runs_against_the_fake(telegram: FakeTelegram) -> None:
    app = (
        Application.builder()
        .token(telegram.token)
        .base_url(telegram.base_url)
        .base_file_url(telegram.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.Document.ALL, document))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    csv = b"phone\n254700000001\n254700000002\n"

    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)

        mark = telegram.mark()
        telegram.send_text(CHAT, "/start", first_name="Ann & Bo")
        greeting = await telegram.wait_for_message(CHAT, after=mark)
        mark = telegram.mark()
        telegram.press_button(CHAT, greeting.message_id, "ping")
        pressed_reply = await telegram.wait_for_message(CHAT, lambda m: m.edited, after=mark)
        mark = telegram.mark()
        telegram.send_text(CHAT, "a < b & c")
        echoed = await telegram.wait_for_message(CHAT, after=mark)
        mark = telegram.mark()
        telegram.send_document(CHAT, csv, "numbers.csv")
        returned = await telegram.wait_for_message(CHAT, lambda m: m.document is not None, after=mark)

        started = time.monotonic()
        await app.updater.stop()
        await app.stop()
        stopped_after = time.monotonic() - started

    assert (greeting.text, greeting.html, greeting.parse_mode) == (
        "Hello, Ann & Bo",
        "<b>Hello</b>, Ann &amp; Bo",
        "HTML",
    )
    assert (pressed_reply.text, pressed_reply.buttons) == ("Pressed ping", ())
    assert [a.text for a in telegram.callback_answers()] == ["pong"]
    assert echoed.text == "a < b & c"
    assert returned.document is not None
    assert (returned.document.file_name, returned.document.content, returned.text) == (
        "echo.csv",
        csv,
        f"{len(csv)} bytes",
    )
    assert [r.method for r in telegram.requests("getFile")] == ["getFile"]
    assert stopped_after < 3.0
    assert telegram.pending_updates() == []  # the shutdown poll confirmed every update
    # At most the poll that stopping cancelled, ended by the shutdown poll as Telegram would end it.
    assert {(r.method, r.status) for r in telegram.refusals()} <= {("getUpdates", 409)}
