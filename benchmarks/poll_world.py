"""A simulated account set for poll benchmarks: simulators on a clock we move.

The simulators run in the benchmark's process (``httpx.ASGITransport``) or, for the large
scenarios, in a process of their own on loopback (``python -m benchmarks.poll_world``), so that
the poller's peak RSS is its own: 100,000 simulated jobs alone take about 190 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from benchmarks.procs import child, free_port
from bot.store import Store
from providers.base import Provider
from providers.clock import utcnow
from providers.config import Account, BuildContext
from providers.registry import ACCOUNT_MODELS, build_providers
from providers.sim.base import Simulator
from providers.sim.serve import LoopbackServer
from providers.sim.suite import IN_PROCESS, SimSuite

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BUDGET = 1_000_000
FAILING_SHARE = 0.01  # of each provider's jobs, newly failing before each cycle
DJINN_PAGE = 25
#: No server-side quota or rate windows: the simulators count, they do not refuse. The client
#: keeps its own limits (cron-job.org: 5 requests/s per API method).
OPTIONS: dict[str, dict[str, Any]] = {"cronjob-org": {"daily_quota": None, "rate_limits": False}}


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class Sims:
    """Every account's own simulator, in this process."""

    clock: Clock
    sims: dict[str, Simulator]  # account -> its simulator
    accounts: list[Account]  # pointed at ``root``
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    @classmethod
    def build(
        cls, clock: Clock, *, jobs_each: int, slugs: tuple[str, ...], accounts_each: int,
        root: str = IN_PROCESS,
    ) -> Sims:  # fmt: skip
        """``accounts_each`` accounts on each provider in ``slugs``, ``jobs_each`` jobs each."""
        sims: dict[str, Simulator] = {}
        accounts: list[Account] = []
        for n in range(accounts_each):
            suite = SimSuite(clock=clock, seed=7, jobs=0, options=OPTIONS)
            for slug in slugs:  # seed only what is polled
                suite.sims[slug] = type(suite.sims[slug])(
                    clock=clock, seed=7 + n, jobs=jobs_each, **OPTIONS.get(slug, {})
                )
            # cron-job.org keeps a budget (each request is counted in the database, as in
            # production), large enough that pacing never enters into a cycle's figures.
            for account in suite.accounts(budget=BUDGET):
                if account.provider in slugs:
                    name = account.name if accounts_each == 1 else f"{account.name}-{n + 1}"
                    sim = suite.sims[account.provider]
                    url = suite.base_url(account.provider, f"{root}/{name}")
                    accounts.append(account.model_copy(update={"name": name, "base_url": url}))
                    sims[name] = sim
        return cls(clock, sims, accounts)

    @property
    def app(self) -> Starlette:
        """Every account's simulator under ``/<account>/<slug>``."""
        return Starlette(
            routes=[
                Mount(f"/{name}", app=Starlette(routes=[Mount(f"/{sim.slug}", app=sim.app)]))
                for name, sim in self.sims.items()
            ]
        )

    async def tick(self, seconds: float) -> None:
        self.clock.tick(seconds)

    async def fail(self) -> dict[str, list[str]]:
        """Make 1% of each account's jobs (at least one) fail now, picked among healthy ones."""
        picked = {}
        for account, sim in self.sims.items():
            count = max(1, round(len(sim.job_ids()) * FAILING_SHARE))
            picked[account] = self.rng.sample(healthy(sim), count)
            for job_id in picked[account]:
                sim.run(job_id, ok=False, at=self.clock.now)
        return picked

    async def blip(self, count: int) -> dict[str, list[str]]:
        """Make ``count`` healthy jobs of each account fail and then succeed again since the
        last poll: the list's last status shows only the success."""
        picked = {}
        for account, sim in self.sims.items():
            picked[account] = self.rng.sample(healthy(sim), count) if count else []
            for job_id in picked[account]:
                sim.run(job_id, ok=False, at=self.clock.now - timedelta(seconds=40))
                sim.run(job_id, ok=True, at=self.clock.now - timedelta(seconds=20))
        return picked

    async def counts(self) -> dict[str, dict[str, int]]:
        """Per account: requests served so far, jobs, and the list's pages."""
        return {
            account: {"requests": sim.total_requests, "jobs": len(sim.job_ids()),
                      "pages": _list_requests(sim)}
            for account, sim in self.sims.items()
        }  # fmt: skip


def healthy(sim: Any) -> list[str]:
    """Jobs whose latest result is a success, so a failure now is a new failure."""
    if sim.slug == "cronjob-org":
        return [str(i) for i, job in sim.jobs.items() if job["lastStatus"] == 1]
    if sim.slug == "cronhub":
        return [f"monitor/{code}" for code, m in sim.monitors.items() if m.status == "up"]
    if sim.slug == "djinn":
        return [
            str(i) for i, builds in sim.builds.items() if builds and builds[-1].status == "passed"
        ]
    return [f"{app}/{cid}" for app, jobs in sim.cronjobs.items()
            for cid, job in jobs.items() if job["state"] == "running"]  # fmt: skip


def _list_requests(sim: Any) -> int:
    """Requests the provider's API needs to list every job once (its pages)."""
    if sim.slug == "cronhub":
        return 2  # schedulers and monitors are two endpoints
    if sim.slug == "miget":
        return len(sim.apps)  # one list per app (the app list itself is read once per process)
    if sim.slug == "djinn":
        return max(1, math.ceil(len(sim.crons) / DJINN_PAGE))
    return 1


@dataclass
class RemoteSims:
    """The same simulators in a process of their own, driven through its control routes."""

    control: str
    accounts: list[Account]
    clock: Clock  # this process's copy of the simulators' clock, moved with it

    async def _call(self, path: str, **body: Any) -> Any:
        async with httpx.AsyncClient(timeout=120) as client:
            answer = await client.post(f"{self.control}/_world/{path}", json=body)
            answer.raise_for_status()
            return answer.json()

    async def tick(self, seconds: float) -> None:
        await self._call("tick", seconds=seconds)
        self.clock.tick(seconds)

    async def fail(self) -> dict[str, list[str]]:
        return dict(await self._call("fail"))

    async def blip(self, count: int) -> dict[str, list[str]]:
        return dict(await self._call("blip", count=count))

    async def counts(self) -> dict[str, dict[str, int]]:
        return dict(await self._call("counts"))


@dataclass
class World:
    sims: Sims | RemoteSims
    clock: Clock
    store: Store
    providers: dict[str, Provider]  # account -> client, only the polled providers

    def provider_slug(self, account: str) -> str:
        return self.providers[account].slug


@asynccontextmanager
async def world(
    scratch: Path, *, jobs_each: int, slugs: tuple[str, ...], accounts_each: int = 1,
    apart: bool = False,
) -> AsyncIterator[World]:  # fmt: skip
    """``accounts_each`` accounts on each provider in ``slugs``, ``jobs_each`` jobs each, every
    account its own simulator (``apart``: in a process of their own); one database."""
    clock = Clock()
    async with _sims(clock, jobs_each, slugs, accounts_each, apart) as sims:
        store = await Store.open(f"sqlite:///{scratch}/poll.db")
        transport = httpx.ASGITransport(app=sims.app) if isinstance(sims, Sims) else None
        ctx = BuildContext(
            ledger=store.budget, transport_for=(lambda _: transport) if transport else None,
            clock=clock,
        )  # fmt: skip
        providers = build_providers(sims.accounts, ctx)
        for provider in providers.values():
            # The rate limits wait on the real clock, as in production (the simulated clock
            # stands still during a cycle); the budget counts by the simulated day.
            provider.http.limits.clock = utcnow
        try:
            yield World(sims, clock, store, providers)
        finally:
            for provider in providers.values():
                await provider.aclose()
            await store.close()


@asynccontextmanager
async def _sims(
    clock: Clock, jobs_each: int, slugs: tuple[str, ...], accounts_each: int, apart: bool
) -> AsyncIterator[Sims | RemoteSims]:
    if not apart:
        yield Sims.build(clock, jobs_each=jobs_each, slugs=slugs, accounts_each=accounts_each)
        return
    port = free_port()
    args = ["-m", "benchmarks.poll_world", "--port", str(port), "--jobs-each", str(jobs_each),
            "--slugs", ",".join(slugs), "--accounts-each", str(accounts_each)]  # fmt: skip
    root = f"http://127.0.0.1:{port}"
    async with child(args, {}, url=root, within=300):
        async with httpx.AsyncClient(timeout=60) as client:
            raw = (await client.get(f"{root}/_world/accounts")).json()
        accounts = [ACCOUNT_MODELS[a["provider"]].model_validate(a) for a in raw]
        yield RemoteSims(root, accounts, clock)


# -- the simulators' process ------------------------------------------------------------------
async def serve(port: int, jobs_each: int, slugs: tuple[str, ...], accounts_each: int) -> None:
    root = f"http://127.0.0.1:{port}"
    sims = Sims.build(
        Clock(), jobs_each=jobs_each, slugs=slugs, accounts_each=accounts_each, root=root
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def accounts(request: Request) -> Response:
        plain = [
            {**a.model_dump(mode="json"), a.credential_key: a.credential()} for a in sims.accounts
        ]
        return Response(json.dumps(plain), media_type="application/json")

    async def call(request: Request) -> Response:
        body = await request.json() if await request.body() else {}
        what = request.path_params["what"]
        return JSONResponse(await getattr(sims, what)(**body))

    control = [
        Route("/healthz", healthz),
        Route("/_world/accounts", accounts),
        Route("/_world/{what:str}", call, methods=["POST"]),
    ]
    app = Starlette(routes=[*control, *sims.app.routes])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with LoopbackServer(app, port=port):
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jobs-each", type=int, required=True)
    parser.add_argument("--slugs", required=True)
    parser.add_argument("--accounts-each", type=int, default=1)
    args = parser.parse_args()
    slugs = tuple(args.slugs.split(","))
    asyncio.run(serve(args.port, args.jobs_each, slugs, args.accounts_each))


if __name__ == "__main__":
    main()
