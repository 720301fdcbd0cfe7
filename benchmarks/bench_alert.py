"""Time to alert: from a job failing to its `chat.postMessage` arriving at the fake Slack.

The bot's own parts — APScheduler jobs from ``build_scheduler``, ``Monitor``, ``Notifier``,
the SQLite store — on the real clock, with the four simulators in-process and the fake Slack
on loopback. Wired in code because a config file refuses a poll interval under 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.poll_world import healthy
from benchmarks.report import Section, ms, percentile, secs
from bot.alerts.cycle import build_monitor
from bot.alerts.notifier import Held
from bot.alerts.poll import Kind, Transition
from bot.alerts.scheduler import build_scheduler
from bot.chat.service import CronService
from bot.config.settings import AlertsConfig
from bot.demo.fakeslack import Call, FakeSlack
from bot.inflight import Inflight
from bot.store import Store
from providers.clock import utcnow
from providers.config import BuildContext
from providers.registry import build_providers
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite

INTERVAL = 2.0
FAILURES = 50
WINDOW = 30.0  # seconds over which the failures are spread
JOBS = 30  # per provider
CHANNEL = "CALERTS0001"


@dataclass
class Bot:
    service: CronService
    store: Store
    inflight: Inflight
    fake: FakeSlack
    suite: SimSuite
    failed_at: dict[str, float] = field(default_factory=dict)  # ref -> monotonic time
    polls: dict[str, list[float]] = field(default_factory=dict)  # account -> poll start times
    names: dict[str, str] = field(default_factory=dict)  # ref -> account
    queued: dict[int, float] = field(default_factory=dict)  # incident id -> alert queued


@dataclass
class Alert:
    """One failure's way to Slack, in seconds after it failed."""

    poll: float  # its account's next poll started
    queued: float  # the poll queued its alert in the outbox (in the poll's transaction)
    posted: float  # the post arrived at the fake Slack


def run() -> Section:
    return asyncio.run(_run())


async def _run() -> Section:
    async with _bot() as bot:
        await _first_polls(bot)
        await _inject(bot, random.Random(5))
        alerts = await _alerts(bot, within=WINDOW + 30)
    return _section(alerts, _waits(bot))


@contextlib.asynccontextmanager
async def _bot() -> AsyncIterator[Bot]:
    suite, fake = SimSuite(seed=4, jobs=JOBS, options=UNLIMITED), FakeSlack()
    with tempfile.TemporaryDirectory(prefix="cronops-alert-") as scratch:
        async with LoopbackServer(fake.app) as slack:
            fake.base_url = slack.url
            store = await Store.open(f"sqlite:///{Path(scratch)}/alerts.db")
            # No daily budget on cron-job.org here: pacing by budget is bench_budget's subject.
            ctx = BuildContext(ledger=store.budget, transport_for=suite.transport_for)
            providers = build_providers(suite.accounts(budget=None), ctx)
            service, inflight = CronService(providers), Inflight()
            # under the 10 s a config file allows: built here, not validated
            alerts = AlertsConfig.model_construct(
                channel=CHANNEL, poll_interval=timedelta(seconds=INTERVAL)
            )
            client = AsyncWebClient(token="xoxb-bench", base_url=f"{slack.url}/api/")
            monitor = build_monitor(service, store, client, alerts=alerts)
            bot = Bot(service, store, inflight, fake, suite)
            poll = monitor.poll

            async def timed_poll(account: str) -> list[Transition]:
                bot.polls.setdefault(account, []).append(time.monotonic())
                async with bot.inflight.track():  # drained before the store closes
                    return await poll(account)

            monitor.poll = timed_poll  # type: ignore[method-assign]
            enqueue = monitor.notifier.enqueue

            async def timed_enqueue(
                transitions: Sequence[Transition], now: datetime, *, held: Held | None = None
            ) -> None:
                await enqueue(transitions, now, held=held)
                for t in transitions:
                    if t.kind is Kind.OPENED and t.incident is not None:
                        bot.queued.setdefault(t.incident.id, time.monotonic())

            monitor.notifier.enqueue = timed_enqueue  # type: ignore[method-assign]
            scheduler = build_scheduler(
                service, store, monitor.delivery, inflight=inflight, clock=utcnow,
                monitor=monitor,
            )  # fmt: skip
            scheduler.start()
            try:
                yield bot
            finally:
                scheduler.pause()  # no new runs; shutdown would cancel the running ones
                await asyncio.sleep(0.2)  # jobs already handed to the executor start...
                await bot.inflight.drain()  # ...and finish before the store closes
                scheduler.shutdown(wait=False)
                for provider in providers.values():
                    await provider.aclose()
                await store.close()


async def _first_polls(bot: Bot, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = await bot.store.accounts.states()
        if len(states) == 4 and all(s.last_success_at for s in states):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the first polls did not finish")


async def _inject(bot: Bot, rng: random.Random) -> None:
    """FAILURES distinct healthy jobs fail at random moments over WINDOW seconds."""
    names: dict[str, str] = {account.provider: account.name for account in bot.suite.accounts()}
    pool = [(slug, job) for slug, sim in bot.suite.sims.items() for job in healthy(sim)]
    picked = rng.sample(pool, FAILURES)
    moments = sorted(rng.uniform(0, WINDOW) for _ in picked)
    began = time.monotonic()
    for (slug, job_id), moment in zip(picked, moments, strict=True):
        await asyncio.sleep(max(0.0, began + moment - time.monotonic()))
        bot.suite[slug].run(job_id, ok=False)
        bot.failed_at[f"{names[slug]}:{job_id}"] = time.monotonic()
        bot.names[f"{names[slug]}:{job_id}"] = names[slug]


def _waits(bot: Bot) -> list[float]:
    """Seconds from each failure to the start of its account's next poll: the floor."""
    waits = []
    for ref, at in bot.failed_at.items():
        later = [start for start in bot.polls.get(bot.names[ref], []) if start >= at]
        if later:
            waits.append(later[0] - at)
    return waits


async def _alerts(bot: Bot, *, within: float) -> list[Alert]:
    """Each failure's way to the post of its incident (missing ones are left out)."""

    def opened(call: Call) -> bool:
        key = str(((call.body.get("metadata") or {}).get("event_payload") or {}).get("key", ""))
        return key.startswith("incident:") and ":post:" in key and "_failed" not in call.body

    with contextlib.suppress(TimeoutError):
        await bot.fake.wait_for("chat.postMessage", FAILURES, within=within, where=opened)
    posted: dict[int, float] = {}
    for call in bot.fake.of("chat.postMessage"):
        if opened(call):
            key = call.body["metadata"]["event_payload"]["key"]
            posted.setdefault(int(key.split(":")[1]), call.at)
    alerts = []
    for incident in await bot.store.incidents.all_open():
        at = bot.failed_at.get(incident.ref)
        if at is None or incident.id not in posted:
            continue
        polls = [start for start in bot.polls.get(bot.names[incident.ref], []) if start >= at]
        poll = polls[0] if polls else math.nan
        queued = bot.queued.get(incident.id, math.nan)
        alerts.append(Alert(poll - at, queued - at, posted[incident.id] - at))
    return alerts


def _section(alerts: list[Alert], waits: list[float]) -> Section:
    section = Section(
        "alert", "Time to alert",
        f"Poll interval {INTERVAL:.0f} s; {FAILURES} distinct healthy jobs (of {JOBS} per "
        f"provider, all four providers, one account each) fail at random moments over "
        f"{WINDOW:.0f} s; measured from the failure to the incident's `chat.postMessage` "
        "arriving at the fake Slack. The bot's scheduler, monitor, notifier and SQLite store on "
        "the real clock; simulators in-process; the Slack Web API over loopback. The scheduler "
        "starts the four accounts' polls a quarter interval apart (`spread` in "
        "`bot.alerts.scheduler`), not all at once. Baseline, "
        "measured in the same run: the wait from each failure to the start of its account's "
        "next poll — what an alert would take with no work at all after that. The second table "
        "splits each alert's way: the wait for the poll, the poll until it queues the alert in "
        "the outbox (list read, transitions decided, in the poll's transaction), and the queue "
        "until the post arrives (commit, outbox claim, `chat.postMessage`); the last row, "
        "poll start to post, is cronops' own part of each alert (the first table's difference "
        "row subtracts percentiles of two distributions, not alert by alert).",
    )  # fmt: skip
    delays = [a.posted for a in alerts]
    p50, p99 = percentile(delays, 50), percentile(delays, 99)
    w50, w99 = percentile(waits, 50), percentile(waits, 99)
    section.table(
        ["", "p50", "p99", "max", "count"],
        [["failure → alert posted", secs(p50), secs(p99), secs(max(delays, default=0.0)),
          f"{len(delays)}/{FAILURES}"],
         ["baseline: failure → next poll starts", secs(w50), secs(w99),
          secs(max(waits, default=0.0)), f"{len(waits)}/{FAILURES}"],
         ["difference (p − baseline p)", ms(p50 - w50), ms(p99 - w99), "", ""]],
    )  # fmt: skip

    def stage(name: str, values: list[float]) -> list[str]:
        return [name, ms(percentile(values, 50)), ms(percentile(values, 99)),
                ms(max(values, default=math.nan))]  # fmt: skip

    section.table(
        ["each alert's way", "p50", "p99", "max"],
        [stage("failure → its account's poll starts", [a.poll for a in alerts]),
         stage("poll starts → alert queued", [a.queued - a.poll for a in alerts]),
         stage("alert queued → post arrives", [a.posted - a.queued for a in alerts]),
         stage("poll starts → post arrives (cronops' own part)",
               [a.posted - a.poll for a in alerts])],
    )  # fmt: skip
    section.table(
        ["ratio", "value"], [["p99 / baseline p99", f"{p99 / w99:.2f}×" if w99 else "n/a"]]
    )
    target = INTERVAL + 0.5
    complete = len(delays) == FAILURES
    section.target(
        f"p99 ≤ interval + 0.5 s = {secs(target)}",
        f"{secs(p99)} ({len(delays)}/{FAILURES} alerted)",
        complete and p99 <= target,
    )
    section.headline("time to alert p99", secs(p99))
    return section
