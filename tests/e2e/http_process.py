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
