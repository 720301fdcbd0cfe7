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
from bot.alerts.owners import lease_name
from bot.store import Store
from bot.store.leases import Lease
from providers.clock import utcnow

log = logging.getLogger(__name__)

#: Whether the scheduler runs; None where the process runs none.
SchedulerRunning = Callable[[], bool] | None


def routes(
    store: Store, metrics: Metrics, scheduler_running: SchedulerRunning, process: str | None = None
) -> list[Route]:
    async def healthz(request: Request) -> Response:
        report = await health(store, scheduler_running, process)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]


async def health(
    store: Store, scheduler_running: SchedulerRunning = None, process: str | None = None
) -> dict[str, Any]:
    """Process, database and scheduler alive; each account's last successful poll and the
    process polling it (when several share the database), named as ``process`` is."""
    report: dict[str, Any] = {"status": "ok"}
    if process is not None:
        report["process"] = process
    try:
        states = await store.accounts.states()
        leases = await store.leases.all()
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
            "polled_by": _owner(leases.get(lease_name(s.account))),
        }
        for s in states
    }
    return report


def _owner(lease: Lease | None) -> str | None:
    return lease.owner if lease is not None and lease.expires_at > utcnow() else None
