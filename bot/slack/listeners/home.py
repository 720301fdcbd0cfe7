"""The Home tab: published when someone opens it, and its own buttons (Refresh, Unmute).

The alert and card buttons it also shows are handled by their usual listeners
(:mod:`bot.slack.listeners.actions`, :mod:`bot.slack.listeners.alerts`), which re-check access
and answer a button on the Home through :class:`bot.slack.listeners.context.HomeReply`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.deps import Deps
from bot.slack.listeners import alerts
from bot.slack.listeners.context import Registrar, Reply, guarded
from bot.slack.render.home import not_listed_text
from bot.slack.render.ids import ActionId, JobValue

log = logging.getLogger(__name__)

Handler = Callable[[Reply, dict[str, Any]], Awaitable[None]]


def register(app: Registrar, deps: Deps) -> None:
    async def on_home_opened(ack: AsyncAck, event: dict[str, Any]) -> None:
        await ack()
        await opened(deps, event)

    app.event("app_home_opened")(on_home_opened)
    app.action(ActionId.HOME_REFRESH.value)(_listener(deps, refresh))
    app.action(ActionId.HOME_UNMUTE.value)(_listener(deps, unmute))


async def opened(deps: Deps, event: dict[str, Any]) -> None:
    """``app_home_opened`` comes for the Messages tab too: only the Home tab is published."""
    if event.get("tab") != "home" or deps.home is None or not event.get("user"):
        return
    async with deps.inflight.track():
        try:
            await deps.home.opened(str(event["user"]))
        except Exception:  # nobody to tell but the log: the tab keeps its last view
            log.exception("could not publish the Home tab")


def _listener(deps: Deps, handler: Handler) -> Callable[..., Awaitable[None]]:
    async def listener(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:  # fmt: skip
        await ack()
        reply = Reply.to_action(deps, body, client, respond)
        await guarded(reply, handler(reply, action))

    return listener


async def refresh(reply: Reply, action: dict[str, Any]) -> None:
    """Read every account's job list again (as `/cron list` does: from a recent cache, and
    counted against budgets and the person's fair share); the Home is published after, saying
    which accounts could not be read."""
    listing = await reply.deps.service.listing()
    if listing.failures:
        failures = [(failure.account, failure.message) for failure in listing.failures]
        await reply.ephemeral(not_listed_text(failures))


async def unmute(reply: Reply, action: dict[str, Any]) -> None:
    await alerts.unmute(reply, JobValue.load(action["value"]).ref)
