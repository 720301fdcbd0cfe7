"""What the two baseline Bolt apps share: served over HTTP as a user would, with a health check.

``serve(app)`` parses ``--port`` and runs ``app`` under uvicorn at ``/slack/events``; the
apps themselves (``benchmarks.plain_bolt``, ``benchmarks.naive_bolt``) differ only in their
``/cron`` listener, which is what the ack benchmark compares.
"""

from __future__ import annotations

import argparse
import os

import httpx
import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def bolt_app(token: str) -> AsyncApp:
    """A Bolt app on the fake Slack (``SLACK_API_URL``, ``SLACK_SIGNING_SECRET``)."""
    client = AsyncWebClient(token=token, base_url=os.environ["SLACK_API_URL"])
    return AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])


def provider() -> tuple[httpx.AsyncClient, str]:
    """One shared client for cron-job.org's ``/jobs`` on the simulator, and that URL."""
    client = httpx.AsyncClient(
        headers={"Authorization": f"Bearer {os.environ['SIM_KEY']}"}, timeout=30
    )
    return client, os.environ["PROVIDER_URL"]


def serve(app: AsyncApp) -> None:
    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    routes = [
        Route("/slack/events", events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run(
        Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning",
        access_log=False,
    )  # fmt: skip
