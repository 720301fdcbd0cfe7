"""Many accounts' simulators and a fake Slack in a process of their own, for the replicas benchmark.

Each account has a simulator of its own (its own jobs, its own failures), served under
``/<account>`` on one loopback port, so a failure shows in one account only, as in production.

python -m benchmarks.fleet --jobs 500 --control 8901 --sims 8902 --slack 8903

The control app (``--control``) fails jobs (``POST /fail {"count": 12}`` -> the refs), counts
the alert posts Slack took by idempotency key (``GET /alerts``) and the provider requests by
account (``GET /requests``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from benchmarks.poll_world import healthy
from benchmarks.procs import child, free_port
from bot.demo.fakeslack import Call, FakeSlack
from providers.registry import PROVIDERS
from providers.sim.base import Simulator
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, simulator_of

#: The providers whose list carries each job's last result (no request per job), and how many
#: accounts of each: 40 in all.
SHARES = {"cronjob-org": 14, "cronhub": 13, "miget": 13}
PREFIX = {"cronjob-org": "cjo", "cronhub": "hub", "miget": "mig"}


def accounts() -> dict[str, str]:
    """Account name -> provider slug, in a fixed order."""
    return {f"{PREFIX[slug]}{n:02d}": slug for slug, count in SHARES.items() for n in range(count)}


def simulators(jobs: int) -> dict[str, Simulator]:
    """One simulator per account, each seeded apart (its own jobs and failing ones)."""
    return {
        name: simulator_of(PROVIDERS[slug])(seed=100 + n, jobs=jobs, **UNLIMITED.get(slug, {}))
        for n, (name, slug) in enumerate(accounts().items())
    }


def base_url(root: str, name: str, slug: str) -> str:
    """Where account ``name`` of provider ``slug`` is served under ``root``."""
    return f"{root.rstrip('/')}/{name}/{slug}{simulator_of(PROVIDERS[slug]).api_prefix}"


def alert_posts(fake: FakeSlack) -> Counter[str]:
    """Incident posts Slack took (not their updates), by idempotency key."""

    def key(call: Call) -> str:
        return str(((call.body.get("metadata") or {}).get("event_payload") or {}).get("key", ""))

    return Counter(
        key(c) for c in fake.of("chat.postMessage")
        if key(c).startswith("incident:") and ":post:" in key(c) and "_failed" not in c.body
    )  # fmt: skip


def app(sims: dict[str, Simulator]) -> Starlette:
    names = accounts()
    return Starlette(
        routes=[Mount(f"/{name}/{names[name]}", app=sim.app) for name, sim in sims.items()]
    )


def control_app(sims: dict[str, Simulator], fake: FakeSlack) -> Starlette:
    rng = random.Random(14)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def fail(request: Request) -> Response:
        """``count`` healthy jobs fail now, spread over the providers and accounts."""
        count = int((await request.json())["count"])
        names = accounts()
        order = sorted(sims, key=lambda name: (list(SHARES).index(names[name]), name))
        picked = []
        for n in range(count):
            slug = list(SHARES)[n % len(SHARES)]
            mine = [name for name in order if names[name] == slug]
            name = mine[(n // len(SHARES) * 5) % len(mine)]
            job = rng.choice(healthy(sims[name]))
            sims[name].run(job, ok=False)
            picked.append(f"{name}:{job}")
        return JSONResponse(picked)

    async def alerts(request: Request) -> Response:
        return JSONResponse(dict(alert_posts(fake)))

    async def requests(request: Request) -> Response:
        return JSONResponse({name: sim.total_requests for name, sim in sims.items()})

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/fail", fail, methods=["POST"]),
            Route("/alerts", alerts),
            Route("/requests", requests),
        ]
    )


async def serve(jobs: int, control: int, sims_port: int, slack: int) -> None:
    sims, fake = simulators(jobs), FakeSlack()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with (
        LoopbackServer(app(sims), port=sims_port),
        LoopbackServer(fake.app, port=slack) as slack_server,
    ):
        fake.base_url = slack_server.url
        async with LoopbackServer(control_app(sims, fake), port=control):
            await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("jobs", "control", "sims", "slack"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.jobs, args.control, args.sims, args.slack))


# -- the benchmark's side ---------------------------------------------------------------------
@dataclass
class Fleet:
    """The fleet process as the benchmark sees it."""

    control: str
    sims: str
    slack: str
    pid: int

    async def fail(self, count: int) -> list[str]:
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{self.control}/fail", json={"count": count})
            answer.raise_for_status()
            return list(answer.json())

    async def alerts(self) -> Counter[str]:
        async with httpx.AsyncClient() as client:
            return Counter((await client.get(f"{self.control}/alerts")).json())

    async def requests(self) -> dict[str, int]:
        async with httpx.AsyncClient() as client:
            return dict((await client.get(f"{self.control}/requests")).json())


@contextlib.asynccontextmanager
async def fleet(*, jobs: int) -> AsyncIterator[Fleet]:
    """The fleet process, on free ports, until the block ends."""
    control, sims, slack = free_port(), free_port(), free_port()
    args = ["-m", "benchmarks.fleet", "--jobs", str(jobs), "--control", str(control),
            "--sims", str(sims), "--slack", str(slack)]  # fmt: skip
    url = f"http://127.0.0.1:{control}"
    async with child(args, {}, url=url) as process:
        yield Fleet(url, f"http://127.0.0.1:{sims}", f"http://127.0.0.1:{slack}",
                    process.process.pid)  # fmt: skip


if __name__ == "__main__":
    main()
