"""A monitored world for alert tests: simulators on an injected clock, fake Slack, one database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.cycle import Monitor, build_monitor
from bot.chat.service import CronService
from bot.config.settings import AlertsConfig
from bot.demo.fakeslack import Call, FakeSlack
from bot.store import Store
from providers.config import BuildContext
from providers.http import RetryPolicy
from providers.registry import build_providers
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite

DEFAULT = "CALERTS00"
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

#: Retries as in production (three tries), without the waits between them.
RETRY_AT_ONCE = RetryPolicy(attempts=3, initial_wait=0, max_wait=0)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class World:
    suite: SimSuite
    clock: Clock
    fake: FakeSlack
    db: str
    slack_url: str
    monitors: list[Monitor] = field(default_factory=list)
    stores: list[Store] = field(default_factory=list)

    async def monitor(
        self, *, accounts: tuple[str, ...] = ("prod",), threshold: int = 1, budget: int = 5000,
        outage_after: int = 3, **alerts: Any,
    ) -> Monitor:  # fmt: skip
        """A fresh process: new store connection, new clients, same database."""
        store = await Store.open(self.db)
        self.stores.append(store)
        wanted = [a for a in self.suite.accounts(budget=budget) if a.name in accounts]
        ctx = BuildContext(
            ledger=store.budget, transport_for=self.suite.transport_for, clock=self.clock,
            retry=RETRY_AT_ONCE,
        )  # fmt: skip
        service = CronService(build_providers(wanted, ctx), clock=self.clock)
        config = AlertsConfig(
            channel=DEFAULT, failures_before_alert=threshold, outage_after=outage_after, **alerts
        )
        client = AsyncWebClient(token="xoxb-t", base_url=f"{self.slack_url}/api/")
        monitor = build_monitor(service, store, client, alerts=config, clock=self.clock)
        self.monitors.append(monitor)
        return monitor

    def posts(
        self, channel: str = DEFAULT, *, thread: bool = False, kind: str = "incident:"
    ) -> list[Call]:
        """Posts in ``channel`` whose idempotency key starts with ``kind``."""
        return [
            c for c in self.fake.of("chat.postMessage")
            if c.body.get("channel") == channel and bool(c.body.get("thread_ts")) == thread
            and _key(c).startswith(kind) and "_failed" not in c.body
        ]  # fmt: skip

    def run(self, slug: str, job_id: str, ok: bool) -> None:
        self.suite[slug].run(job_id, ok=ok, at=self.clock.tick(minutes=1))


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = Clock()
    suite = SimSuite(clock=clock, seed=4, jobs=10, options=UNLIMITED)
    fake = FakeSlack()
    async with LoopbackServer(fake.app) as slack:
        fake.base_url = slack.url
        built = World(suite, clock, fake, f"sqlite:///{tmp_path}/alerts.db", slack.url)
        try:
            yield built
        finally:
            for monitor in built.monitors:
                for provider in monitor.service.providers.values():
                    await provider.aclose()
            for store in built.stores:
                await store.close()


def _key(call: Call) -> str:
    return str(((call.body.get("metadata") or {}).get("event_payload") or {}).get("key", ""))


def healthy(world: World, slug: str = "cronjob-org") -> str:
    sim: Any = world.suite[slug]
    return next(i for i in sim.job_ids() if _is_healthy(sim, i))


def _is_healthy(sim: Any, job_id: str) -> bool:
    job = sim.jobs.get(int(job_id)) if hasattr(sim, "jobs") else None
    return bool(job and job["enabled"] and job["lastStatus"] in (0, 1) and job.get("type", 0) == 0)
