"""cron-job.org's rate limits as its server counts them: fixed windows of the wall clock.

5 calls of one method per clock second, creates also 5 per clock minute (``APIMethod.php:87-92``,
``RateLimiter.php``, ``CreateJob.php:17-18``); both 429s and the spent quota's are the same bare
status line (``RESTDispatcher.php:163-174``). Timing over real loopback runs on the real clock;
the rest on an injected clock whose sleeps move it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from providers.base import JobKind, JobSpec
from providers.budget import MemoryLedger
from providers.config import BuildContext
from providers.cronjob_org.client import CronJobOrg, CronJobOrgAccount
from providers.cronjob_org.sim import CronJobOrgSim
from providers.errors import RateLimited
from providers.http import RetryPolicy
from providers.schedule import Schedule
from providers.sim.serve import LoopbackServer

KEY = "canary-limits-key-77d1"
FAST = RetryPolicy(attempts=2, initial_wait=0, max_wait=0)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Clock:
    """A wall clock that moves only when someone sleeps on it."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def client_for(sim: CronJobOrgSim, *, base_url: str | None = None, **ctx: Any) -> CronJobOrg:
    transport = None if base_url else httpx.ASGITransport(app=sim.app)
    account = CronJobOrgAccount(
        name="prod", provider="cronjob-org", api_key=KEY, daily_request_budget=None,
        base_url=base_url,
    )  # fmt: skip
    context = BuildContext(
        ledger=MemoryLedger(), transport_for=lambda _: transport, retry=FAST, **ctx
    )
    return CronJobOrg.from_config(account, context)


def spec(n: int) -> JobSpec:
    schedule = Schedule.from_cron("0 3 * * *", "UTC")
    return JobSpec(kind=JobKind.JOB, name=f"job {n}", url="https://x.test/", schedule=schedule)


@pytest.fixture
async def served() -> AsyncIterator[tuple[CronJobOrgSim, str]]:
    sim = CronJobOrgSim(api_key=KEY, daily_quota=None, jobs=12)  # real clock, real limits
    async with LoopbackServer(sim.app) as server:
        yield sim, server.url


async def start_of_a_second() -> None:
    """Wait until early in a clock second, so a test's burst fits in one."""
    await asyncio.sleep(1.02 - time.time() % 1)


async def test_twelve_concurrent_reads_all_succeed_against_clock_second_windows(
    served: tuple[CronJobOrgSim, str],
) -> None:
    sim, url = served
    client = client_for(sim, base_url=url)
    ids = sim.job_ids()
    await start_of_a_second()
    started = time.time()

    jobs = await asyncio.gather(*(client.get_job(job_id) for job_id in ids))
    await client.aclose()

    assert sorted(job.id for job in jobs) == sorted(ids)
    assert time.time() - started >= 1.9  # 5 + 5 + 2: three clock seconds, two waits
    assert sum(sim.requests.values()) <= 14  # a 429 at a second's edge is tried once more


async def test_a_429_is_tried_once_more_in_the_next_clock_second(
    served: tuple[CronJobOrgSim, str],
) -> None:
    sim, url = served
    job_id = sim.job_ids()[0]
    client = client_for(sim, base_url=url)
    await start_of_a_second()
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as other:
        taken = [(await other.get(f"{url}/jobs/{job_id}")).status_code for _ in range(5)]

    job = await client.get_job(job_id)  # another process used this second's five
    await client.aclose()

    assert taken == [200] * 5
    assert job.id == job_id
    assert sim.requests[f"GET /jobs/{job_id}"] == 7  # 5 + the refused one + the one more


async def test_a_second_429_is_the_spent_quota_and_is_not_tried_again() -> None:
    clock = Clock()
    sim = CronJobOrgSim(api_key=KEY, clock=clock, daily_quota=1)
    client = client_for(sim, clock=clock, sleep=clock.sleep)
    await client.list_jobs()

    with pytest.raises(RateLimited, match="daily request quota") as refused:
        await client.list_jobs()
    await client.aclose()

    assert sim.requests["GET /jobs"] == 3
    assert clock.slept  # waited for the next clock second, once
    assert clock.slept[-1] <= 1.05
    assert refused.value.retry_after is None


async def test_the_sixth_create_in_a_clock_minute_is_refused_with_a_time_and_never_sent() -> None:
    clock = Clock()
    sim = CronJobOrgSim(api_key=KEY, clock=clock, daily_quota=None, jobs=0)
    client = client_for(sim, clock=clock, sleep=clock.sleep)

    created = [await client.create(spec(n)) for n in range(5)]
    with pytest.raises(RateLimited, match=r"try again at 12:01:00 UTC") as refused:
        await client.create(spec(5))
    await client.aclose()

    assert len(created) == len(sim.jobs) == 5
    assert sim.requests["PUT /jobs"] == 5  # the sixth never left
    assert clock.now < NOW + timedelta(seconds=6)  # creates 1 a second; no minute-long wait
    assert refused.value.retry_after == pytest.approx(56, abs=1)


async def test_the_simulator_counts_per_method_in_fixed_clock_seconds() -> None:
    clock = Clock(NOW + timedelta(milliseconds=900))
    sim = CronJobOrgSim(api_key=KEY, clock=clock, daily_quota=None)
    headers = {"Authorization": f"Bearer {KEY}"}
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sim", headers=headers
    ) as http:
        late = [(await http.get("/jobs")).status_code for _ in range(6)]
        other = (await http.get(f"/jobs/{sim.job_ids()[0]}")).status_code
        clock.now += timedelta(milliseconds=150)  # the next clock second, 0.15 s later
        early = [(await http.get("/jobs")).status_code for _ in range(5)]

    assert late == [200] * 5 + [429]
    assert other == 200  # another method, another window
    assert early == [200] * 5  # a sliding "5 in any 1 s" would refuse these
