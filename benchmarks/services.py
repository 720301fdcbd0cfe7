"""The services the bot talks to — provider simulators and a fake Slack — in a process of their own.

In production Slack and the providers are elsewhere; here they run apart from the process that
generates the load, so the load generator's own work does not delay the answers it measures.

python -m benchmarks.services --seed 2 --jobs 25 --control 8901 --sims 8902 --slack 8903

A small control app (``--control``) lets the benchmark set the providers' latency, count their
requests and read when each response_url answer arrived (``time.monotonic()``, the same clock
in every process on this machine).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from benchmarks.procs import child, free_port
from bot.demo.fakeslack import FakeSlack
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite


class Arrivals:
    """ASGI middleware: when each provider request arrived and when its answer was sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[tuple[float, float, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        began = time.monotonic()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.seen.append((began, time.monotonic(), str(scope.get("path", ""))))


def control_app(suite: SimSuite, fake: FakeSlack, arrivals: Arrivals) -> Starlette:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def latency(request: Request) -> Response:
        seconds = float((await request.json())["seconds"])
        for sim in suite.sims.values():
            sim.latency = seconds
        return JSONResponse({"seconds": seconds})

    async def requests(request: Request) -> Response:
        return JSONResponse({"total": sum(sim.total_requests for sim in suite.sims.values())})

    async def answers(request: Request) -> Response:
        """The first response_url post per token: when it arrived."""
        first: dict[str, float] = {}
        for call in fake.of("response_url"):
            first.setdefault(call.token, call.at)
        return JSONResponse(first)

    async def provider_calls(request: Request) -> Response:
        return JSONResponse([list(seen) for seen in arrivals.seen])

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/provider-calls", provider_calls),
            Route("/latency", latency, methods=["POST"]),
            Route("/requests", requests),
            Route("/answers", answers),
        ]
    )


async def serve(seed: int, jobs: int, control: int, sims: int, slack: int) -> None:
    suite, fake = SimSuite(seed=seed, jobs=jobs, options=UNLIMITED), FakeSlack()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    arrivals = Arrivals(suite.app)
    async with (
        LoopbackServer(arrivals, port=sims),
        LoopbackServer(fake.app, port=slack) as slack_server,
    ):
        fake.base_url = slack_server.url
        async with LoopbackServer(control_app(suite, fake, arrivals), port=control):
            await stop.wait()
            for sim in suite.sims.values():
                sim.latency = 0.0  # requests still waiting are answered, so servers stop cleanly


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("seed", "jobs", "control", "sims", "slack"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.seed, args.jobs, args.control, args.sims, args.slack))


# -- the benchmark's side ---------------------------------------------------------------------
@dataclass
class Services:
    """The services process as the benchmark sees it: URLs, and its control app."""

    control: str
    sims: str
    slack: str

    def response_url(self) -> str:
        return f"{self.slack}/response/{uuid.uuid4().hex}"

    async def set_latency(self, seconds: float) -> None:
        async with httpx.AsyncClient() as client:
            (
                await client.post(f"{self.control}/latency", json={"seconds": seconds})
            ).raise_for_status()

    async def provider_calls(self) -> list[tuple[float, float, str]]:
        """(arrived, answered, path) of every provider request so far."""
        async with httpx.AsyncClient() as client:
            return [tuple(x) for x in (await client.get(f"{self.control}/provider-calls")).json()]

    async def provider_requests(self) -> int:
        async with httpx.AsyncClient() as client:
            return int((await client.get(f"{self.control}/requests")).json()["total"])

    async def answers(self, tokens: Collection[str], *, within: float) -> dict[str, float]:
        """When each token's response_url answer arrived; waits for all of them up to ``within``."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient() as client:
            while True:
                arrived = (await client.get(f"{self.control}/answers")).json()
                found = {t: float(arrived[t]) for t in tokens if t in arrived}
                if len(found) == len(tokens) or time.monotonic() > deadline:
                    return found
                await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def services(*, seed: int, jobs: int) -> AsyncIterator[Services]:
    """The services process, on free ports, until the block ends."""
    control, sims, slack = free_port(), free_port(), free_port()
    args = ["-m", "benchmarks.services", "--seed", str(seed), "--jobs", str(jobs),
            "--control", str(control), "--sims", str(sims), "--slack", str(slack)]  # fmt: skip
    url = f"http://127.0.0.1:{control}"
    async with child(args, {}, url=url):
        yield Services(url, f"http://127.0.0.1:{sims}", f"http://127.0.0.1:{slack}")


if __name__ == "__main__":
    main()
