"""Three `cronops run` processes on one PostgreSQL: every alert once, work owned, a kill survived.

The providers' simulators and the fake Slack run here, on loopback; the three bots are real
processes sharing a fresh database. Skipped without ``CRONOPS_TEST_POSTGRES_URL`` (CI starts a
throwaway server).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.demo.fakeslack import Call, FakeSlack
from bot.store import Store
from bot.store.db import create_engine
from providers.clock import utcnow
from providers.sim.base import SIM_KEY
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite

PG_URL = os.environ.get("CRONOPS_TEST_POSTGRES_URL")
pytestmark = pytest.mark.timeout(150)
needs_postgres = pytest.mark.skipif(
    not PG_URL, reason="set CRONOPS_TEST_POSTGRES_URL to run replicas on PostgreSQL"
)
CHANNEL = "CALERTS001"
INTERVAL = 10  # seconds: the shortest poll interval a config may ask for


@dataclass
class Replica:
    name: str
    admin: str
    process: asyncio.subprocess.Process
    log: Path
    log_file: IO[str]


@dataclass
class Cluster:
    suite: SimSuite
    fake: FakeSlack
    store: Store
    replicas: list[Replica] = field(default_factory=list)

    async def owners(self) -> dict[str, str]:
        """Account -> the process (by its name in the leases) that polls it now."""
        now = utcnow()
        leases = await self.store.leases.all()
        return {
            name.removeprefix("poll:"): lease.owner
            for name, lease in leases.items()
            if lease.expires_at > now
        }

    def replica_of(self, owner: str) -> Replica:
        pid = int(owner.split(":")[1])
        return next(r for r in self.replicas if r.process.pid == pid)

    def alerts(self) -> Counter[str]:
        """Alert posts Slack took, by idempotency key."""
        return Counter(
            _key(c) for c in self.fake.of("chat.postMessage")
            if _key(c).startswith("incident:") and ":post:" in _key(c) and "_failed" not in c.body
        )  # fmt: skip


def _key(call: Call) -> str:
    return str(((call.body.get("metadata") or {}).get("event_payload") or {}).get("key", ""))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(suite: SimSuite, root: str) -> str:
    lines = ["accounts:"]
    for account in suite.accounts(root, budget=None):
        key = "token" if account.provider == "djinn" else "api_key"
        lines += [f"  - name: {account.name}", f"    provider: {account.provider}",
                  f"    {key}: ${{SIM_KEY}}", f"    base_url: {account.base_url}"]  # fmt: skip
        if account.provider == "cronjob-org":  # a sustaining member: polls are not slowed
            lines += ["    daily_request_budget: 5000"]
    lines += ["alerts:", f"  channel: {CHANNEL}", f"  poll_interval: {INTERVAL}s"]
    return "\n".join(lines) + "\n"


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    assert PG_URL is not None
    name = f"cronops_replicas_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@contextlib.asynccontextmanager
async def cluster(tmp_path: Path, replicas: int = 3) -> AsyncIterator[Cluster]:
    suite, fake = SimSuite(seed=5, jobs=10, options=UNLIMITED), FakeSlack()
    async with (
        LoopbackServer(suite.app) as sims,
        LoopbackServer(fake.app) as slack,
        fresh_database() as url,
    ):  # fmt: skip
        fake.base_url = slack.url
        (tmp_path / "cronops.yml").write_text(_config(suite, sims.url))
        store = await Store.open(url)  # migrated once, before the processes race to it
        running = Cluster(suite, fake, store)
        try:
            for n in range(replicas):
                running.replicas.append(await _start(tmp_path, url, slack.url, n))
            await asyncio.gather(*(_healthy(r) for r in running.replicas))
            yield running
        finally:
            for replica in running.replicas:
                if replica.process.returncode is None:
                    replica.process.terminate()
            for replica in running.replicas:
                await asyncio.wait_for(replica.process.wait(), 20)
                replica.log_file.close()
            await store.close()


async def _start(tmp_path: Path, url: str, slack: str, n: int) -> Replica:
    admin_port = _free_port()
    env = {
        **os.environ, "SIM_KEY": SIM_KEY, "SLACK_BOT_TOKEN": "xoxb-replica",
        "SLACK_SIGNING_SECRET": "replica-secret", "SLACK_API_URL": f"{slack}/api/",
        "CRONOPS_CONFIG": str(tmp_path / "cronops.yml"), "CRONOPS_DATABASE_URL": url,
        "CRONOPS_ADMIN_PORT": str(admin_port), "CRONOPS_LOG_LEVEL": "INFO",
    }  # fmt: skip
    for unset in ("SLACK_APP_TOKEN", "CRONOPS_ADMIN_HOST"):
        env.pop(unset, None)
    log = tmp_path / f"replica-{n}.log"
    log_file = log.open("w")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(_free_port()),
        env=env, stderr=log_file, stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return Replica(f"replica-{n}", f"http://127.0.0.1:{admin_port}", process, log, log_file)


async def _healthy(replica: Replica) -> None:
    async def up() -> bool:
        if replica.process.returncode is not None:
            raise AssertionError(replica.log.read_text())
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{replica.admin}/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(up, within=30, what=f"{replica.name} healthy")


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"not within {within} s: {what}")


def _healthy_jobs(suite: SimSuite, slug: str) -> list[str]:
    sim: Any = suite[slug]
    if slug == "cronjob-org":
        jobs = sim.jobs.items()
        return [str(i) for i, j in jobs if j["enabled"] and j["lastStatus"] in (0, 1)
                and j.get("type", 0) == 0]  # fmt: skip
    if slug == "cronhub":
        return [f"monitor/{c}" for c, m in sim.monitors.items() if m.status == "up"]
    if slug == "djinn":
        return [
            str(i) for i, builds in sim.builds.items() if builds and builds[-1].status == "passed"
        ]
    return [i for i in sim.job_ids() if sim.cronjobs[i.split("/")[0]][i.split("/")[1]]["state"]
            not in ("failed", "failing", "crashloopbackoff", "problem")]  # fmt: skip


async def _first_polls_done(running: Cluster) -> None:
    async def done() -> bool:
        states = await running.store.accounts.states()
        return len([s for s in states if s.first_polled_at is not None]) == 4

    await eventually(done, within=30, what="every account's first poll")


@needs_postgres
async def test_three_processes_share_the_work_and_survive_a_kill(tmp_path: Path) -> None:
    async with cluster(tmp_path) as running:
        suite, store = running.suite, running.store
        await _first_polls_done(running)

        async def spread() -> bool:
            owners = await running.owners()
            return len(owners) == 4 and len(set(owners.values())) >= 2

        await eventually(spread, within=20, what="the accounts spread over the processes")

        # -- twelve failures in one cycle: twelve alerts, each posted once ------------------
        failing = {slug: _healthy_jobs(suite, slug)[:3] for slug in suite.sims}
        assert all(len(jobs) == 3 for jobs in failing.values()), failing
        lists_before = suite["cronjob-org"].requests["GET /jobs"]
        watched_from = time.monotonic()
        for slug, jobs in failing.items():
            for job in jobs:
                suite[slug].run(job, ok=False)

        async def twelve() -> bool:
            return len(running.alerts()) >= 12

        await eventually(twelve, within=INTERVAL * 3, what="twelve alerts")
        await asyncio.sleep(2)  # time enough for a repeat to show
        assert len(running.alerts()) == 12
        assert set(running.alerts().values()) == {1}

        # -- each account polled about once per interval, not once per process ---------------
        await asyncio.sleep(max(0.0, 2 * INTERVAL - (time.monotonic() - watched_from)))
        lists = suite["cronjob-org"].requests["GET /jobs"] - lists_before
        elapsed = time.monotonic() - watched_from
        assert lists <= elapsed / INTERVAL + 1.5, (lists, elapsed)

        # -- the owner of prod dies mid-cycle: taken over, nothing lost or repeated ----------
        owners = await running.owners()
        victim = running.replica_of(owners["prod"])
        taken = [a for a, owner in owners.items() if owner == owners["prod"]]
        sim: Any = suite["cronjob-org"]
        paused = _healthy_jobs(suite, "cronjob-org")[0]
        sim.jobs[int(paused)]["enabled"] = False
        await store.resumes.schedule(
            ref=f"prod:{paused}", account="prod", due_at=utcnow() + timedelta(seconds=3),
            requested_by="UOPERATOR", channel=CHANNEL, now=utcnow(),
        )  # fmt: skip
        slugs = {"prod": "cronjob-org", "hub": "cronhub", "ci": "djinn", "apps": "miget"}
        for account in taken:
            slug = slugs[account]
            suite[slug].run(_healthy_jobs(suite, slug)[0], ok=False)
        for sim_ in suite.sims.values():
            sim_.latency = 0.5  # polls under way when it dies
        await asyncio.sleep(0.3)
        victim.process.send_signal(signal.SIGKILL)
        await victim.process.wait()
        for sim_ in suite.sims.values():
            sim_.latency = 0.0

        async def taken_over() -> bool:
            now_owners = await running.owners()
            return all(now_owners.get(a) not in (None, owners["prod"]) for a in taken)

        await eventually(taken_over, within=40, what=f"{taken} taken over")

        async def all_told() -> bool:
            return len(running.alerts()) >= 12 + len(taken)

        await eventually(all_told, within=INTERVAL * 3, what="the failures during the kill")
        await asyncio.sleep(2)
        assert len(running.alerts()) == 12 + len(taken)
        assert set(running.alerts().values()) == {1}  # none lost, none repeated

        async def resumed() -> bool:
            return await store.resumes.pending(f"prod:{paused}") is None

        await eventually(resumed, within=45, what="the timed resume")
        assert sim.jobs[int(paused)]["enabled"] is True
        posts = running.fake.of("chat.postMessage")
        replies = [c for c in posts if "as planned" in str(c.body.get("text"))]
        assert len(replies) == 1  # resumed once, told once


async def test_a_second_process_on_one_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    suite = SimSuite(jobs=2, options=UNLIMITED)
    (tmp_path / "cronops.yml").write_text(_config(suite, "http://127.0.0.1:9"))
    env = {
        **os.environ, "SIM_KEY": SIM_KEY, "SLACK_BOT_TOKEN": "xoxb-one",
        "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "CRONOPS_CONFIG": str(tmp_path / "cronops.yml"),
        "CRONOPS_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
    }  # fmt: skip
    env.pop("SLACK_APP_TOKEN", None)

    def start() -> Any:
        port, admin = _free_port(), _free_port()
        return asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--host", "127.0.0.1", "--port", str(port),
            env={**env, "CRONOPS_ADMIN_PORT": str(admin)}, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip

    first = await start()
    try:
        await asyncio.sleep(3)  # it holds the file
        assert first.returncode is None
        second = await start()
        _, said = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 2
        assert b"in use by another cronops process" in said
        assert b"PostgreSQL" in said
    finally:
        first.terminate()
        await first.wait()
