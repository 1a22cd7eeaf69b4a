"""The silences client against a real Alertmanager: a silence made with exact matchers, read back and expired; a
refusal and an unreachable server are one line each, without the URL or its password."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.providers.alertmanager import AlertmanagerClient, AlertmanagerError
from tests.alertmanager_server import Alertmanager
from tests.e2e.http_process import free_port


async def test_a_silence_is_made_read_back_and_expired(alertmanager_binary: Path) -> None:
    with Alertmanager(alertmanager_binary, "http://127.0.0.1:9/nowhere", "token") as alertmanager:
        client = AlertmanagerClient(alertmanager.url.replace("http://", "http://user:secret-pw@"))
        try:
            now = datetime.now(UTC)
            labels = {"alertname": "DiskFull", "instance": "db1:9100"}
            silence_id = await client.create_silence(
                labels, now, now + timedelta(hours=4), created_by="Amina (@amina)", comment="from the chat"
            )
            [silence] = alertmanager.silences()
            assert silence["id"] == silence_id and silence["status"]["state"] == "active"
            assert silence["createdBy"] == "Amina (@amina)" and silence["comment"] == "from the chat"
            assert {(m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in silence["matchers"]} == {
                ("alertname", "DiskFull", True, False),
                ("instance", "db1:9100", True, False),
            }
            await client.expire_silence(silence_id)
            assert [s["status"]["state"] for s in alertmanager.silences()] == ["expired"]

            with pytest.raises(AlertmanagerError) as refused:
                await client.create_silence(labels, now, now - timedelta(hours=1), created_by="x", comment="y")
            said = str(refused.value)
            assert said.startswith("Alertmanager refused (400") and "\n" not in said
            assert "secret-pw" not in said and "127.0.0.1" not in said
        finally:
            await client.aclose()


async def test_an_unreachable_alertmanager_is_one_line_without_its_address() -> None:
    client = AlertmanagerClient(f"http://user:secret-pw@127.0.0.1:{free_port()}")
    try:
        with pytest.raises(AlertmanagerError) as caught:
            await client.expire_silence("abc")
    finally:
        await client.aclose()
    assert str(caught.value) == "Alertmanager could not be reached (no connection)"


async def test_credentials_in_the_url_are_sent_decoded_as_basic_auth() -> None:
    seen: list[str] = []

    class Listener(BaseHTTPRequestHandler):
        def do_DELETE(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = AlertmanagerClient(f"http://bot%40ops:p%40ss%3Aw@127.0.0.1:{server.server_port}/")
    try:
        await client.expire_silence("abc")
    finally:
        await client.aclose()
        server.shutdown()
        server.server_close()
    assert seen == ["Basic " + base64.b64encode(b"bot@ops:p@ss:w").decode()]
