"""HTTP mode: Slack's endpoint, ``POST /slack/events`` (commands, interactivity and events).

Bodies over 1 MiB are refused before Bolt reads them (:mod:`bot.slack.body_limit`).
"""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.slack.body_limit import BodyLimit


def routes(app: AsyncApp) -> list[Route]:
    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return [Route("/slack/events", events, methods=["POST"], middleware=[Middleware(BodyLimit)])]


def build_http_app(app: AsyncApp) -> Starlette:
    """The Slack endpoint alone, as an ASGI app (the console and tests post to it)."""
    return Starlette(routes=routes(app))
