"""Budget: a simulated UTC day of a cron-job.org account on its default 100 requests/day.

The bot's monitor (poll, alert, pace) and service (people's `/cron list`) against the
cron-job.org simulator with its real daily quota and rate windows, on a simulated clock.
Baseline, the same day in the same run: polling every ``poll_interval`` without pacing.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.poll_world import START as MORNING
from benchmarks.poll_world import Clock, healthy
from benchmarks.report import Section
from bot.alerts.cycle import Monitor, build_monitor
from bot.alerts.poll import Kind
from bot.chat.durations import humanize
from bot.chat.service import CronService
from bot.config.settings import AlertsConfig
from bot.demo.fakeslack import FakeSlack
from bot.store import Store
from providers.budget import RateLimits
from providers.config import BuildContext
from providers.registry import build_providers
from providers.sim.serve import LoopbackServer
from providers.sim.suite import SimSuite

BUDGET = 100
COMMANDS = 20
FAILURES = 12
POLL_INTERVAL = 60.0  # the config's default and fastest pace here
JOBS = 40
ACCOUNT = "prod"
START = MORNING.replace(hour=0)  # budgets are per UTC day


@dataclass
class Day:
    requests: int = 0  # API calls the simulator received (refused ones too)
    polls: int = 0
    read: list[datetime] = field(default_factory=list)  # polls that read the job list
    answered: int = 0
    alerts: int = 0
    delays: list[float] = field(default_factory=list)  # failure -> incident opened, seconds

    @property
    def worst_gap(self) -> float:
        """The longest stretch of the day without a poll that read the list (seconds)."""
        moments = [START, *self.read, START + timedelta(days=1)]
        return max((b - a).total_seconds() for a, b in itertools.pairwise(moments))


def run() -> Section:
    return asyncio.run(_run())


async def _run() -> Section:
    fake = FakeSlack()
    async with LoopbackServer(fake.app) as slack:
        fake.base_url = slack.url
        paced = await _day(slack.url, paced=True)
        fixed = await _day(slack.url, paced=False)
    return _section(paced, fixed)


async def _day(slack_url: str, *, paced: bool) -> Day:
    """One UTC day from 00:00, the same commands and failures whichever way it polls.

    Events in time order: a failure or a command at its own moment, a poll when it is due.
    """
    clock = Clock(START)
    suite = SimSuite(clock=clock, seed=4, jobs=JOBS)  # cron-job.org's quota and rate windows
    sim: Any = suite["cronjob-org"]
    rng = random.Random(42)
    commands = sorted(START + timedelta(seconds=rng.uniform(0, 86_000)) for _ in range(COMMANDS))
    failing = rng.sample(healthy(sim), FAILURES)
    moments = sorted(START + timedelta(seconds=rng.uniform(0, 86_000)) for _ in failing)
    failures = list(zip(moments, failing, strict=True))
    failed_at: dict[str, datetime] = {}
    day, end, next_poll = Day(), START + timedelta(days=1), START
    with tempfile.TemporaryDirectory(prefix="cronops-budget-", dir=_fast_dir()) as scratch:
        store = await Store.open(f"sqlite:///{Path(scratch)}/budget.db")
        accounts = [a for a in suite.accounts(budget=BUDGET) if a.name == ACCOUNT]
        ctx = BuildContext(ledger=store.budget, transport_for=suite.transport_for, clock=clock)
        providers = build_providers(accounts, ctx)
        for provider in providers.values():  # its 5/s windows run on real time; the
            provider.http.limits = RateLimits(None)  # simulator enforces them on the day's clock
        service = CronService(providers, clock=clock)
        alerts = AlertsConfig(channel="CALERTS0001", poll_interval=POLL_INTERVAL)
        client = AsyncWebClient(token="xoxb-budget", base_url=f"{slack_url}/api/")
        monitor = build_monitor(service, store, client, alerts=alerts, clock=clock)
        try:
            while (now := min([next_poll, *(m for m, _ in failures[:1]), *commands[:1]])) < end:
                clock.now = now
                if failures and failures[0][0] == now:
                    job_id = failures.pop(0)[1]
                    sim.run(job_id, ok=False, at=now)
                    failed_at[job_id] = now
                elif commands and commands[0] == now:
                    commands.pop(0)
                    listing = await service.listing(ACCOUNT, fresh=True)
                    day.answered += not listing.failures
                else:
                    await _poll(monitor, day, failed_at, now)
                    next_poll = now + timedelta(
                        seconds=monitor.intervals[ACCOUNT] if paced else POLL_INTERVAL
                    )
        finally:
            for provider in providers.values():
                await provider.aclose()
            await store.close()
    day.requests = sim.total_requests
    return day


async def _poll(monitor: Monitor, day: Day, failed_at: dict[str, datetime], now: datetime) -> None:
    transitions = await monitor.poll(ACCOUNT)
    day.polls += 1
    state = await monitor.store.accounts.state(ACCOUNT)
    if state and state.last_success_at == now:
        day.read.append(now)
    for t in transitions:
        if t.kind is Kind.OPENED and t.job and t.job.id in failed_at:
            day.alerts += 1
            day.delays.append((now - failed_at[t.job.id]).total_seconds())


def _fast_dir() -> str | None:
    """A RAM disk for the scratch database when there is one: 1,440 polls of the baseline
    would otherwise spend most of their time in fsync (wall time is not a figure here)."""
    return "/dev/shm" if Path("/dev/shm").is_dir() else None


def _section(paced: Day, fixed: Day) -> Section:
    section = Section(
        "budget", "Budget: a day on 100 requests",
        f"A simulated UTC day (00:00 → 24:00) of one cron-job.org account with {JOBS} jobs and "
        f"a daily budget of {BUDGET} requests (the simulator enforces the quota and rate "
        f"windows); {COMMANDS} `/cron list` commands (fresh, not cached) and {FAILURES} job "
        "failures at random moments. cronops: the monitor paces polls so the budget, less the "
        f"reserve kept for people, lasts the day (poll_interval {POLL_INTERVAL:.0f} s is the "
        f"fastest). Baseline, same day, same run: polling every {POLL_INTERVAL:.0f} s.",
    )  # fmt: skip

    def row(name: str, day: Day) -> list[str]:
        worst = humanize(timedelta(seconds=max(day.delays))) if day.delays else "none alerted"
        if day.delays and day.alerts < FAILURES:
            worst += f" ({FAILURES - day.alerts} not alerted by 24:00)"
        return [
            name, f"{day.requests}/{BUDGET}", str(max(0, BUDGET - day.requests)), str(day.polls),
            str(len(day.read)), f"{day.answered}/{COMMANDS}", f"{day.alerts}/{FAILURES}",
            humanize(timedelta(seconds=day.worst_gap)), worst,
        ]  # fmt: skip

    section.table(
        ["polling", "requests used", "unused at 24:00", "polls", "polls that read the list",
         "commands answered", "failures alerted", "worst time-to-alert allowed (longest gap)",
         "worst measured failure → alert"],
        [row("cronops (paced)", paced), row(f"baseline (every {POLL_INTERVAL:.0f} s)", fixed)],
    )  # fmt: skip
    section.table(
        ["ratio", "value"],
        [["baseline longest gap / cronops longest gap",
          f"{fixed.worst_gap / paced.worst_gap:.1f}×" if paced.worst_gap else "n/a"]],
    )  # fmt: skip
    section.target(f"requests used ≤ {BUDGET}", f"{paced.requests}", paced.requests <= BUDGET)
    section.target(
        f"all {COMMANDS} commands answered",
        f"{paced.answered}/{COMMANDS}",
        paced.answered == COMMANDS,
    )
    section.notes.append(
        f"Worst time-to-alert this budget allows (printed, no target): "
        f"{humanize(timedelta(seconds=paced.worst_gap))} ({paced.worst_gap:.0f} s), the longest "
        "interval between two polls that read the job list."
    )
    return section
