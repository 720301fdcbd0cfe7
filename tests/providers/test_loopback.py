"""The loopback server the simulators and the fake Slack are served by."""

from __future__ import annotations

import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from providers.sim.serve import LoopbackServer


async def test_requests_on_one_connection_are_not_held_back_by_delayed_acks() -> None:
    """Without TCP_NODELAY each answer's body waited for the client's delayed ACK: 40 ms a
    request, 0.8 s for these twenty."""

    async def ok(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/", ok)])
    async with LoopbackServer(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        await client.get("/")  # the connection is open
        began = time.perf_counter()
        for _ in range(20):
            (await client.get("/")).raise_for_status()
        took = time.perf_counter() - began
    assert took < 0.4
