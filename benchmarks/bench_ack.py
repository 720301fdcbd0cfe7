"""Ack latency under slow providers: `cronops run` vs plain Bolt, in the same run.

Two baselines: plain Bolt as its docs teach (ack, then the provider, then ``respond()``;
``benchmarks.plain_bolt``), and the call-then-ack app Bolt's docs warn against
(``benchmarks.naive_bolt``). The simulators and the fake Slack are served on loopback by a
process of their own (``benchmarks.services``); the bot and the baselines are child processes;
this process sends the load. Every provider request waits ``LATENCY`` seconds.
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
ACK_TARGET = 0.020
ANSWER_SLACK = 0.200
BUDGET = LATENCY + ANSWER_SLACK  # the latest a full answer may arrive
CLOSE_ENOUGH = 2.0  # plain Bolt's ack p99 within this many times cronops's: the machinery is moot
ANSWER_WAIT = 30.0  # seconds to wait for the last answer (plain Bolt takes 6-14 s)
ALONE = 50  # commands sent one at a time, providers answering at once: the ack path's floor


@dataclass
class Run:
    load: Load
    provider_requests: int
    cpu: float  # seconds of CPU the app's process used for the whole run
    calls: list[tuple[float, float]]  # provider requests: (sent, answered), from the first command
    alone: Load | None = None  # ALONE commands one at a time, providers at 0 s


def run() -> Section:
    return asyncio.run(_run())


async def _run() -> Section:
    # The simulators and the fake Slack run in their own process (as remote services would);
    # this copy of the same seeded suite only writes the bot's account configuration.
    suite = SimSuite(seed=SEED, jobs=JOBS, options=UNLIMITED)
    async with services(seed=SEED, jobs=JOBS) as remote:
        async with cronops_run(suite, remote.sims, remote.slack) as bot:
            await _settle(bot.admin)
            await send(bot.url, remote, text="help", requests=5, concurrency=1)  # warm up
            ours = await _measure(remote, bot, answers=True)
            ours.alone = await _alone(bot, remote, answers=True)
            help_only = await _measure(remote, bot, answers=False, text="help")
        async with _bolt("plain_bolt", suite, remote) as plain_app:
            await _warm_up(plain_app, remote, answers=True)
            plain = await _measure(remote, plain_app, answers=True)
            plain.alone = await _alone(plain_app, remote, answers=True)
        async with _bolt("naive_bolt", suite, remote) as naive_app:
            await _warm_up(naive_app, remote, answers=False)
            naive = await _measure(remote, naive_app, answers=False)
            naive.alone = await _alone(naive_app, remote, answers=False)
    return _section(ours, plain, naive, help_only)


async def _warm_up(app: Child, remote: Services, *, answers: bool) -> None:
    """A few commands at zero latency, so the first measured ones pay no first-call costs."""
    load = await send(app.url, remote, text="list", requests=5, concurrency=1)
    if answers:  # an ack-first app answers after the ack: let those land before measuring
        await remote.answers(list(load.sent), within=5.0)


async def _alone(app: Child, remote: Services, *, answers: bool) -> Load:
    """``ALONE`` `/cron list` one at a time at zero latency: what an ack costs with no queue."""
    load = await send(app.url, remote, text="list", requests=ALONE, concurrency=1)
    if answers:  # nothing left running after
        await remote.answers(list(load.sent), within=5.0)
    return load


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
async def _bolt(module: str, suite: SimSuite, remote: Services) -> AsyncIterator[Child]:
    """A baseline Bolt app (``benchmarks.<module>``) as a child process."""
    port = free_port()
    env = {
        "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{remote.slack}/api/",
        "SIM_KEY": SIM_KEY, "PROVIDER_URL": f"{suite.base_url('cronjob-org', remote.sims)}/jobs",
    }  # fmt: skip
    args = ["-m", f"benchmarks.{module}", "--port", str(port)]
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


def _worst(run: Run) -> float:
    answers = run.load.answers
    return max(answers) if len(answers) == REQUESTS else math.inf


def _p99(run: Run) -> float:
    return percentile(run.load.acks, 99)


def _section(ours: Run, plain: Run, naive: Run, help_only: Run) -> Section:
    section = Section("ack", "Ack latency under slow providers", _setup())
    section.table(
        ["app", "ack p50", "ack p95", "ack p99", "answer p50", "answer p99", "answer max",
         f"answered in {ANSWER_WAIT:.0f} s", f"acks > {SLACK_LIMIT:.0f} s", "provider requests",
         "app CPU per command", "load wall time"],
        [_row("cronops `/cron list`", ours), _row("plain Bolt, ack first `/cron list`", plain),
         _row("call-then-ack Bolt `/cron list`", naive),
         _row("cronops `/cron help` (diagnostic)", help_only)],
    )  # fmt: skip
    apps = [("cronops", ours), ("plain Bolt, ack first", plain), ("call-then-ack Bolt", naive)]
    section.table(
        ["app", f"ack p99 ≤ {ms(ACK_TARGET)}", f"answer max ≤ {secs(BUDGET)}",
         "ack p99 / cronops", "answer max / cronops", "provider requests / cronops",
         "CPU per command / cronops"],
        [_versus(name, run, ours) for name, run in apps],
    )  # fmt: skip
    section.table(
        ["app", f"ack p50, {ALONE} one at a time", "ack p99, one at a time"],
        [[name, ms(_alone_acks(run, 50)), ms(_alone_acks(run, 99))] for name, run in apps],
    )  # fmt: skip
    others = f"plain Bolt {ms(_p99(plain))}, call-then-ack {ms(_p99(naive))}"
    section.target(
        f"ack p99 ≤ {ms(ACK_TARGET)} at concurrency {CONCURRENCY} with {LATENCY:.0f} s providers",
        f"{ms(_p99(ours))} ({others})", _p99(ours) <= ACK_TARGET,
    )  # fmt: skip
    section.target(
        f"full answer worst ≤ provider latency + {ms(ANSWER_SLACK)} = {secs(BUDGET)}",
        f"{_max_text(ours)} (plain Bolt {_max_text(plain)}, call-then-ack {_max_text(naive)})",
        _worst(ours) <= BUDGET,
    )  # fmt: skip
    section.notes += _notes(ours, plain, naive)
    section.headline("cronops ack p99", ms(_p99(ours)))
    section.headline("plain Bolt ack p99", ms(_p99(plain)))
    section.headline("answer max", _max_text(ours))
    return section


def _setup() -> str:
    return (
        f"{REQUESTS} signed `/cron list` requests, {CONCURRENCY} in flight at a time (closed "
        f"loop, one keep-alive connection each), every provider request delayed "
        f"{LATENCY:.0f} s; {JOBS} jobs per provider; each app measured in turn in the same run. "
        "cronops: `cronops run` (HTTP mode) as a child process, after its first polls; it lists "
        "all four accounts (100 jobs, Block Kit). Plain Bolt (`benchmarks/plain_bolt.py`): "
        "what Bolt's docs teach — `await ack()`, then one cron-job.org list request (a shared "
        "`httpx.AsyncClient` with its default pool of 100 connections: the 300 requests after "
        "300 acks queue for them), then Bolt's own `respond()` to the response_url; Bolt's "
        "default ack-first mode, no cache, no custom code. Call-then-ack "
        "(`benchmarks/naive_bolt.py`): the pattern Bolt's docs warn against, the provider "
        "first, the answer in the ack. Both baselines list one account and answer in plain "
        "text, which favours them; all three run under uvicorn with uvloop and httptools. "
        "Answer = from sending the command to its response_url post arriving at the fake "
        "Slack (for call-then-ack: the ack). The simulators and the fake Slack run in a "
        "process of their own (`benchmarks/services.py`), apart from the load generator. "
        "Diagnostic row: the same load of `/cron help`, answered in the ack without any "
        "provider call — the cost of cronops's ack path alone. Last table: "
        f"{ALONE} more `/cron list` per app, one at a time, providers answering at once — "
        "the ack's own floor, with no queue."
    )  # fmt: skip


def _notes(ours: Run, plain: Run, naive: Run) -> list[str]:
    close = _p99(plain) <= CLOSE_ENOUGH * _p99(ours) and _p99(plain) <= ACK_TARGET
    notes = [
        f"Plain Bolt's ack p99 is {ratio(_p99(plain), _p99(ours))} cronops's and "
        f"{'meets' if _p99(plain) <= ACK_TARGET else 'misses'} the {ms(ACK_TARGET)} target "
        f"({'within' if close else 'not within'} {CLOSE_ENOUGH:.0f}× and the target). "
        f"One at a time its ack p50 is {ms(_alone_acks(plain, 50))} against cronops's "
        f"{ms(_alone_acks(ours, 50))}: Bolt's ack-first mode looks for `ack()` every 10 ms."
    ]  # fmt: skip
    if ours.calls:
        sent, answered = max(c[0] for c in ours.calls), max(c[1] for c in ours.calls)
        answers = ours.load.answers
        notes.append(
            f"Timeline of the cronops run, from the first command: its {len(ours.calls)} "
            f"provider requests were all sent by {ms(sent)} (while {REQUESTS} acks were being "
            f"served) and all answered by {secs(answered)}; the answers arrived between "
            f"{secs(min(answers))} and {secs(max(answers))} after their own commands."
        )
    for name, run in (("cronops", ours), ("plain Bolt", plain), ("call-then-ack", naive)):
        if bad := {code: n for code, n in run.load.statuses.items() if code != 200}:
            notes.append(f"{name} non-200 acks: {bad}")
    return notes


def _alone_acks(run: Run, pct: float) -> float:
    return percentile(run.alone.acks, pct) if run.alone else math.nan


def _versus(name: str, run: Run, ours: Run) -> list[str]:
    return [
        name, f"{ms(_p99(run))} {'PASS' if _p99(run) <= ACK_TARGET else 'MISS'}",
        f"{_max_text(run)} {'PASS' if _worst(run) <= BUDGET else 'MISS'}",
        _times(_p99(run), _p99(ours)), _times(_worst(run), _worst(ours)),
        _times(run.provider_requests, ours.provider_requests), _times(run.cpu, ours.cpu),
    ]  # fmt: skip


def _times(theirs: float, ours: float) -> str:
    """``theirs`` as a multiple of ``ours`` (above 1: cronops's figure is smaller)."""
    if ours <= 0 or math.isinf(theirs) or math.isinf(ours):
        return "n/a"
    return f"{theirs / ours:.1f}×"


def _max_text(run: Run) -> str:
    worst = _worst(run)
    if math.isinf(worst):
        return f"{len(run.load.answers)}/{REQUESTS} answered in {ANSWER_WAIT:.0f} s"
    return secs(worst)
