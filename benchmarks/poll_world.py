"""A simulated account set for poll benchmarks: in-process simulators on a clock we move."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.store import Store
from providers.base import Provider
from providers.config import BuildContext
from providers.registry import build_providers
from providers.sim.base import Simulator
from providers.sim.suite import SimSuite

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BUDGET = 1_000_000
FAILING_SHARE = 0.01  # of each provider's jobs, newly failing before each cycle
#: No server-side quota or rate windows: the simulators count, they do not refuse. The client
#: keeps its own limits (cron-job.org: 5 requests/s per API method).
OPTIONS: dict[str, dict[str, Any]] = {"cronjob-org": {"daily_quota": None, "rate_limits": False}}


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@dataclass
class World:
    suite: SimSuite
    clock: Clock
    store: Store
    providers: dict[str, Provider]  # account -> client, only the polled providers
    rng: random.Random = field(default_factory=lambda: random.Random(11))

    def sim(self, account: str) -> Simulator:
        return self.suite[self.provider_slug(account)]

    def provider_slug(self, account: str) -> str:
        return self.providers[account].slug

    def jobs(self, account: str) -> int:
        return len(self.sim(account).job_ids())

    def fail_some(self, account: str) -> list[str]:
        """Make 1% of the account's jobs (at least one) fail now, picked among healthy ones."""
        sim = self.sim(account)
        count = max(1, round(self.jobs(account) * FAILING_SHARE))
        picked = self.rng.sample(healthy(sim), count)
        for job_id in picked:
            sim.run(job_id, ok=False, at=self.clock.now)
        return picked

    def requests(self) -> dict[str, int]:
        return {account: self.sim(account).total_requests for account in self.providers}


def healthy(sim: Any) -> list[str]:
    """Jobs whose latest result is a success, so a failure now is a new failure."""
    if sim.slug == "cronjob-org":
        return [str(i) for i, job in sim.jobs.items() if job["lastStatus"] == 1]
    if sim.slug == "cronhub":
        return [f"monitor/{code}" for code, m in sim.monitors.items() if m.status == "up"]
    if sim.slug == "djinn":
        return [
            str(i) for i, builds in sim.builds.items() if builds and builds[-1].status == "passed"
        ]
    return [f"{app}/{cid}" for app, jobs in sim.cronjobs.items()
            for cid, job in jobs.items() if job["state"] == "running"]  # fmt: skip


@asynccontextmanager
async def world(scratch: Path, *, jobs_each: int, slugs: tuple[str, ...]) -> AsyncIterator[World]:
    """``jobs_each`` jobs on each provider in ``slugs`` (none on the others); one database."""
    clock = Clock()
    suite = SimSuite(clock=clock, seed=7, jobs=0, options=OPTIONS)
    for slug in slugs:  # seed only what is polled
        suite.sims[slug] = type(suite.sims[slug])(
            clock=clock, seed=7, jobs=jobs_each, **OPTIONS.get(slug, {})
        )
    store = await Store.open(f"sqlite:///{scratch}/poll.db")
    # cron-job.org keeps a budget (each request is counted in the database, as in production),
    # large enough that pacing never enters into a cycle's figures.
    accounts = [a for a in suite.accounts(budget=BUDGET) if a.provider in slugs]
    ctx = BuildContext(ledger=store.budget, transport_for=suite.transport_for, clock=clock)
    providers = build_providers(accounts, ctx)
    try:
        yield World(suite, clock, store, providers)
    finally:
        for provider in providers.values():
            await provider.aclose()
        await store.close()
