"""HTTP mode: Slack's endpoint, a health check and Prometheus metrics, as one Starlette app."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import Deps

log = logging.getLogger(__name__)


def build_http_app(app: AsyncApp | None, deps: Deps | None = None) -> Starlette:
    """Slack's endpoint (when ``app`` is given), /healthz and /metrics.

    Socket Mode passes no app: requests arrive over the websocket unverified by signature, so
    no HTTP endpoint may feed them in; health and metrics are still served.
    """
    handler = AsyncSlackRequestHandler(app) if app is not None else None

    async def events(request: Request) -> Response:
        assert handler is not None
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        report = await health(deps) if deps is not None else {"status": "ok"}
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    async def metrics(request: Request) -> Response:
        body = deps.metrics.render() if deps is not None else b""
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if handler is not None:
        routes.append(Route("/slack/events", events, methods=["POST"]))
    return Starlette(routes=routes)


async def health(deps: Deps) -> dict[str, Any]:
    """Process, database and scheduler alive; the last successful poll of each account."""
    report: dict[str, Any] = {"status": "ok"}
    try:
        states = await deps.store.account_states()
        report["database"] = "ok"
    except Exception as error:  # any database failure makes the process unhealthy
        log.warning("health check: database unavailable: %s", type(error).__name__)
        return {"status": "unhealthy", "database": "unavailable"}
    if deps.scheduler_running is not None:
        running = deps.scheduler_running()
        report["scheduler"] = "running" if running else "stopped"
        if not running:
            report["status"] = "unhealthy"
    report["accounts"] = {
        s.account: {
            "reachable": s.reachable,
            "last_success": s.last_success_at.isoformat() if s.last_success_at else None,
            "last_poll": s.last_poll_at.isoformat() if s.last_poll_at else None,
        }
        for s in states
    }
    return report
