"""The poll baseline: list every job, then fetch every job's history, every cycle.

Jobs whose provider has no history API (Cronhub, Miget) have only what the list shows, so
for them the baseline costs the same as cronops: the list is all there is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from providers.base import Capability, Provider, RunResult
from providers.budget import RateLimits


@dataclass
class NaivePoller:
    """Remembers the newest execution seen per job; a new failed one is an alert."""

    seen: dict[tuple[str, str], str] = field(default_factory=dict)

    async def poll(self, provider: Provider) -> int:
        """One cycle of one account, job after job; the number of alerts it would post."""
        alerts = 0
        for job in await provider.list_jobs():
            if job.can(Capability.HISTORY):
                runs = await provider.history(job.id, 10)
                newest = runs[0] if runs else None
                mark = newest.id if newest else "never"
                failed = newest is not None and newest.result is RunResult.FAILED
            else:
                mark = f"{job.last_run}|{job.last_result.value}"
                failed = job.last_result is RunResult.FAILED
            before = self.seen.get((job.account, job.id))
            self.seen[(job.account, job.id)] = mark
            alerts += before is not None and before != mark and failed
        return alerts


def unthrottled(provider: Provider) -> Provider:
    """Without the client's own rate limits (cron-job.org: 5 requests/s per API method).

    Fetching every history at 5/s would take minutes per cycle; the baseline is measured
    without the limit, which favours it: the real service would refuse or slow it down.
    """
    provider.http.limits = RateLimits(None)
    return provider
