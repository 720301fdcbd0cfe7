"""Shared deployments: 1, 2 and 3 `cronops run` processes on one PostgreSQL, 40 accounts.

The accounts' simulators and the fake Slack run in a process of their own
(:mod:`benchmarks.fleet`); each configuration gets a fresh database. The cycle is read from
what the processes expose: when each account's poll started (``account_state.last_poll_at``,
which ``/healthz`` reports as ``last_poll``) and how long it took (``cronops_poll_seconds`` on
each process's ``/metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from benchmarks.fleet import Fleet, accounts, base_url, fleet
from benchmarks.procs import child, free_port
from benchmarks.report import Section, secs
from bot.alerts.owners import KEEP_EVERY, TTL
from bot.store import Store
from bot.store.db import create_engine
from providers.clock import utcnow
from providers.sim.base import SIM_KEY

INTERVAL = 15  # seconds between two polls of an account
JOBS = 500  # per account
PROCESSES = (1, 2, 3)
ROUNDS = 2  # poll intervals measured per configuration
FAILURES = 12
BUDGET = 1_000_000  # cron-job.org's daily requests: pacing never enters into the figures
CHANNEL = "CALERTS0001"
CORES = len(os.sched_getaffinity(0))
SCRAPE_EVERY = 3.0  # seconds between two reads of the processes' metrics
TICK = os.sysconf("SC_CLK_TCK")


class NoPostgres(Exception):
    """No PostgreSQL server to measure on."""


# -- PostgreSQL: a server, a fresh database per configuration ---------------------------------
@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """The server's URL: from the environment, or a throwaway one `.ci/postgres` starts."""
    given = os.environ.get("CRONOPS_BENCH_POSTGRES_URL") or os.environ.get(
        "CRONOPS_TEST_POSTGRES_URL"
    )
    if given:
        yield given
        return
    script = Path(__file__).resolve().parent.parent / ".ci" / "postgres"
    with tempfile.TemporaryDirectory(prefix="cronops-bench-pg-") as scratch:
        try:
            started = subprocess.run(
                ["bash", str(script), "start", scratch], capture_output=True, text=True,
                timeout=180, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            raise NoPostgres(f"`.ci/postgres start` failed: {error}") from None
        url = started.stdout.strip()
        if not url:
            raise NoPostgres(started.stderr.strip() or "`.ci/postgres start` printed no URL")
        try:
            yield url
        finally:
            subprocess.run(["bash", str(script), "stop", scratch], timeout=60, check=False)


@contextlib.asynccontextmanager
async def fresh_database(server: str) -> AsyncIterator[str]:
    name = f"cronops_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, SQLAlchemyError) as error:
        await admin.dispose()
        where = make_url(server).render_as_string(hide_password=True)
        raise NoPostgres(f"no database on {where}: {type(error).__name__}") from None
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


# -- CPU time, from /proc ----------------------------------------------------------------------
def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_of(pid: int) -> float:
    """utime + stime of ``pid``, seconds."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class ServerCpu:
    """The PostgreSQL server's CPU seconds for one database: the backends serving it (their
    process title names it) and the server's own processes (postmaster, writers,
    checkpointer...); other databases' backends are left out, the server may serve other work.
    Read at every scrape, so a backend that ends (a pool's overflow connection) keeps what it
    used until its last reading."""

    postmaster: int
    database: str
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    def read(self) -> None:
        opening = not self.last
        for pid in self._ours():
            with contextlib.suppress(OSError, IndexError, ValueError):
                self.last[pid] = cpu_of(pid)
                self.first.setdefault(pid, self.last[pid] if opening else 0.0)

    @property
    def used(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)

    def _ours(self) -> list[int]:
        found = [self.postmaster]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(_stat(int(entry.name))[1]) != self.postmaster:
                    continue
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
                if f" {self.database} " in title or "(" not in title:  # ours, or no client's
                    found.append(int(entry.name))
        return found


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (every process, ours or not)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICK  # all but idle and iowait


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def postmaster_of(store: Store) -> int | None:
    """The server's main process, if it runs on this machine and /proc shows it."""
    async with store.db.read() as session:
        backend = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    try:
        postmaster = int(_stat(backend)[1])
        cpu_of(postmaster)
    except (OSError, IndexError, ValueError):
        return None
    return postmaster


# -- the cluster -------------------------------------------------------------------------------
@dataclass
class Bot:
    name: str
    admin: str
    process: asyncio.subprocess.Process

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.returncode is None


@dataclass
class Cluster:
    fleet: Fleet
    store: Store
    bots: list[Bot]
    postmaster: int | None
    database: str

    @property
    def live(self) -> list[Bot]:
        return [bot for bot in self.bots if bot.alive]

    async def owners(self) -> dict[str, str]:
        """Account -> the process polling it now (by its name in the leases)."""
        now = utcnow()
        leases = await self.store.leases.all()
        return {
            name.removeprefix("poll:"): lease.owner
            for name, lease in leases.items()
            if lease.expires_at > now and name.startswith("poll:")
        }

    async def polled_at(self) -> dict[str, datetime]:
        """When each account's last poll started."""
        states = await self.store.accounts.states()
        return {s.account: s.last_poll_at for s in states if s.last_poll_at is not None}

    def bot_of(self, owner: str) -> Bot:
        pid = int(owner.split(":")[1])
        return next(bot for bot in self.bots if bot.pid == pid)


def _config(root: str) -> str:
    lines = ["accounts:"]
    for name, slug in accounts().items():
        lines += [f"  - name: {name}", f"    provider: {slug}", "    api_key: ${SIM_KEY}",
                  f"    base_url: {base_url(root, name, slug)}"]  # fmt: skip
        if slug == "cronjob-org":
            lines += [f"    daily_request_budget: {BUDGET}"]
    lines += ["alerts:", f"  channel: {CHANNEL}", f"  poll_interval: {INTERVAL}s"]
    return "\n".join(lines) + "\n"


@contextlib.asynccontextmanager
async def cluster(server: str, services: Fleet, processes: int) -> AsyncIterator[Cluster]:
    """``processes`` `cronops run` children on a fresh database, until the block ends."""
    with tempfile.TemporaryDirectory(prefix="cronops-replicas-") as scratch:
        config = Path(scratch) / "cronops.yml"
        config.write_text(_config(services.sims))
        async with fresh_database(server) as url, contextlib.AsyncExitStack() as stack:
            store = await Store.open(url)  # migrated once, before the processes race to it
            stack.push_async_callback(store.close)
            starting = []
            for n in range(processes):
                admin = f"http://127.0.0.1:{free_port()}"
                env = {
                    "SIM_KEY": SIM_KEY, "SLACK_BOT_TOKEN": "xoxb-replicas",
                    "SLACK_SIGNING_SECRET": "replicas-secret",
                    "SLACK_API_URL": f"{services.slack}/api/", "CRONOPS_CONFIG": str(config),
                    "CRONOPS_DATABASE_URL": url, "CRONOPS_ADMIN_PORT": admin.rsplit(":", 1)[1],
                    "CRONOPS_LOG_LEVEL": "WARNING",
                }  # fmt: skip
                args = ["-m", "bot", "run", "--host", "127.0.0.1", "--port", str(free_port())]
                starting.append((f"process {n + 1}", admin, child(args, env, url=admin)))
            # all at once, as a deployment's replicas start; each is stopped, whatever happens
            entered = await asyncio.gather(
                *(stack.enter_async_context(c) for _, _, c in starting), return_exceptions=True
            )
            bots = []
            for (name, admin, _), started in zip(starting, entered, strict=True):
                if isinstance(started, BaseException):
                    raise started
                bots.append(Bot(name, admin, started.process))
            database = make_url(url).database or ""
            yield Cluster(services, store, bots, await postmaster_of(store), database)


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"not within {within:.0f} s: {what}")


async def settled(running: Cluster) -> None:
    """Every account polled, and spread over every live process."""
    everyone = len(accounts())

    async def spread() -> bool:
        owners, polled = await running.owners(), await running.polled_at()
        return (
            len(owners) == everyone
            and len(set(owners.values())) == len(running.live)
            and len(polled) == everyone
        )

    await eventually(spread, within=6 * INTERVAL, what="every account polled and spread")


# -- one measured window -----------------------------------------------------------------------
@dataclass
class Scrape:
    """What one process's /metrics says: polls and poll seconds per account, leases."""

    polls: Counter[str] = field(default_factory=Counter)
    timed: Counter[str] = field(default_factory=Counter)  # polls whose duration is observed
    seconds: dict[str, float] = field(default_factory=dict)
    held: float = 0.0
    takeovers: float = 0.0


async def scrape(client: httpx.AsyncClient, bot: Bot) -> Scrape:
    found = Scrape()
    body = (await client.get(f"{bot.admin}/metrics")).text
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            account = sample.labels.get("account", "")
            if sample.name == "cronops_polls_total":
                found.polls[account] += int(sample.value)
            elif sample.name == "cronops_poll_seconds_count":
                found.timed[account] += int(sample.value)
            elif sample.name == "cronops_poll_seconds_sum":
                found.seconds[account] = sample.value
            elif sample.name == "cronops_leases_held":
                found.held = sample.value
            elif sample.name == "cronops_lease_takeovers_total":
                found.takeovers = sample.value
    return found


@dataclass
class Poll:
    bot: str
    account: str
    start: float  # epoch seconds
    seconds: float

    @property
    def end(self) -> float:
        return self.start + self.seconds


@dataclass
class Window:
    """One configuration's measured polling: polls, their spans, CPU seconds."""

    processes: int
    wall: float
    began: float  # epoch seconds
    starts: dict[str, list[float]]  # account -> when its polls started (epoch seconds)
    polls: dict[str, Counter[str]]  # process -> account -> polls
    timed: list[Poll]
    cpu: dict[str, float]
    held: dict[str, float]

    @property
    def rounds(self) -> float:
        return self.wall / INTERVAL

    def per_account(self) -> dict[str, float]:
        """Polls of each account per interval, by every process together: the polls that
        started within the first ``ROUNDS`` whole intervals of the window."""
        end = self.began + ROUNDS * INTERVAL
        return {
            account: sum(1 for at in self.starts[account] if self.began <= at < end) / ROUNDS
            for account in accounts()
        }

    def doubly_polled(self) -> list[str]:
        return [a for a in accounts() if sum(1 for c in self.polls.values() if c[a]) > 1]

    def busy(self) -> dict[str, float]:
        """Wall seconds per interval each process had a poll under way (the union of its
        polls' spans). It depends on how the polls' start times are spread over the interval
        (spread out, each poll's waits count whole; together, they overlap)."""
        busy = {}
        for bot in self.polls:
            spans = sorted((p.start, p.end) for p in self.timed if p.bot == bot)
            total, reach = 0.0, -math.inf
            for start, end in spans:
                total += max(0.0, end - max(start, reach))
                reach = max(reach, end)
            busy[bot] = total / self.rounds
        return busy

    def per_interval(self, name: str) -> float:
        """CPU seconds per poll interval of a process (or of "PostgreSQL", ...)."""
        return self.cpu.get(name, math.nan) / self.rounds

    @property
    def cycle(self) -> float:
        """CPU seconds per interval of the busiest cronops process: the time it needs for its
        share of each cycle, whatever its waits and however its polls are spread."""
        return max((self.per_interval(bot) for bot in self.polls), default=math.nan)

    @property
    def mean_poll(self) -> float:
        return sum(p.seconds for p in self.timed) / max(1, len(self.timed))


def cpu_now(running: Cluster, server: ServerCpu | None) -> dict[str, float]:
    cpu = {bot.name: cpu_of(bot.pid) for bot in running.live}
    cpu["simulators + fake Slack"] = cpu_of(running.fleet.pid)
    if server is not None:
        server.read()
        cpu["PostgreSQL"] = server.used
    cpu["benchmark"] = own_cpu()
    cpu["machine"] = machine_busy()
    return cpu


async def measure(running: Cluster, rounds: int) -> Window:
    """``rounds`` poll intervals: who polled what, when each poll started and how long it took."""
    bots = running.live
    starts: dict[str, list[float]] = {a: [] for a in accounts()}
    durations: dict[str, list[tuple[str, float]]] = {a: [] for a in accounts()}
    async with httpx.AsyncClient() as client:
        before = {bot.name: await scrape(client, bot) for bot in bots}
        first, last = dict(before), await running.polled_at()
        server = ServerCpu(running.postmaster, running.database) if running.postmaster else None
        cpu, began, wall_began = cpu_now(running, server), time.monotonic(), time.time()
        end = began + rounds * INTERVAL
        while (left := end - time.monotonic()) > 0:
            await asyncio.sleep(min(SCRAPE_EVERY, left))
            last = _new_starts(await running.polled_at(), last, starts)
            if server is not None:
                server.read()
            for bot in bots:
                now = await scrape(client, bot)
                for account, count in now.timed.items():
                    if (new := count - before[bot.name].timed[account]) > 0:
                        spent = now.seconds[account] - before[bot.name].seconds.get(account, 0.0)
                        durations[account] += [(bot.name, spent / new)] * new
                before[bot.name] = now
        wall, ended = time.monotonic() - began, cpu_now(running, server)
    await asyncio.sleep(SCRAPE_EVERY)  # a poll's start is recorded when its list is read
    _new_starts(await running.polled_at(), last, starts)
    timed = []
    for account in accounts():
        begun, paired = starts[account], durations[account]
        if len(paired) > len(begun):  # under way when the window opened: its start is not seen
            paired = paired[len(paired) - len(begun) :]
        for at, (name, seconds) in zip(begun, paired, strict=False):
            if at >= wall_began:
                timed.append(Poll(name, account, at, seconds))
    polls = {bot.name: before[bot.name].polls - first[bot.name].polls for bot in bots}
    used = {key: ended[key] - cpu[key] for key in ended if key in cpu}
    held = {bot.name: before[bot.name].held for bot in bots}
    return Window(len(bots), wall, wall_began, starts, polls, timed, used, held)


def _new_starts(
    polled: dict[str, datetime], last: dict[str, datetime], starts: dict[str, list[float]]
) -> dict[str, datetime]:
    for account, at in polled.items():
        if at != last.get(account):
            starts[account].append(at.timestamp())
    return polled


# -- failures and a kill, with three processes -------------------------------------------------
@dataclass
class Alerted:
    failed: list[str]
    new: Counter[str]  # alert posts since the failures, by idempotency key
    every: Counter[str]  # every alert post of the run, by key
    opened: set[str]  # refs with an open incident
    seconds: float  # from the failures to the last of their alerts seen

    @property
    def once(self) -> bool:
        return (
            len(self.new) == len(self.failed)
            and set(self.every.values()) <= {1}
            and set(self.failed) <= self.opened
        )


async def failures(running: Cluster) -> Alerted:
    before = await running.fleet.alerts()
    failed, began = await running.fleet.fail(FAILURES), time.monotonic()

    async def all_posted() -> bool:
        return len(await running.fleet.alerts() - before) >= FAILURES

    with contextlib.suppress(RuntimeError):
        await eventually(all_posted, within=3 * INTERVAL, what="the alerts")
    seconds = time.monotonic() - began
    await asyncio.sleep(3)  # time enough for a repeat to show
    every = await running.fleet.alerts()
    opened = {i.ref for i in await running.store.incidents.all_open()}
    return Alerted(failed, every - before, every, opened, seconds)


@dataclass
class Takeover:
    victim: str
    accounts: list[str]
    after: dict[str, float]  # account -> seconds from the kill to its next poll's start
    new_owners: dict[str, str]  # account -> process polling it after
    repeated: list[str]  # alert keys posted more than once, after the kill

    @property
    def worst(self) -> float:
        if len(self.after) < len(self.accounts):
            return math.inf
        return max(self.after.values(), default=math.inf)


async def takeover(running: Cluster) -> Takeover:
    """SIGKILL the process polling the first account; until a survivor polls each of its."""
    owners = await running.owners()
    first = next(iter(accounts()))
    victim = running.bot_of(owners[first])
    taken = sorted(a for a, owner in owners.items() if owner == owners[first])
    killed_at = utcnow()
    victim.process.send_signal(signal.SIGKILL)
    await victim.process.wait()
    after: dict[str, float] = {}
    deadline = time.monotonic() + INTERVAL + TTL.total_seconds() + 30
    while len(after) < len(taken) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        polled = await running.polled_at()
        for account in taken:
            at = polled.get(account)
            if account not in after and at is not None and at > killed_at:
                after[account] = (at - killed_at).total_seconds()
    now_owners = await running.owners()
    names = {bot.pid: bot.name for bot in running.bots}
    new_owners = {a: names.get(int(now_owners.get(a, "?:0").split(":")[1]), "?") for a in taken}
    await asyncio.sleep(3)
    repeated = [key for key, n in (await running.fleet.alerts()).items() if n > 1]
    return Takeover(victim.name, taken, after, new_owners, repeated)


# -- the run -------------------------------------------------------------------------------------
@dataclass
class Results:
    windows: dict[int, Window] = field(default_factory=dict)
    alerted: Alerted | None = None
    takeover: Takeover | None = None


def run() -> Section:
    section = Section("replicas", "Shared deployments: replicas on one PostgreSQL", _setup())
    results = Results()
    try:
        with postgres() as server:
            asyncio.run(_run(server, results))
    except NoPostgres as error:
        section.target("PostgreSQL to measure on", f"none: {error}", False)
        return section
    _report(section, results)
    return section


async def _run(server: str, results: Results) -> None:
    async with fleet(jobs=JOBS) as services:
        for processes in PROCESSES:
            print(f"  replicas: {processes} process(es)", file=sys.stderr, flush=True)
            async with cluster(server, services, processes) as running:
                await settled(running)
                await asyncio.sleep(INTERVAL)  # each account's poll paced (and so re-phased)
                results.windows[processes] = await measure(running, ROUNDS)
                if processes == max(PROCESSES):
                    results.alerted = await failures(running)
                    results.takeover = await takeover(running)


# -- the section ---------------------------------------------------------------------------------
def _setup() -> str:
    return (
        "40 accounts — cron-job.org 14, Cronhub 13, Miget 13 (the providers whose list carries "
        f"each job's result), {JOBS} jobs each, 20,000 in all — each its own simulator, served "
        "with the fake Slack by a process of their own (`benchmarks/fleet.py`). 1, 2 and 3 "
        f"`cronops run` processes in HTTP mode, poll interval {INTERVAL} s, cron-job.org's "
        f"daily budget {BUDGET:,} (no pacing), one PostgreSQL server, a fresh database per "
        f"configuration. Measured over {ROUNDS} poll intervals once every account has been "
        "polled and the accounts have spread over the processes. **Cycle**: the CPU seconds "
        "per poll interval of the busiest `cronops run` process (utime + stime from /proc) — "
        "the time it needs for its share of a cycle, whatever it waits on and however its "
        "polls are spread over the interval; on a core of its own it could keep up with an "
        "interval that short. Each poll's start is `account_state.last_poll_at` (`/healthz`'s "
        "`last_poll`), which also counts each account's polls; its wall time (from the list "
        "request until the alerts are decided and the history of new failures read) is "
        f"`cronops_poll_seconds` on the process's `/metrics`, read every {SCRAPE_EVERY:.0f} s "
        "with `cronops_polls` (which process polled what); rendering `/metrics` costs the "
        "processes some of their CPU. PostgreSQL's CPU: the backends serving the database "
        "(by process title) and the server's own processes. Then, with 3 processes, "
        f"{FAILURES} healthy jobs fail (4 per provider), and the process polling the first "
        "account is killed (SIGKILL)."
    )


def _report(section: Section, results: Results) -> None:
    windows = results.windows
    one = windows[min(windows)].cycle
    rows = []
    for n, w in windows.items():
        per = w.per_account()
        rows.append([
            n, "/".join(f"{held:.0f}" for held in w.held.values()), secs(w.cycle),
            f"{one / w.cycle:.2f}×" if w.cycle else "n/a",
            secs(sum(w.per_interval(bot) for bot in w.polls)), secs(w.mean_poll),
            secs(max(w.busy().values(), default=math.nan)),
            f"{sum(per.values()) / len(per):.2f} ({min(per.values()):.2f}–{max(per.values()):.2f})",
            len(w.doubly_polled()),
        ])  # fmt: skip
    section.table(
        ["processes", "accounts per process", "cycle: CPU s per interval, busiest process",
         "speed-up vs 1", "CPU s per interval, all processes", "poll wall time, mean",
         "wall s per interval with a poll under way, busiest", "polls per account per "
         "interval (min–max)", "accounts polled by two processes"], rows,
    )  # fmt: skip
    rows = []
    for n, w in windows.items():
        parts = [sum(w.per_interval(bot) for bot in w.polls)] + [
            w.per_interval(name) for name in ("PostgreSQL", "simulators + fake Slack", "benchmark")
        ]
        together = _together(w)
        rows.append([
            n, *(secs(part) for part in parts), secs(together), secs(together / CORES),
            secs(_shortest(w)), f"{w.cpu['machine'] / (w.wall * CORES):.0%}",
        ])  # fmt: skip
    section.table(
        ["processes", "CPU s per interval: cronops", "PostgreSQL", "simulators + fake Slack",
         "benchmark (scraping)", "together", f"together / {CORES} cores",
         "shortest interval this setup could keep up with (the larger of the cycle and "
         "together / cores)", "machine busy, all its work (wall × cores)"], rows,
    )  # fmt: skip
    cycles = "/".join(f"{w.cycle:.2f}" for w in windows.values())
    section.headline("cycle 1/2/3 processes", f"{cycles} s")
    first = windows[min(windows)]
    for w in windows.values():
        together = _together(w)
        faster = "" if w is first else f", {first.cycle / w.cycle:.2f}× less than 1 process's"
        bound = "that process (one core)" if w.cycle > together / CORES else f"the {CORES} cores"
        section.notes.append(
            f"{w.processes} process{'es' if w.processes > 1 else ''}: the busiest needs "
            f"{secs(w.cycle)} of CPU per interval{faster}; every party together "
            f"{secs(together)}, {secs(together / CORES)} on {CORES} cores: the bound is {bound}."
        )
    _targets(section, results)


def _shortest(w: Window) -> float:
    """The shortest poll interval the setup could sustain: no process may need more than a
    core, and all of them (PostgreSQL, the simulators...) no more than the machine's cores."""
    return max(w.cycle, _together(w) / CORES)


def _together(w: Window) -> float:
    """CPU seconds per interval of cronops, PostgreSQL, the simulators and the benchmark."""
    names = [*w.polls, "PostgreSQL", "simulators + fake Slack", "benchmark"]
    return sum(w.per_interval(name) for name in names if name in w.cpu)


def _targets(section: Section, results: Results) -> None:
    windows = results.windows
    three = windows[max(PROCESSES)]
    mean = sum(three.per_account().values()) / len(accounts())
    section.target(
        "3 processes: each account polled about once per interval (0.9–1.1, mean of the 40)",
        f"{mean:.2f}", 0.9 <= mean <= 1.1,
    )  # fmt: skip
    doubled = {n: len(w.doubly_polled()) for n, w in windows.items()}
    section.target(
        "no account polled by two processes in a measured window",
        ", ".join(f"{n} processes: {d}" for n, d in doubled.items()), not any(doubled.values()),
    )  # fmt: skip
    if (alerted := results.alerted) is not None:
        repeats = sum(1 for n in alerted.every.values() if n > 1)
        section.target(
            f"3 processes, {FAILURES} failures: each alert posted exactly once",
            f"{len(alerted.new)} posted for {len(alerted.failed)} failures, {repeats} repeated, "
            f"{len(set(alerted.failed) & alerted.opened)} incidents open "
            f"(last alert {secs(alerted.seconds)} after the failures)",
            alerted.once,
        )  # fmt: skip
    if (taken := results.takeover) is not None:
        promise = INTERVAL + TTL.total_seconds()
        worst = taken.worst
        first = min(taken.after.values(), default=math.nan)
        measured = (
            f"{worst:.1f} s for {len(taken.accounts)} accounts (the first {first:.1f} s)"
            if math.isfinite(worst)
            else f"{len(taken.after)} of {len(taken.accounts)} accounts polled again"
        )
        section.target(
            f"takeover after SIGKILL ≤ poll interval + lease time = {promise:.0f} s "
            "(kill to a survivor's poll of each of its accounts)",
            measured + (f"; {len(taken.repeated)} alerts repeated" if taken.repeated else ""),
            worst <= promise and not taken.repeated,
        )  # fmt: skip
        section.headline("takeover", f"{worst:.0f} s" if math.isfinite(worst) else "none")
        section.notes.append(
            f"Takeover: {taken.victim} polled {len(taken.accounts)} accounts; after the kill "
            f"{', '.join(f'{n} took {c}' for n, c in Counter(taken.new_owners.values()).items())}. "
            f"A killed process's leases run out within {TTL.total_seconds():.0f} s (renewed "
            f"every {KEEP_EVERY.total_seconds():.0f} s), a survivor takes each at its next "
            "renewal after they ran out and polls it at once."
        )
