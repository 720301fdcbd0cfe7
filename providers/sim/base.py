"""What every provider simulator shares: faults, latency, a request log and scenario controls.

A simulator is a stateful ASGI app (Starlette) faithful to one provider's API as written in
``shared/providers.md``. The same object serves fast tests in-process (``httpx.ASGITransport``),
end-to-end tests over loopback (uvicorn) and the demo. Scenarios drive it two ways:

- in Python: ``sim.run(job_id, ok=False)``, ``sim.fault = 500``, ``sim.latency = 2.0``;
- over HTTP, for another process: ``POST /_sim/run {"job": ID, "ok": false}``,
  ``POST /_sim/fault {"status": 500}`` / ``{"malformed": true}`` / ``{"status": null}``,
  ``POST /_sim/latency {"seconds": 2}``, ``GET /_sim/jobs``, ``GET /_sim/stats``;
- scenarios one provider has (its :meth:`Simulator.controls`), e.g. cron-job.org's server that
  holds some jobs going down: ``sim.down(["4242"])`` / ``sim.up()``, over HTTP
  ``POST /_sim/down {"jobs": ["4242"]}`` / ``POST /_sim/up``.

Job ids in scenarios are the ids the client uses in refs (``"4242"``, ``"monitor/<uuid>"``,
``"APP/CRONJOB"``), so one scenario drives any provider.
"""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections import Counter
from datetime import datetime
from typing import Any, ClassVar

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from providers.clock import Clock, utcnow

SIM_KEY = "sim-secret-key"  # the credential every simulator accepts unless told otherwise
real_clock = utcnow  # a simulator's clock unless a test or scenario passes its own


class Simulator(ABC):
    """Base of the four simulators."""

    slug: ClassVar[str]  # provider slug, as in cronops.yml
    api_prefix: ClassVar[str] = ""  # path prefix of the API, e.g. "/api/v1"
    demo_account: ClassVar[str]  # the account's name in the demo and `cronops simulate`

    def __init__(
        self,
        *,
        api_key: str = SIM_KEY,
        clock: Clock = real_clock,
        seed: int = 0,
        jobs: int | None = None,
    ) -> None:
        self.api_key = api_key
        self.clock = clock
        self.rng = random.Random(seed)
        self.fault: int | None = None  # answer every API call with this status
        self.malformed = False  # answer every API call with 200 and a body that is not JSON
        self.latency = 0.0  # seconds added to every API call
        self.requests: Counter[str] = Counter()  # "GET /jobs" -> count, API calls only
        self.seed_jobs(self.default_jobs if jobs is None else jobs)
        self._app: ASGIApp | None = None

    default_jobs: ClassVar[int] = 30

    # -- what each simulator implements ----------------------------------------------------
    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """The API's routes, relative to ``api_prefix``."""

    @abstractmethod
    def seed_jobs(self, count: int) -> None:
        """Create ``count`` realistic jobs, a few of them failing."""

    @abstractmethod
    def job_ids(self) -> list[str]:
        """Every job id, as the client spells it in refs."""

    @abstractmethod
    def run(self, job_id: str, ok: bool, *, at: datetime | None = None) -> None:
        """Record one execution of a job (a run, a build, a ping or a missed ping)."""

    def account_options(self) -> dict[str, Any]:
        """Keys of this provider's account, beyond name, base URL and key, that reach the sim."""
        return {}

    def controls(self) -> list[BaseRoute]:
        """Scenario endpoints of this provider only, under ``/_sim/`` like the shared ones."""
        return []

    def fault_body(self, status: int) -> tuple[bytes, str]:
        """Body and content type of a forced error; cron-job.org-style bare status by default."""
        return b"", "text/plain"

    # -- the ASGI app ---------------------------------------------------------------------
    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            control = [
                Route("/_sim/run", self._control_run, methods=["POST"]),
                Route("/_sim/fault", self._control_fault, methods=["POST"]),
                Route("/_sim/latency", self._control_latency, methods=["POST"]),
                Route("/_sim/jobs", self._control_jobs, methods=["GET"]),
                Route("/_sim/stats", self._control_stats, methods=["GET"]),
                *self.controls(),
            ]
            api: list[BaseRoute] = (
                [Mount(self.api_prefix, routes=self.routes())] if self.api_prefix else self.routes()
            )
            starlette = Starlette(routes=control + api)
            self.configure(starlette)
            self._app = _Faults(self, starlette)
        return self._app

    def configure(self, app: Starlette) -> None:  # noqa: B027 (an optional hook, empty by default)
        """Hook for exception handlers (e.g. cron-job.org answers 404, never 405)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def now(self) -> datetime:
        return self.clock()

    def now_ts(self) -> int:
        return int(self.clock().timestamp())

    # -- control endpoints ------------------------------------------------------------------
    async def _control_run(self, request: Request) -> Response:
        body = await request.json()
        job_id, ok = str(body["job"]), bool(body.get("ok", True))
        if job_id not in self.job_ids():
            return JSONResponse({"error": f"no job {job_id}"}, status_code=404)
        self.run(job_id, ok)
        return JSONResponse({"job": job_id, "ok": ok})

    async def _control_fault(self, request: Request) -> Response:
        body = await request.json()
        self.fault = body.get("status")
        self.malformed = bool(body.get("malformed", False))
        return JSONResponse({"status": self.fault, "malformed": self.malformed})

    async def _control_latency(self, request: Request) -> Response:
        self.latency = float((await request.json())["seconds"])
        return JSONResponse({"seconds": self.latency})

    async def _control_jobs(self, request: Request) -> Response:
        return JSONResponse({"jobs": self.job_ids()})

    async def _control_stats(self, request: Request) -> Response:
        return JSONResponse({"requests": dict(self.requests), "total": self.total_requests})

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


class _Faults:
    """ASGI middleware: counts API calls, adds latency and forced faults before routing."""

    def __init__(self, sim: Simulator, app: ASGIApp) -> None:
        self.sim = sim
        self.inner = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _route_path(scope)
        if scope["type"] != "http" or path.startswith("/_sim/"):
            await self.inner(scope, receive, send)
            return
        sim = self.sim
        path = path[len(sim.api_prefix) :] if sim.api_prefix else path
        sim.requests[f"{scope['method']} {path}"] += 1
        if sim.latency:
            await asyncio.sleep(sim.latency)
        if sim.fault is not None:
            body, ctype = sim.fault_body(sim.fault)
            await Response(body, status_code=sim.fault, media_type=ctype)(scope, receive, send)
            return
        if sim.malformed:
            broken = Response(b'{"jobs": [tru', media_type="application/json")
            await broken(scope, receive, send)
            return
        await self.inner(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path below any mount point (Starlette keeps the full path and sets root_path)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def json_response(data: Any, status: int = 200) -> Response:
    """Compact JSON, as the real services send it."""
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
    )
