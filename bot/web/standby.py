"""The HTTP side of a standby (``bot/standby.py``): ``/healthz`` 200 (alive), ``/readyz`` 503 ``standby``,
``/metrics`` with ``smsrelay_active 0``, and 503 for everything else (webhook, alert intake), so Telegram and
Alertmanager retry until a process is active."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from bot.web.metrics import CONTENT_TYPE, Metrics


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "alive", "role": "standby"})


async def readyz(request: Request) -> Response:
    return JSONResponse({"status": "standby"}, status_code=503)


async def unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    response = PlainTextResponse("Service Unavailable: standby", status_code=503, headers={"Retry-After": "5"})
    await response(scope, receive, send)


def standby_app() -> Starlette:
    standby_metrics = Metrics()  # all zero, smsrelay_active included

    async def metrics(request: Request) -> Response:
        return Response(standby_metrics.render(), media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Mount("", app=unavailable),  # any other path and method
        ]
    )
