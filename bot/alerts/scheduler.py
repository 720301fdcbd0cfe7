"""APScheduler wiring only: what runs when. The work itself lives in other modules."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.alerts.cycle import Monitor
from bot.alerts.digest import for_monitor
from bot.alerts.owners import KEEP_EVERY
from bot.alerts.resumes import run_due_resumes
from bot.chat.service import CronService
from bot.inflight import Inflight
from bot.slack.delivery import Delivery
from bot.store import Store
from providers.clock import Clock

log = logging.getLogger(__name__)

RESUME_EVERY = 30  # seconds
OUTBOX_EVERY = 2  # seconds: a delayed message goes out soon after Slack is back
PRUNE_FIRST = timedelta(minutes=5)  # after start, then daily
RENOTIFY_EVERY = 60  # seconds: still-failing replies are looked for this often
DIGEST_EVERY = 60  # seconds: whether the daily digest is due is looked at this often


def build_scheduler(
    service: CronService,
    store: Store,
    delivery: Delivery,
    *,
    inflight: Inflight,
    clock: Clock,
    monitor: Monitor | None = None,
    retention: timedelta | None = None,
) -> AsyncIOScheduler:
    """Timed resumes and the outbox always; with a monitor, each account's polls too (and
    the daily digest, if configured); with a ``retention``, a daily pruning of what is older."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    every = {"coalesce": True, "max_instances": 1}

    def _logged(name: str, work: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
        return logged(name, work, inflight)

    async def resumes() -> None:
        await run_due_resumes(store, service, delivery, clock())

    async def outbox() -> None:
        await delivery.deliver(clock())

    scheduler.add_job(
        _logged("timed resumes", resumes), "interval", seconds=RESUME_EVERY, id="resumes",
        next_run_time=clock(), **every,
    )  # fmt: skip
    scheduler.add_job(
        _logged("outbox", outbox), "interval", seconds=OUTBOX_EVERY, id="outbox", **every
    )
    if retention is not None:

        async def prune() -> None:
            pruned = await store.prune(clock(), retention)
            log.info("pruned what is older than %s: %s", retention, pruned)

        scheduler.add_job(
            _logged("pruning", prune), "interval", hours=24, id="prune",
            next_run_time=clock() + PRUNE_FIRST, **every,
        )  # fmt: skip
    if monitor is None:
        return scheduler
    renotify_after = monitor.alerts.renotify_after
    if renotify_after is not None:

        async def renotify() -> None:
            if await monitor.notifier.renotify(clock(), renotify_after):
                await delivery.deliver(clock())

        scheduler.add_job(
            _logged("re-notify", renotify), "interval", seconds=RENOTIFY_EVERY, id="renotify",
            **every,
        )  # fmt: skip
    if (digest := for_monitor(monitor)) is not None:
        scheduler.add_job(
            _logged("daily digest", digest.run), "interval", seconds=DIGEST_EVERY, id="digest",
            next_run_time=clock(), **every,
        )  # fmt: skip
    if monitor.ownership is not None:
        scheduler.add_job(
            _logged("leases", monitor.ownership.keep), "interval",
            seconds=KEEP_EVERY.total_seconds(), id="leases", **every,
        )  # fmt: skip
    interval = monitor.alerts.poll_interval
    firsts = spread(interval, len(service.accounts))
    for account, first in zip(service.accounts, firsts, strict=True):
        scheduler.add_job(
            _logged(f"poll {account}", _poll(monitor, account)),
            IntervalTrigger(seconds=interval.total_seconds()),
            id=f"poll:{account}", next_run_time=clock() + first, **every,
        )  # fmt: skip

    def repace(account: str, seconds: float) -> None:
        log.info("polling %s every %.0f s", account, seconds)
        scheduler.reschedule_job(f"poll:{account}", trigger=IntervalTrigger(seconds=seconds))

    monitor.on_interval = repace
    if monitor.ownership is not None:

        def poll_now(account: str) -> None:
            # Taken from another process, maybe one that died: its last poll may be nearly an
            # interval past already, and waiting for this process's next turn could add another.
            scheduler.modify_job(f"poll:{account}", next_run_time=clock())

        monitor.ownership.on_taken = poll_now
    return scheduler


async def stop(scheduler: AsyncIOScheduler, inflight: Inflight) -> None:
    """Stop starting jobs, let running ones finish, then shut down (shutdown cancels them)."""
    if not scheduler.running:
        return
    scheduler.pause()
    await inflight.drain()
    scheduler.shutdown(wait=False)


def spread(interval: timedelta, accounts: int) -> list[timedelta]:
    """When each account's first poll runs: evenly over the first interval, not all at once.

    Polls that start together queue for the event loop and the database, so an account's alert
    waited for every other account's poll (in the alert benchmark, four accounts every 2 s on
    a loaded machine: up to 0.6 s more). Each account's next polls follow from its own (a new
    pace counts from the end of the poll that set it), so they stay apart.
    """
    return [interval * i / accounts for i in range(accounts)]


def _poll(monitor: Monitor, account: str) -> Callable[[], Awaitable[Any]]:
    async def poll() -> None:
        await monitor.poll(account)

    return poll


def logged(
    name: str, work: Callable[[], Awaitable[Any]], inflight: Inflight
) -> Callable[[], Awaitable[None]]:
    """A job that logs its failure and lets the scheduler carry on; shutdown waits for it."""

    async def job() -> None:
        async with inflight.track():
            try:
                await work()
            except Exception:
                log.exception("scheduled job %r failed; it runs again at its next time", name)

    return job
