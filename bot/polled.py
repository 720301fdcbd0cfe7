"""What the poller saw, for list rows that cannot say it themselves.

Djinn CI lists its crons without their builds; the poller reads each cron's builds every
cycle and remembers the newest in its cursor. A `/cron list` fills the rows' unknown results
from those cursors, so `/cron list failing` finds a failing Djinn cron without a builds
request per cron for every list.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store import Store
from providers.base import Job, RunResult

_OWN_WORDS = frozenset(RunResult) - {RunResult.UNKNOWN}


async def with_polled_results(store: Store | None, jobs: Sequence[Job]) -> list[Job]:
    """``jobs`` with every unknown last result the poller has seen filled in."""
    unknown = {job.account for job in jobs if job.last_result is RunResult.UNKNOWN}
    if store is None or not unknown:
        return list(jobs)
    cursors = {account: await store.cursors(account) for account in sorted(unknown)}
    filled = []
    for job in jobs:
        cursor = cursors.get(job.account, {}).get(job.id)
        if job.last_result is RunResult.UNKNOWN and cursor and cursor.last_result in _OWN_WORDS:
            job = job.model_copy(
                update={
                    "last_result": RunResult(cursor.last_result),
                    "last_run": cursor.last_run or job.last_run,
                }
            )
        filled.append(job)
    return filled
