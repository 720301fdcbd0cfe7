"""``GET /healthz`` and ``GET /metrics``: is the process well, and what has it been doing.

Served on the admin port only (:mod:`bot.ports`), never on the port Slack reaches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.admin.metrics import Metrics
from bot.store import Store

log = logging.getLogger(__name__)

#: Whether the scheduler runs; None where the process runs none.
SchedulerRunning = Callable[[], bool] | None


def routes(store: Store, metrics: Metrics, scheduler_running: SchedulerRunning) -> list[Route]:
    async def healthz(request: Request) -> Response:
        report = await health(store, scheduler_running)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]


async def health(store: Store, scheduler_running: SchedulerRunning = None) -> dict[str, Any]:
    """Process, database and scheduler alive; the last successful poll of each account."""
    report: dict[str, Any] = {"status": "ok"}
    try:
        states = await store.accounts.states()
        report["database"] = "ok"
    except Exception as error:  # any database failure makes the process unhealthy
        log.warning("health check: database unavailable: %s", type(error).__name__)
        return {"status": "unhealthy", "database": "unavailable"}
    if scheduler_running is not None:
        running = scheduler_running()
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
