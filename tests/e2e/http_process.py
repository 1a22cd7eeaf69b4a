"""Helpers for tests of ``python -m bot`` with its HTTP server: a free loopback port, waiting for an answer."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import httpx


def free_port() -> int:
    """A port nobody listens on right now (the bot binds it a moment later; WEBHOOK_URL must name it up front)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for_answer(
    url: str, accept: Callable[[httpx.Response], bool], timeout: float, what: str
) -> httpx.Response:
    """GET ``url`` until ``accept`` holds (connection errors while the bot starts count as not yet)."""
    last: object = None
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        for _ in range(int(timeout / 0.1)):
            try:
                answer = await client.get(url)
                last = (answer.status_code, answer.text)
                if accept(answer):
                    return answer
            except httpx.HTTPError as exc:
                last = exc
            await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last answer: {last!r}")


# A notification byte for byte as Alertmanager's webhook notifier writes it (notify/webhook/webhook.go: Message =
# template.Data embedded, then version, groupKey, truncatedAlerts; Go's encoder: struct field order, sorted map
# keys, <>& escaped as \u003c\u003e\u0026, RFC 3339 with nanoseconds, the zero time as endsAt of a firing alert,
# a trailing newline). Grouped by alertname with max_alerts: 2, so two of four alerts were left out.
ALERTMANAGER_BODY = (
    rb'{"receiver":"smsrelay","status":"firing","alerts":['
    rb'{"status":"firing","labels":{"alertname":"DiskFull","device":"/dev/sda1","instance":"db1:9100",'
    rb'"job":"node","severity":"warning"},"annotations":{"description":"/ on db1 \u003e 95% \u0026 rising",'
    rb'"summary":"Disk / on db1 is 97% full"},"startsAt":"2026-11-28T09:15:00.123456789Z",'
    rb'"endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph?g0.expr=node_filesystem'
    rb'\u0026g0.tab=1","fingerprint":"5d5b2c8a41e0f7b3"},'
    rb'{"status":"resolved","labels":{"alertname":"DiskFull","device":"/dev/sdb1","instance":"db2:9100",'
    rb'"job":"node","severity":"warning"},"annotations":{"summary":"Disk / on db2 is 96% full"},'
    rb'"startsAt":"2026-11-28T11:40:12.5+03:00","endsAt":"2026-11-28T12:01:12.5+03:00",'
    rb'"generatorURL":"http://prometheus:9090/graph?g0.expr=node_filesystem\u0026g0.tab=1",'
    rb'"fingerprint":"a0c3e94b27d1f865"}],'
    rb'"notification_reason":"new alerts added","groupLabels":{"alertname":"DiskFull"},'
    rb'"commonLabels":{"alertname":"DiskFull","job":"node","severity":"warning"},"commonAnnotations":{},'
    rb'"routeLabels":{},"externalURL":"http://alertmanager:9093","version":"4",'
    rb'"groupKey":"{}/{severity=\"warning\"}:{alertname=\"DiskFull\"}","truncatedAlerts":2}'
    b"\n"
)
