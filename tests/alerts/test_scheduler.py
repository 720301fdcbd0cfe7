"""The scheduler's wiring of polls: when each account is polled."""

from __future__ import annotations

from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.alerts.scheduler import build_scheduler
from bot.inflight import Inflight
from tests.alerts.world import START, World

ACCOUNTS = ("prod", "hub", "ci", "apps")


async def _scheduler(world: World) -> AsyncIOScheduler:
    """The scheduler of four accounts polled every 60 s, not started."""
    monitor = await world.monitor(accounts=ACCOUNTS, poll_interval="60s")
    return build_scheduler(
        monitor.service, monitor.store, monitor.delivery, inflight=Inflight(),
        clock=world.clock, monitor=monitor,
    )  # fmt: skip


async def test_the_accounts_first_polls_are_spread_over_the_interval_not_fired_together(
    world: World,
) -> None:
    scheduler = await _scheduler(world)
    firsts = sorted(
        job.next_run_time - START for job in scheduler.get_jobs() if job.id.startswith("poll:")
    )
    assert firsts == [timedelta(seconds=s) for s in (0, 15, 30, 45)]


async def test_each_account_keeps_its_place_in_the_interval_after_its_first_poll(
    world: World,
) -> None:
    scheduler = await _scheduler(world)
    polls = [job for job in scheduler.get_jobs() if job.id.startswith("poll:")]
    seconds = []
    for job in sorted(polls, key=lambda job: job.next_run_time):  # the second poll of each
        after = job.trigger.get_next_fire_time(job.next_run_time, job.next_run_time)
        seconds.append((after - START).total_seconds())
    assert seconds == [60, 75, 90, 105]
