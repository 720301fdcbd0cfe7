"""Ack latency under slow providers: `cronops run` vs a Bolt app that calls the provider first.

Simulators and the fake Slack are served on loopback by this process; the bot and the baseline
are child processes. Every provider request waits ``LATENCY`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx

from benchmarks.load import SLACK_LIMIT, Load, collect_answers, send
from benchmarks.procs import SECRET, Child, child, cronops_run, free_port
from benchmarks.report import Section, ms, percentile, ratio, secs
from bot.fakeslack import FakeSlack
from providers.sim.base import SIM_KEY
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite

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


def run() -> Section:
    return asyncio.run(_run())


async def _run() -> Section:
    suite, fake = SimSuite(seed=2, jobs=JOBS, options=UNLIMITED), FakeSlack()
    async with LoopbackServer(suite.app) as sims, LoopbackServer(fake.app) as slack:
        fake.base_url = slack.url
        async with cronops_run(suite, sims.url, slack.url) as bot:
            await _settle(bot.url)
            await send(bot.url, fake, text="help", requests=5, concurrency=1)  # warm up
            ours = await _measure(suite, bot, fake, answers=True)
            help_only = await _measure(suite, bot, fake, answers=False, text="help")
        async with _naive(suite, sims.url, slack.url) as naive_app:
            await send(naive_app.url, fake, text="list", requests=5, concurrency=1)
            naive = await _measure(suite, naive_app, fake, answers=False)
    return _section(ours, help_only, naive)


async def _measure(
    suite: SimSuite, app: Child, fake: FakeSlack, *, answers: bool, text: str = "list"
) -> Run:
    """``answers``: wait for the response_url posts; else the answer is in the ack itself."""
    requests, cpu = _provider_requests(suite), app.cpu_seconds()
    with _latency(suite, LATENCY):
        load = await send(app.url, fake, text=text, requests=REQUESTS, concurrency=CONCURRENCY)
        if answers:
            await collect_answers(fake, load, within=ANSWER_WAIT)
        else:
            load.answers = list(load.acks)
    return Run(load, _provider_requests(suite) - requests, app.cpu_seconds() - cpu)


@contextlib.contextmanager
def _latency(suite: SimSuite, seconds: float) -> Iterator[None]:
    for sim in suite.sims.values():
        sim.latency = seconds
    try:
        yield
    finally:  # requests still waiting are answered at once, so servers stop cleanly
        for sim in suite.sims.values():
            sim.latency = 0.0


def _provider_requests(suite: SimSuite) -> int:
    return sum(sim.total_requests for sim in suite.sims.values())


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
        "arriving at the fake Slack. Diagnostic row: the same load of `/cron help`, answered "
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
    bad = {code: n for code, n in ours.load.statuses.items() if code != 200}
    if bad:
        section.notes.append(f"cronops non-200 acks: {bad}")
    return section
