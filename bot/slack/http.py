"""HTTP mode: Slack's endpoint, ``POST /slack/events`` (commands, interactivity and events)."""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def routes(app: AsyncApp) -> list[Route]:
    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return [Route("/slack/events", events, methods=["POST"])]


def build_http_app(app: AsyncApp) -> Starlette:
    """The Slack endpoint alone, as an ASGI app (the console and tests post to it)."""
    return Starlette(routes=routes(app))
