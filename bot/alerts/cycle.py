"""The alert loop for one process: poll an account, queue what changed, deliver, pace."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Deps
from bot.notifier import Notifier
from bot.pacing import next_poll_in
from bot.poll_common import Kind, Transition
from bot.poll_details import read_details
from bot.poller import scan

log = logging.getLogger(__name__)

PACE_WINDOW = 12  # polls whose request counts set the pace


@dataclass
class Monitor:
    deps: Deps
    notifier: Notifier
    on_interval: Callable[[str, float], None] = lambda account, seconds: None
    intervals: dict[str, float] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, repr=False)
    _costs: dict[str, deque[int]] = field(default_factory=dict, repr=False)  # requests per poll

    async def poll(self, account: str) -> list[Transition]:
        """One poll of one account, its messages queued and sent, its next poll paced.

        Polls of one account never overlap (the scheduler's and a console's `poll`, say): the
        second would decide from cursors the first is about to move.
        """
        async with self._locks.setdefault(account, asyncio.Lock()):
            return await self._poll(account)

    async def _poll(self, account: str) -> list[Transition]:
        deps = self.deps
        provider = deps.service.provider(account)
        now, started = deps.clock(), time.perf_counter()
        found = await scan(
            provider, deps.store, now, failures_before_alert=deps.failures_before_alert
        )
        down = any(t.kind is Kind.ACCOUNT_DOWN for t in found.transitions)
        deps.metrics.polls.labels(account, "unreachable" if down else "ok").inc()
        # New alerts go out before any history is read. A message update the history is about
        # to refine waits for it, so Slack gets one update, not two (or the scan's, should the
        # history read fail).
        due = {d.job.id for d in found.due}
        held = [t for t in found.transitions if t.kind is Kind.FAILED_AGAIN and _job_id(t) in due]
        await self.notifier.enqueue([t for t in found.transitions if t not in held], now)
        await self.notifier.deliver(deps.clock())
        await self.refresh_gauges()  # the incidents just opened, before the history reads
        details = await read_details(provider, deps.store, found, now)
        deps.metrics.poll_seconds.labels(account).observe(time.perf_counter() - started)
        covered = {_job_id(t) for t in details}
        later = [t for t in held if _job_id(t) not in covered] + details
        if later:
            await self.notifier.enqueue(later, now)
            await self.notifier.deliver(deps.clock())
        transitions = found.transitions + details
        await self._pace(account)
        await self.refresh_gauges()
        return transitions

    async def refresh_gauges(self) -> None:
        """The metrics that live in the database and the budgets."""
        deps = self.deps
        deps.metrics.open_incidents.set(len(await deps.store.open_incidents()))
        deps.metrics.outbox_depth.set(await deps.store.outbox_depth())
        for name, provider in deps.service.providers.items():
            used, limit = await provider.http.budget_state()
            if limit is not None:
                deps.metrics.budget_remaining.labels(name).set(limit - (used or 0))

    async def poll_all(self) -> list[Transition]:
        found: list[Transition] = []
        for account in self.deps.service.accounts:
            found += await self.poll(account)
        return found

    async def deliver(self) -> int:
        return await self.notifier.deliver(self.deps.clock())

    async def _pace(self, account: str) -> None:
        deps = self.deps
        provider = deps.service.provider(account)
        state = await deps.store.account_state(account)
        used, limit = await provider.http.budget_state()
        budget = provider.http.budget
        # What a poll costs on average lately: one poll that read a few histories must not
        # slow the next hours down as if every poll did.
        recent = self._costs.setdefault(account, deque(maxlen=PACE_WINDOW))
        recent.append(state.last_requests if state else 1)
        seconds = next_poll_in(
            deps.poll_interval,
            requests_per_poll=math.ceil(sum(recent) / len(recent)),
            used=used,
            limit=limit,
            reserve=budget.kept_for_commands if budget else 0,
            now=deps.clock(),
        )
        if self.intervals.get(account) != seconds:
            self.intervals[account] = seconds
            self.on_interval(account, seconds)


def _job_id(transition: Transition) -> str | None:
    return transition.job.id if transition.job else None


def build_monitor(deps: Deps, client: AsyncWebClient) -> Monitor:
    labels = {name: provider.label for name, provider in deps.service.providers.items()}
    notifier = Notifier(deps.store, client, deps.alerts_channel, labels, deps.metrics)
    return Monitor(deps, notifier, intervals=deps.poll_intervals)
