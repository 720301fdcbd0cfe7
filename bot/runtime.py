"""The configured process: its running parts built from settings, and `cronops run|check|poll`.

:func:`runtime` opens the store, builds a client per account and the service over them, and
hands back a :class:`Runtime`; :func:`run` serves Slack (HTTP or Socket Mode) with the alert
cycle beside it and health on the admin port (:mod:`bot.ports`), :func:`check` calls each
account once, :func:`poll_once` runs one cycle.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.types import ASGIApp

from bot import ports
from bot.admin import health
from bot.admin.metrics import Metrics
from bot.alerts.cycle import Monitor, build_monitor
from bot.alerts.owners import Ownership
from bot.alerts.scheduler import build_scheduler
from bot.alerts.scheduler import stop as stop_scheduler
from bot.chat.access import Access
from bot.chat.service import CronService
from bot.config.settings import RETENTION, AlertsConfig, ConfigError, Settings
from bot.slack import http
from bot.slack.app import SlackClient, build_app
from bot.slack.deps import Deps
from bot.store import Store
from bot.store.db import DatabaseInUse, one_process
from bot.store.leases import process_name
from providers.config import Account, BuildContext, TransportFor
from providers.errors import ProviderError
from providers.registry import build_providers


@dataclass
class Runtime:
    """A running cronops: its store and, for the Slack side and the alert cycle, ``deps``."""

    deps: Deps
    store: Store
    retention: timedelta = RETENTION
    scheduler_running: health.SchedulerRunning = field(default=None)
    name: str = field(default_factory=process_name)  # as leases and claims name this process

    def monitor(self, client: AsyncWebClient, *, shared: bool = False) -> Monitor:
        """The alert cycle of every account, posting through ``client``; ``shared``: this
        process polls only the accounts it holds leases on (others may share the database)."""
        deps = self.deps
        ownership = None
        if shared:
            ownership = Ownership(
                self.store, self.name, deps.service.accounts, deps.clock, deps.metrics
            )
        monitor = build_monitor(
            deps.service, self.store, client, alerts=deps.alerts, metrics=deps.metrics,
            clock=deps.clock, owner=self.name, ownership=ownership,
        )  # fmt: skip
        if deps.home is not None:  # this process's polls refresh the Home tabs
            monitor.on_incidents = deps.home.refresh_recent
        return monitor

    def scheduler(self, monitor: Monitor, *, poll: bool = True) -> AsyncIOScheduler:
        """What runs when: timed resumes, the outbox, daily pruning, and (``poll``) polls."""
        deps = self.deps
        return build_scheduler(
            deps.service, self.store, monitor.delivery, inflight=deps.inflight,
            clock=deps.clock, monitor=monitor if poll else None, retention=self.retention,
        )  # fmt: skip

    async def aclose(self) -> None:
        if self.deps.home is not None:
            await self.deps.home.aclose()  # background refreshes are not worth waiting for
        await self.deps.inflight.drain()
        await self.deps.responses.aclose()
        for provider in self.deps.service.providers.values():
            await provider.aclose()
        await self.store.close()


@asynccontextmanager
async def runtime(
    accounts: Sequence[Account],
    *,
    database_url: str,
    operators: Sequence[str],
    audit_channel: str | None = None,
    transport_for: TransportFor | None = None,
    alerts: AlertsConfig | None = None,
    retention: timedelta = RETENTION,
) -> AsyncIterator[Runtime]:
    store = await Store.open(database_url)
    metrics = Metrics()
    ctx = BuildContext(
        ledger=store.budget, transport_for=transport_for, observer=metrics.observe_provider
    )
    deps = Deps(
        service=CronService(build_providers(list(accounts), ctx)),
        access=Access(operators),
        store=store,
        alerts=alerts or AlertsConfig(),
        audit_channel=audit_channel,
        metrics=metrics,
    )
    built = Runtime(deps, store, retention)
    try:
        yield built
    finally:
        await built.aclose()


@asynccontextmanager
async def configured(settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime ``cronops.yml`` and the environment describe."""
    async with runtime(
        settings.accounts, database_url=settings.database_url, operators=settings.operators,
        audit_channel=settings.config.access.audit_channel, alerts=settings.config.alerts,
        retention=settings.config.retention,
    ) as built:  # fmt: skip
        yield built


# -- cronops run ----------------------------------------------------------------------------
async def run(settings: Settings, host: str, port: int) -> int:
    """The bot: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on ``host:port``.

    Either way /healthz and /metrics are served on the admin port alone.
    """
    env = settings.env
    if env.slack_bot_token is None:
        raise ConfigError(["SLACK_BOT_TOKEN: not set; the bot needs its xoxb- token"])
    socket_mode = env.slack_app_token is not None
    if not socket_mode and env.slack_signing_secret is None:
        raise ConfigError(["SLACK_SIGNING_SECRET: not set; HTTP mode verifies every request"])
    admin = ports.Port("CRONOPS_ADMIN_PORT", env.cronops_admin_host or host, env.cronops_admin_port)
    slack = None if socket_mode else ports.Port("--port", host, port)
    ports.check_distinct([p for p in (slack, admin) if p is not None])
    with _one_process(settings.database_url):
        async with configured(settings) as built:
            deps = built.deps
            signing = env.slack_signing_secret
            secret = signing.get_secret_value() if signing is not None and not socket_mode else None
            app = build_app(
                deps, token=env.slack_bot_token.get_secret_value(), signing_secret=secret,
                api_url=env.slack_api_url,
            )  # fmt: skip
            monitor = built.monitor(app.client, shared=True)
            assert monitor.ownership is not None
            await monitor.ownership.keep()  # the accounts this process polls, before its first poll
            scheduler = built.scheduler(monitor)
            scheduler.start()
            built.scheduler_running = lambda: bool(scheduler.running)
            try:
                await _serve(app, built, slack, admin, env.slack_app_token if socket_mode else None)
            finally:
                await stop_scheduler(scheduler, deps.inflight)
                await monitor.ownership.leave()
    return 0


@contextlib.contextmanager
def _one_process(url: str) -> Iterator[None]:
    try:
        with one_process(url):
            yield
    except DatabaseInUse as busy:
        raise ConfigError([f"CRONOPS_DATABASE_URL: {busy}"]) from None


async def _serve(
    app: AsyncApp,
    built: Runtime,
    slack: ports.Port | None,
    admin: ports.Port,
    app_token: SecretStr | None,
) -> None:
    """HTTP mode serves Slack's endpoint and the admin port; Socket Mode connects out and
    serves only the admin port."""
    health_app = Starlette(
        routes=health.routes(built.store, built.deps.metrics, built.scheduler_running, built.name)
    )
    served: list[tuple[ASGIApp, ports.Port]] = [(health_app, admin)]
    if slack is not None:
        served.insert(0, (http.build_http_app(app), slack))
    sockets = ports.bind([port for _, port in served])  # before anything connects
    serving = ports.Serving([(asgi, sock) for (asgi, _), sock in zip(served, sockets, strict=True)])
    if app_token is None:
        await serving.run()
        return
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, app_token.get_secret_value())
    await handler.connect_async()  # type: ignore[no-untyped-call]
    try:
        await serving.run()  # until SIGTERM or SIGINT
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


def tune_gc() -> None:
    """Garbage collection for a long-running bot that reads lists of thousands of jobs.

    CPython's defaults (a young collection every 700 allocations, a full one soon after) make a
    10,000-job poll spend about a quarter of its time collecting, mostly re-scanning the
    modules loaded at start. Those are frozen out of collection, and young collections run
    every 10,000 allocations: cycles are still collected, a little later. A burst of commands
    gains too: without it the ack benchmark's p99 was 1.3-7× higher (five paired runs).
    """
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


# -- cronops check, cronops poll --once -----------------------------------------------------
async def check(settings: Settings) -> int:
    """Call each account once; print a table; 1 if any failed."""
    failed = 0
    rows = [("account", "provider", "result", "jobs", "budget used/left")]
    async with configured(settings) as built:
        for name, provider in built.deps.service.providers.items():
            try:
                result = await provider.check()
            except ProviderError as error:
                failed += 1
                rows.append((name, provider.label, f"FAILED: {error.user_message}", "-", "-"))
                continue
            budget = "-"
            if result.budget_limit:
                used = result.budget_used or 0
                budget = f"{used}/{result.budget_limit - used}"
            rows.append((name, provider.label, "ok", str(result.jobs), budget))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 1 if failed else 0


async def poll_once(settings: Settings) -> int:
    """One cycle: post what it finds when a bot token is set, print it in any case."""
    token = settings.env.slack_bot_token
    async with configured(settings) as built:
        client = SlackClient(
            token=token.get_secret_value() if token else None, base_url=settings.env.slack_api_url
        )
        monitor = built.monitor(client)
        if token is None:
            monitor.notifier.default_channel = None  # nothing to post to: just report
        transitions = await monitor.poll_all()
        for t in transitions:
            subject = t.job.ref if t.job else t.account
            print(f"{t.kind.value:14} {subject}  {t.error or ''}".rstrip())
        print(f"{len(transitions)} change(s) in {len(built.deps.service.accounts)} account(s)")
    return 0
