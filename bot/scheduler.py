"""APScheduler wiring only: what runs when. The work itself lives in other modules."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Deps
from bot.resumer import run_due_resumes

log = logging.getLogger(__name__)

RESUME_EVERY = 30  # seconds


def build_scheduler(deps: Deps, client: AsyncWebClient) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)

    async def resumes() -> None:
        await run_due_resumes(deps.store, deps.service, client, deps.clock())

    scheduler.add_job(
        _logged("timed resumes", resumes), "interval", seconds=RESUME_EVERY, id="resumes",
        coalesce=True, max_instances=1, next_run_time=deps.clock(),
    )  # fmt: skip
    return scheduler


def _logged(name: str, work: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A job that logs its failure and lets the scheduler carry on."""

    async def job() -> None:
        try:
            await work()
        except Exception:
            log.exception("scheduled job %r failed; it runs again at its next time", name)

    return job
