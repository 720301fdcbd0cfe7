"""Budget: a simulated UTC day of a cron-job.org account on its default 100 requests/day.

The bot's monitor (poll, alert, pace) and service (people's `/cron list`) against the
cron-job.org simulator with its real daily quota and rate windows, on a simulated clock.
Baselines, the same day in the same run, with pacing off: a fixed poll interval a user would
choose to fit the budget (a day over what the poller may spend: budget less the reserve kept
for people), and the configured ``poll_interval`` itself.
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
from providers.budget import DailyBudget, MemoryLedger, RateLimits
from providers.config import BuildContext
from providers.registry import build_providers
from providers.sim.serve import LoopbackServer
from providers.sim.suite import SimSuite

BUDGET = 100
COMMANDS = 20
FAILURES = 12
POLL_INTERVAL = 60  # seconds: the config's default and fastest pace here
DAY = 86_400.0
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
    failed_at: dict[str, datetime] = field(default_factory=dict)  # job id -> when it failed
    alerted: set[str] = field(default_factory=set)  # job ids whose incident opened

    @property
    def worst_alert(self) -> tuple[float, bool]:
        """The worst failure -> alert of the day (seconds), and whether it is only a lower
        bound: a failure not alerted by 24:00 has waited at least until then."""
        end = START + timedelta(days=1)
        waiting = [(end - at).total_seconds() for j, at in self.failed_at.items()
                   if j not in self.alerted]  # fmt: skip
        return max([*self.delays, *waiting], default=0.0), bool(waiting)

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
        paced = await _day(slack.url, every=None)
        fitted = await _day(slack.url, every=fitted_interval())
        unpaced = await _day(slack.url, every=POLL_INTERVAL)
    return _section(paced, fitted, unpaced)


def fitted_interval() -> float:
    """The fixed interval a user would configure so polls fit the budget: the day (a whole
    one, not compressed) over what the poller may spend, the budget less the reserve."""
    return DAY / (BUDGET - reserve())


def reserve() -> int:
    """The requests the product keeps for people's commands on this budget (its default)."""
    return DailyBudget(ACCOUNT, BUDGET, MemoryLedger()).kept_for_commands


async def _day(slack_url: str, *, every: float | None) -> Day:
    """One UTC day from 00:00, the same commands and failures whichever way it polls: paced
    by the monitor (``every`` None) or every ``every`` seconds, pacing off.

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
    day, end, next_poll = Day(), START + timedelta(days=1), START
    with tempfile.TemporaryDirectory(prefix="cronops-budget-", dir=_fast_dir()) as scratch:
        store = await Store.open(f"sqlite:///{Path(scratch)}/budget.db")
        accounts = [a for a in suite.accounts(budget=BUDGET) if a.name == ACCOUNT]
        ctx = BuildContext(ledger=store.budget, transport_for=suite.transport_for, clock=clock)
        providers = build_providers(accounts, ctx)
        for provider in providers.values():  # its 5/s windows run on real time; the
            provider.http.limits = RateLimits(None)  # simulator enforces them on the day's clock
        service = CronService(providers, clock=clock)
        interval = timedelta(seconds=every or POLL_INTERVAL)  # what the user configured
        alerts = AlertsConfig(channel="CALERTS0001", poll_interval=interval)
        client = AsyncWebClient(token="xoxb-budget", base_url=f"{slack_url}/api/")
        monitor = build_monitor(service, store, client, alerts=alerts, clock=clock)
        try:
            while (now := min([next_poll, *(m for m, _ in failures[:1]), *commands[:1]])) < end:
                clock.now = now
                if failures and failures[0][0] == now:
                    job_id = failures.pop(0)[1]
                    sim.run(job_id, ok=False, at=now)
                    day.failed_at[job_id] = now
                elif commands and commands[0] == now:
                    commands.pop(0)
                    listing = await service.listing(ACCOUNT, fresh=True)
                    day.answered += not listing.failures
                else:
                    await _poll(monitor, day, now)
                    next_poll = now + timedelta(seconds=every or monitor.intervals[ACCOUNT])
        finally:
            for provider in providers.values():
                await provider.aclose()
            await store.close()
    day.requests = sim.total_requests
    return day


async def _poll(monitor: Monitor, day: Day, now: datetime) -> None:
    transitions = await monitor.poll(ACCOUNT)
    day.polls += 1
    state = await monitor.store.accounts.state(ACCOUNT)
    if state and state.last_success_at == now:
        day.read.append(now)
    for t in transitions:
        if t.kind is Kind.OPENED and t.job and t.job.id in day.failed_at:
            day.alerts += 1
            day.alerted.add(t.job.id)
            day.delays.append((now - day.failed_at[t.job.id]).total_seconds())


def _fast_dir() -> str | None:
    """A RAM disk for the scratch database when there is one: 1,440 polls of the baseline
    would otherwise spend most of their time in fsync (wall time is not a figure here)."""
    return "/dev/shm" if Path("/dev/shm").is_dir() else None


def _section(paced: Day, fitted: Day, unpaced: Day) -> Section:
    every = fitted_interval()
    section = Section(
        "budget", "Budget: a day on 100 requests",
        f"A simulated UTC day (00:00 → 24:00) of one cron-job.org account with {JOBS} jobs and "
        f"a daily budget of {BUDGET} requests (the simulator enforces the quota and rate "
        f"windows); {COMMANDS} `/cron list` commands (fresh, not cached) and {FAILURES} job "
        "failures at random moments, the same in every row. cronops: the monitor paces polls "
        "so the budget, less the reserve kept for people, lasts the day (poll_interval "
        f"{POLL_INTERVAL} s is the fastest). Baseline, same day, same run: the fixed interval a "
        "user would configure to fit the budget, a day over budget less reserve: 86,400 s / "
        f"({BUDGET} − {reserve()}) = {every:.0f} s ({humanize(timedelta(seconds=every))}), "
        "with pacing off; that sum leaves out the history read each new failure costs, and "
        "that commands spend from the same requests (the reserve is what stays unspent for "
        f"people). Further row: pacing off at poll_interval {POLL_INTERVAL} s. In every row "
        "the budget is enforced by the product: a request past what its purpose may spend is "
        "refused before it is sent (a refused poll waits for the next). Time to alert is on the "
        "simulated clock: from the failure to the poll that opens its incident (the post goes "
        "out in that poll); a failure not alerted by 24:00 counts as at least until 24:00.",
    )  # fmt: skip

    def worst(day: Day, *, short: bool = False) -> str:
        seconds, bound = day.worst_alert
        text = ("≥ " if bound else "") + humanize(timedelta(seconds=seconds))
        if day.alerts < FAILURES:
            text += f" ({FAILURES - day.alerts} not alerted{'' if short else ' by 24:00'})"
        return text

    def row(name: str, day: Day) -> list[str]:
        return [
            name, f"{day.requests}/{BUDGET}", str(max(0, BUDGET - day.requests)), str(day.polls),
            str(len(day.read)), f"{day.answered}/{COMMANDS}", f"{day.alerts}/{FAILURES}",
            humanize(timedelta(seconds=day.worst_gap)), worst(day),
        ]  # fmt: skip

    section.table(
        ["polling", "requests used", "unused at 24:00", "polls", "polls that read the list",
         "commands answered", "failures alerted", "longest gap between polls that read the list",
         "worst time to alert (failure → alert)"],
        [row("cronops (paced)", paced),
         row(f"baseline: fixed interval to fit the budget (every {every:.0f} s)", fitted),
         row(f"pacing off (every {POLL_INTERVAL} s)", unpaced)],
    )  # fmt: skip
    ours, _ = paced.worst_alert
    theirs, bound = fitted.worst_alert
    section.table(
        ["ratio", "value"],
        [["fixed-interval worst time to alert / cronops'",
          (("≥ " if bound else "") + f"{theirs / ours:.1f}×") if ours else "n/a"],
         ["fixed-interval longest gap / cronops'",
          f"{fitted.worst_gap / paced.worst_gap:.1f}×" if paced.worst_gap else "n/a"]],
    )  # fmt: skip
    section.target(
        f"never over budget: requests used ≤ {BUDGET}", str(paced.requests),
        paced.requests <= BUDGET,
    )  # fmt: skip
    section.target(
        f"all {COMMANDS} commands answered", f"{paced.answered}/{COMMANDS}",
        paced.answered == COMMANDS,
    )  # fmt: skip
    section.target(
        "worst time to alert better than the fixed-interval baseline's",
        f"{worst(paced)} vs {worst(fitted)}",
        paced.alerts == FAILURES and ours < theirs,
    )
    if fitted.read and fitted.alerts:
        cut = fitted.read[-1]
        section.notes.append(
            f"The fixed interval polls more often than cronops while its share lasts (worst "
            f"{humanize(timedelta(seconds=max(fitted.delays)))} for the {fitted.alerts} failures "
            f"it alerted), but its last poll that read the list was at {cut:%H:%M}: past the "
            f"share held for them, polls stop when {BUDGET - reserve()} requests are used, "
            "commands included (the reserve is "
            "what stays unspent for people), and the history read of each new failure costs "
            "one more; its sum counted neither, and every later poll was refused. cronops "
            "paces by what polls cost lately and what is left, so its polls last until 24:00."
        )
    section.headline("requests used", str(paced.requests))
    section.headline("worst time to alert", worst(paced, short=True))
    section.headline("fixed-interval worst time to alert", worst(fitted, short=True))
    return section
