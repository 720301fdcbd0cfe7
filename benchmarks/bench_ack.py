"""Ack latency under slow providers: `cronops run` vs a Bolt app that calls the provider first.

The simulators and the fake Slack are served on loopback by a process of their own
(``benchmarks.services``); the bot and the baseline are child processes; this process sends the
load. Every provider request waits ``LATENCY`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from benchmarks.load import SLACK_LIMIT, Load, collect_remote, send
from benchmarks.procs import SECRET, Child, child, cronops_run, free_port
from benchmarks.report import Section, ms, percentile, ratio, secs
from benchmarks.services import Services, services
from providers.sim.base import SIM_KEY
from providers.sim.suite import UNLIMITED, SimSuite

SEED = 2
LATENCY = 2.0
REQUESTS = 300
CONCURRENCY = 50
JOBS = 25  # per provider: 100 jobs in the listing
ACK_TARGET = 0.050
ANSWER_SLACK = 0.200
ANSWER_WAIT = 15.0  # seconds to wait for the last answer


@dataclass
class Run:
    load: Load
    provider_requests: int
    cpu: float  # seconds of CPU the app's process used for the whole run
    calls: list[tuple[float, float]]  # provider requests: (sent, answered), from the first command


def run() -> Section:
    return asyncio.run(_run())


async def _run() -> Section:
    # The simulators and the fake Slack run in their own process (as remote services would);
    # this copy of the same seeded suite only writes the bot's account configuration.
    suite = SimSuite(seed=SEED, jobs=JOBS, options=UNLIMITED)
    async with services(seed=SEED, jobs=JOBS) as remote:
        async with cronops_run(suite, remote.sims, remote.slack) as bot:
            await _settle(bot.url)
            await send(bot.url, remote, text="help", requests=5, concurrency=1)  # warm up
            ours = await _measure(remote, bot, answers=True)
            help_only = await _measure(remote, bot, answers=False, text="help")
        async with _naive(suite, remote.sims, remote.slack) as naive_app:
            await send(naive_app.url, remote, text="list", requests=5, concurrency=1)
            naive = await _measure(remote, naive_app, answers=False)
    return _section(ours, help_only, naive)


async def _measure(remote: Services, app: Child, *, answers: bool, text: str = "list") -> Run:
    """``answers``: wait for the response_url posts; else the answer is in the ack itself."""
    requests, cpu = await remote.provider_requests(), app.cpu_seconds()
    calls: list[tuple[float, float]] = []
    await remote.set_latency(LATENCY)
    try:
        load = await send(app.url, remote, text=text, requests=REQUESTS, concurrency=CONCURRENCY)
        if answers:
            await collect_remote(remote, load, within=ANSWER_WAIT)
            first = min(load.sent.values())
            calls = [(a - first, b - first) for a, b, _ in await remote.provider_calls()
                     if a >= first]  # fmt: skip
        else:
            load.answers = list(load.acks)
    finally:  # requests still waiting are answered at once
        await remote.set_latency(0.0)
    return Run(
        load, await remote.provider_requests() - requests, app.cpu_seconds() - cpu,
        calls,
    )  # fmt: skip


async def _settle(url: str, within: float = 60.0) -> None:
    """Until every account's first poll is done (at zero latency), so polls do not overlap."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            accounts = (await client.get(f"{url}/healthz")).json().get("accounts", {})
            if len(accounts) == 4 and all(a["last_success"] for a in accounts.values()):
                return
            await asyncio.sleep(0.2)
    raise RuntimeError("the bot's first polls did not finish")


@contextlib.asynccontextmanager
async def _naive(suite: SimSuite, sims_url: str, slack_url: str) -> AsyncIterator[Child]:
    port = free_port()
    env = {
        "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{slack_url}/api/", "SIM_KEY": SIM_KEY,
        "PROVIDER_URL": f"{suite.base_url('cronjob-org', sims_url)}/jobs",
    }  # fmt: skip
    args = ["-m", "benchmarks.naive_bolt", "--port", str(port)]
    async with child(args, env, url=f"http://127.0.0.1:{port}") as app:
        yield app


def _row(name: str, run: Run) -> list[str]:
    load = run.load
    late = len(load.answers) < REQUESTS
    return [
        name, ms(percentile(load.acks, 50)), ms(percentile(load.acks, 95)),
        ms(percentile(load.acks, 99)), secs(percentile(load.answers, 50)),
        secs(percentile(load.answers, 99)) if not late else "n/a",
        secs(max(load.answers)) if not late else f"> {ANSWER_WAIT:.0f} s",
        f"{len(load.answers)}/{REQUESTS}", str(load.over_limit), str(run.provider_requests),
        f"{run.cpu / REQUESTS * 1000:.1f} ms", f"{load.wall:.1f} s",
    ]  # fmt: skip


def _section(ours: Run, help_only: Run, naive: Run) -> Section:
    section = Section(
        "ack", "Ack latency under slow providers",
        f"{REQUESTS} signed `/cron list` requests, {CONCURRENCY} in flight at a time (closed "
        f"loop, one keep-alive connection each), every provider request delayed "
        f"{LATENCY:.0f} s; {JOBS} jobs per provider. cronops: `cronops run` (HTTP mode) as a "
        "child process, after its first polls. Baseline: a minimal Bolt app "
        "(`benchmarks/naive_bolt.py`) that lists cron-job.org jobs before acking, with the "
        "answer in the ack. Answer = from sending the command to its response_url post "
        "arriving at the fake Slack. The simulators and the fake Slack run in a process of "
        "their own (`benchmarks/services.py`), apart from the load generator. "
        "Diagnostic row: the same load of `/cron help`, answered "
        "in the ack without any provider call — the cost of the ack path alone.",
    )  # fmt: skip
    section.table(
        ["app", "ack p50", "ack p95", "ack p99", "answer p50", "answer p99", "answer max",
         f"answered in {ANSWER_WAIT:.0f} s", f"acks > {SLACK_LIMIT:.0f} s", "provider requests",
         "app CPU per command", "load wall time"],
        [_row("cronops `/cron list`", ours), _row("baseline Bolt `/cron list`", naive),
         _row("cronops `/cron help` (diagnostic)", help_only)],
    )  # fmt: skip
    acks, base = ours.load.acks, naive.load.acks
    p99 = percentile(acks, 99)
    answers = ours.load.answers
    worst = max(answers) if len(answers) == REQUESTS else math.inf
    section.table(
        ["ratio (baseline / cronops)", "value"],
        [["ack p99", ratio(percentile(base, 99), p99)],
         ["ack p50", ratio(percentile(base, 50), percentile(acks, 50))],
         ["answer p50", ratio(percentile(naive.load.answers, 50), percentile(answers, 50))]],
    )  # fmt: skip
    section.target(f"p99 ack ≤ {ms(ACK_TARGET)}", ms(p99), p99 <= ACK_TARGET)
    section.target(
        f"every full answer ≤ provider latency + {ms(ANSWER_SLACK)} "
        f"= {secs(LATENCY + ANSWER_SLACK)}",
        f"max {secs(worst)}" if not math.isinf(worst)
        else f"{len(answers)}/{REQUESTS} answered within {ANSWER_WAIT:.0f} s",
        worst <= LATENCY + ANSWER_SLACK,
    )  # fmt: skip
    if ours.calls:
        sent, answered = max(c[0] for c in ours.calls), max(c[1] for c in ours.calls)
        section.notes.append(
            f"Timeline of the cronops run, from the first command: its {len(ours.calls)} "
            f"provider requests were all sent by {ms(sent)} (while {REQUESTS} acks were being "
            f"served) and all answered by {secs(answered)}; the answers arrived between "
            f"{secs(min(answers))} and {secs(max(answers))} after their own commands."
        )
    bad = {code: n for code, n in ours.load.statuses.items() if code != 200}
    if bad:
        section.notes.append(f"cronops non-200 acks: {bad}")
    return section
