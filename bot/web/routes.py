"""The HTTP endpoints: ``/healthz``, ``/readyz``, ``/metrics``, the alert intake and the Telegram webhook.

Inbound adapters only: each reads the request, calls a service (or the Application's update queue) and answers.
Bodies are read up to ``MAX_BODY_BYTES`` and refused beyond it; tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.web.alert_intake import AlertIntake
from bot.web.alert_payload import PayloadError, parse_alertmanager, parse_plain
from bot.web.health import check_health
from bot.web.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from bot.web.server import WebSide

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_048_576  # a big Alertmanager group is ~100 kB; Telegram updates are a few kB
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


IntakeHandler = Callable[[Request, AlertIntake], Awaitable[Response]]


class BodyTooLarge(Exception):
    pass


async def read_capped(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _problem(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


def build_routes(web: WebSide) -> list[Route]:
    settings = web.settings

    async def healthz(request: Request) -> Response:
        services = web.application.bot_data.services if web.application.bot_data.ready else None
        health = await check_health(services, web.contact, settings.health_stale_seconds)
        return JSONResponse(health.as_json(), status_code=200 if health.ok else 503)

    async def readyz(request: Request) -> Response:
        # Only the active process serves these routes (a standby serves bot/web/standby.py's); not running yet
        # (post_init done, polling not started) or any more (a stop signal came): let the load balancer look away.
        if web.application.bot_data.ready and web.application.running:
            return JSONResponse({"status": "active"})
        return JSONResponse({"status": "not running"}, status_code=503)

    async def metrics(request: Request) -> Response:
        web.metrics.active.set(1 if web.application.bot_data.ready and web.application.running else 0)
        if web.application.bot_data.ready:
            await web.refresh_gauges(web.application.bot_data.services)
        return Response(web.metrics.render(), media_type=CONTENT_TYPE)

    def authorised(handler: IntakeHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            token = settings.alert_webhook_token
            if token is None:
                return PlainTextResponse("Not Found", status_code=404)
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            expected = token.get_secret_value().encode()
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
                return _problem(401, "missing or wrong bearer token")
            if not web.application.bot_data.ready:
                return _problem(503, "the bot is starting")
            try:
                return await handler(request, AlertIntake(web.application.bot_data.services, web.metrics))
            except BodyTooLarge:
                return _problem(413, f"body larger than {MAX_BODY_BYTES} bytes")
            except PayloadError as exc:
                return _problem(400, str(exc))

        return endpoint

    async def alertmanager(request: Request, intake: AlertIntake) -> Response:
        try:
            body = await read_capped(request)
        except BodyTooLarge:  # Alertmanager does not retry a 4xx but logs this reason: say how to fit
            return _problem(413, f"body larger than {MAX_BODY_BYTES} bytes; set max_alerts in the webhook_config")
        notification = parse_alertmanager(body)
        result = await intake.take_alertmanager(notification)
        return JSONResponse({"alerts": result.alerts, "sms": result.sms_sent, "left_out": result.left_out})

    async def plain(request: Request, intake: AlertIntake) -> Response:
        await intake.take_plain(parse_plain(await read_capped(request)))
        return JSONResponse({"alerts": 1})

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/alerts/alertmanager", authorised(alertmanager), methods=["POST"]),
        Route("/alerts/plain", authorised(plain), methods=["POST"]),
    ]
    if web.webhook_path is not None:
        routes.append(Route(web.webhook_path, _telegram_webhook(web), methods=["POST"]))
    return routes


def _telegram_webhook(web: WebSide) -> Callable[[Request], Awaitable[Response]]:
    secret = web.settings.webhook_secret
    assert secret is not None  # Settings refuse WEBHOOK_URL without it
    expected = secret.get_secret_value().encode()

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            web.metrics.webhook_refused.inc()
            return PlainTextResponse("Forbidden", status_code=403)
        if not web.application.running:
            # Starting or stopping: an update queued now might never be handled. Telegram retries a non-2xx later.
            return PlainTextResponse("Service Unavailable: not running", status_code=503)
        try:
            data = json.loads(await read_capped(request))
        except BodyTooLarge:
            return PlainTextResponse("Payload Too Large", status_code=413)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return PlainTextResponse("Bad Request: not JSON", status_code=400)
        if not isinstance(data, dict):
            return PlainTextResponse("Bad Request: not an update", status_code=400)
        try:
            update = Update.de_json(data, web.application.bot)
        except Exception:  # PTB raises what the shape provokes (AttributeError for a string where an object goes)
            return PlainTextResponse("Bad Request: not an update", status_code=400)
        # Queued like polling queues it; a 200 tells Telegram not to deliver it again (idempotency keys cover
        # a redelivery anyway).
        await web.application.update_queue.put(update)
        return Response(status_code=200)

    return webhook
