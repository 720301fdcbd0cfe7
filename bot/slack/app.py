"""build_app(deps) -> AsyncApp: wiring only, no global app."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import listeners
from bot.slack.deps import Deps
from bot.slack.home.tab import HomeTab
from providers.redact import secrets

log = logging.getLogger(__name__)


def build_app(
    deps: Deps,
    *,
    token: str,
    signing_secret: str | None,
    api_url: str = "https://slack.com/api/",
    ack_first: bool = True,
) -> AsyncApp:
    """The Bolt app with every listener registered.

    ``signing_secret`` None disables request verification: only for Socket Mode, where Slack's
    websocket, not a signature, authenticates requests. ``ack_first`` (the default) answers
    Slack the moment a listener acks and lets its work run on; the console passes False, so a
    request's work is done when its HTTP answer comes back.
    """
    client = SlackClient(token=token, base_url=api_url)
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "socket-mode-unused",
        request_verification_enabled=signing_secret is not None,
        # Always: in ack-first mode every listener returns to Bolt as soon as it acked and
        # carries on in the background (``listeners.context.return_on_ack``).
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )
    app.middleware(_scrubbing_client)
    if deps.access.reader is None:
        deps.access.reader = SlackGroups(client)
    if deps.home is None:
        deps.home = HomeTab(deps, client)
    listeners.register(app, deps, ack_first=ack_first)
    app.error(_on_error)
    return app


async def _scrubbing_client(
    context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
) -> BoltResponse:
    """Bolt hands each request a plain ``AsyncWebClient`` of its own (a copy of the app's
    settings, not the app's client): listeners get a :class:`SlackClient` like it instead."""
    context["client"] = SlackClient.like(context.client)
    return await next()


class SlackClient(AsyncWebClient):
    """The Web API client whose calls never carry a secret the registry knows
    (:data:`providers.redact.secrets`), whatever a message was built from."""

    @classmethod
    def like(cls, client: AsyncWebClient) -> SlackClient:
        """A scrubbing client with ``client``'s token, address and settings: a shallow copy,
        so nothing (a session, the user agent) is made again on every request."""
        scrubbing = cls.__new__(cls)
        scrubbing.__dict__.update(vars(client))
        return scrubbing

    async def api_call(
        self,
        api_method: str,
        *,
        json: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        if isinstance(data, dict):
            data = secrets.scrub_all(data)
        return await super().api_call(
            api_method, json=secrets.scrub_all(json), data=data,
            params=secrets.scrub_all(params), **options,
        )  # fmt: skip


class SlackGroups:
    """Reads user-group members for :class:`bot.chat.access.Access` (``usergroups:read``)."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def members(self, group_id: str) -> list[str]:
        response = await self.client.usergroups_users_list(usergroup=group_id)
        users: list[str] = response.get("users") or []
        return users


async def _on_error(error: Exception, body: dict[str, Any]) -> None:
    """Last resort: log it; Slack gets nothing from here (listeners answer people themselves)."""
    log.exception("unhandled error in a Slack listener: %s", type(error).__name__, exc_info=error)
