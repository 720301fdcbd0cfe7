"""The poll baselines: what a user would write without cronops.

- :class:`ListOnlyPoller` reads the job list once a cycle and alerts when a job's last status
  in the list turns failed. One request a cycle (a page), but it sees one run per job per poll:
  a job that failed and then succeeded again between two polls looks healthy. Djinn CI's list
  carries no results at all, so there it never alerts.
- :class:`NaivePoller` reads the list, then every job's history, job after job, every cycle,
  and alerts when any run newer than the last one it saw failed: it sees every run, at one
  request per job per cycle.

Jobs whose provider has no history API (Cronhub, Miget) have only what the list shows, so for
them the every-history poller costs the same as the list: the list is all there is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from providers.base import Capability, Provider, RunResult
from providers.budget import RateLimits


@dataclass
class ListOnlyPoller:
    """Remembers each job's last status in the list; a turn to failed is an alert."""

    seen: dict[tuple[str, str], RunResult] = field(default_factory=dict)

    async def poll(self, provider: Provider) -> set[str]:
        """One cycle of one account; the ids of the jobs it would alert on."""
        alerted: set[str] = set()
        for job in await provider.list_jobs():
            before = self.seen.get((job.account, job.id))
            self.seen[(job.account, job.id)] = job.last_result
            failed = job.last_result is RunResult.FAILED
            if before is not None and before is not RunResult.FAILED and failed:
                alerted.add(job.id)
        return alerted


@dataclass
class NaivePoller:
    """Remembers the newest execution seen per job; any newer failed one is an alert."""

    seen: dict[tuple[str, str], str] = field(default_factory=dict)

    async def poll(self, provider: Provider) -> set[str]:
        """One cycle of one account, job after job; the ids of the jobs it would alert on."""
        alerted: set[str] = set()
        for job in await provider.list_jobs():
            before = self.seen.get((job.account, job.id))
            if job.can(Capability.HISTORY):
                runs = await provider.history(job.id, 10)  # newest first
                mark = runs[0].id if runs else "never"
                new = []
                for run in runs:
                    if run.id == before:
                        break
                    new.append(run)
                failed = any(run.result is RunResult.FAILED for run in new)
            else:
                mark = f"{job.last_run}|{job.last_result.value}"
                failed = job.last_result is RunResult.FAILED
            self.seen[(job.account, job.id)] = mark
            if before is not None and before != mark and failed:
                alerted.add(job.id)
        return alerted


def unthrottled(provider: Provider) -> Provider:
    """Without the client's own rate limits (cron-job.org: 5 requests/s per API method).

    Fetching every history at 5/s would take minutes per cycle; the baseline is measured
    without the limit, which favours it: the real service would refuse or slow it down.
    """
    provider.http.limits = RateLimits(None)
    return provider
