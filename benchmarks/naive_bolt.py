"""The call-then-ack baseline: a minimal Bolt app that calls the provider, then acks with it.

The pattern Bolt's docs warn against (Slack waits 3 s for the ack); the fair baseline is
``benchmarks.plain_bolt``. Run as a child process by ``bench_ack``::

    python -m benchmarks.naive_bolt --port 3001

Environment: ``SLACK_SIGNING_SECRET``, ``SLACK_API_URL``, ``PROVIDER_URL`` (cron-job.org's
``/jobs`` on the simulator) and ``SIM_KEY``.
"""

from __future__ import annotations

import argparse
import os

import httpx
import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def build() -> Starlette:
    client = AsyncWebClient(token="xoxb-naive", base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])
    provider = httpx.AsyncClient(
        headers={"Authorization": f"Bearer {os.environ['SIM_KEY']}"}, timeout=30
    )
    url = os.environ["PROVIDER_URL"]

    @app.command("/cron")
    async def cron(ack: AsyncAck) -> None:
        jobs = (await provider.get(url)).json()["jobs"]  # the provider first...
        lines = [f"• {job['jobId']} {job['title']}" for job in jobs[:20]]
        await ack(text=f"{len(jobs)} jobs\n" + "\n".join(lines))  # ...then the ack

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    uvicorn.run(build(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
