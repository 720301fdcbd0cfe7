"""build_app(deps) -> AsyncApp: wiring only, no global app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access, SlackGroups
from bot.metrics import Metrics
from bot.respond import ResponseUrls
from bot.service import CronService
from providers.clock import Clock, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")


class Inflight:
    """Work still running after Slack got its ack; drained before shutdown closes the store."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._running: set[asyncio.Future[Any]] = set()

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    def spawn(self, work: Awaitable[T]) -> asyncio.Future[T]:
        """Run ``work`` in the background, tracked; the future is kept until it is done."""

        async def tracked() -> T:
            async with self.track():
                return await work

        future = asyncio.ensure_future(tracked())
        self._running.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: asyncio.Future[Any]) -> None:
        self._running.discard(future)
        if not future.cancelled() and (error := future.exception()) is not None:
            log.error("background Slack work failed: %s", type(error).__name__, exc_info=error)

    async def drain(self, within: float = 10.0) -> bool:
        """Wait for running work to finish; False if some was still running after ``within``."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            log.warning("%d Slack request(s) still running at shutdown", self._count)
            return False
        return True


@dataclass
class Deps:
    """Everything the listeners use; built once by the CLI (or a test)."""

    service: CronService
    access: Access
    store: Any = None  # bot.store.Store; optional so read-only tests can omit it
    audit_channel: str | None = None
    alerts_channel: str | None = None
    poll_interval: float = 60.0  # seconds; the fastest an account is polled
    failures_before_alert: int = 1
    poll_intervals: dict[str, float] = field(default_factory=dict)  # as paced, per account
    inflight: Inflight = field(default_factory=Inflight)
    metrics: Metrics = field(default_factory=Metrics)
    scheduler_running: Callable[[], bool] | None = None  # set when a scheduler runs
    clock: Clock = utcnow
    extras: dict[str, Any] = field(default_factory=dict)
    responses: ResponseUrls = field(default_factory=ResponseUrls)  # response_url answers
    # List answers being or done rendering, by (listing stamp, page, minute): one rendering
    # (a shared future) for many askers.
    rendered: dict[Any, Any] = field(default_factory=dict)


def build_app(
    deps: Deps,
    *,
    token: str,
    signing_secret: str | None,
    api_url: str = "https://slack.com/api/",
    process_before_response: bool = False,
) -> AsyncApp:
    """The Bolt app with every listener registered.

    ``signing_secret`` None disables request verification: only for Socket Mode, where Slack's
    websocket, not a signature, authenticates requests.
    """
    from bot import listeners  # listeners import render and commands; keep app import light

    client = AsyncWebClient(token=token, base_url=api_url)
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "socket-mode-unused",
        request_verification_enabled=signing_secret is not None,
        # Always: in ack-first mode (the default) every listener returns to Bolt as soon as
        # it acked and carries on in the background (``listeners.context.ack_first``).
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )
    if deps.access.reader is None:
        deps.access.reader = SlackGroups(client)
    listeners.register(app, deps, ack_first_mode=not process_before_response)
    app.error(_on_error)
    return app


async def _on_error(error: Exception, body: dict[str, Any]) -> None:
    """Last resort: log it; Slack gets nothing from here (listeners answer people themselves)."""
    log.exception("unhandled error in a Slack listener: %s", type(error).__name__, exc_info=error)
