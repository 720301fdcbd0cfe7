"""The alert cycle of one account: poll it, queue what changed, deliver, pace the next poll."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from slack_sdk.web.async_client import AsyncWebClient

from bot.admin.metrics import Metrics
from bot.alerts.notifier import Held, Notifier
from bot.alerts.owners import Ownership
from bot.alerts.pacing import next_poll_in
from bot.alerts.poll import Kind, Rules, Transition, read_details, scan
from bot.chat.service import CronService
from bot.config.settings import AlertsConfig
from bot.slack.delivery import Delivery
from bot.store import Store
from bot.store.leases import process_name
from providers.clock import Clock, utcnow

log = logging.getLogger(__name__)

PACE_WINDOW = 12  # polls whose request counts set the pace
#: Accounts whose lists are read and scanned at the same time. Polls can start together (the
#: scheduler spreads first polls over an interval, but paces drift into step, and ``poll_all``
#: starts them all); scanning twenty 5,000-job accounts together held every list in memory
#: at once (324 MB, simulators apart) and kept the database's write lock waiting on the busy
#: event loop until SQLite gave up ("database is locked"). History reads are not counted: they
#: wait on providers.
SCANS_AT_ONCE = 4
#: What changes the Home tab (failing jobs, accounts' reachability): tell ``on_incidents``.
HOME_KINDS = frozenset({Kind.OPENED, Kind.RESOLVED, Kind.ACCOUNT_DOWN, Kind.ACCOUNT_BACK})


@dataclass
class Monitor:
    """Polls the accounts of ``service`` and sends what changed through ``notifier``."""

    service: CronService
    store: Store
    notifier: Notifier
    delivery: Delivery
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    metrics: Metrics = field(default_factory=Metrics)
    clock: Clock = utcnow
    intervals: dict[str, float] = field(default_factory=dict)  # as paced, per account
    on_interval: Callable[[str, float], None] = lambda account, seconds: None
    # with several processes on one database: which accounts this one polls (None: all)
    ownership: Ownership | None = None
    # called when a poll of this process opened or resolved an incident (the Home tabs)
    on_incidents: Callable[[], Awaitable[object]] | None = None
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict, repr=False)
    _costs: dict[str, deque[int]] = field(default_factory=dict, repr=False)  # requests per poll
    scans_at_once: int = SCANS_AT_ONCE
    _scans: asyncio.Semaphore | None = field(default=None, repr=False)

    async def poll(self, account: str) -> list[Transition]:
        """One poll of one account, its messages queued and sent, its next poll paced.

        Polls of one account never overlap (the scheduler's and a console's `poll`, say): the
        second would decide from cursors the first is about to move.
        """
        if self.ownership is not None and not self.ownership.owns(account):
            return []  # another process polls it
        async with self._locks.setdefault(account, asyncio.Lock()):
            return await self._poll(account)

    async def _poll(self, account: str) -> list[Transition]:
        provider = self.service.provider(account)
        if self._scans is None:
            self._scans = asyncio.Semaphore(max(1, self.scans_at_once))
        async with self._scans:
            now, started = self.clock(), time.perf_counter()
            held: Held = []  # updates that wait for the history read

            async def announce(transitions: Sequence[Transition]) -> None:
                await self.notifier.enqueue(transitions, now, held=held)

            found = await scan(provider, self.store, now, announce=announce, rules=self.rules)
        down = any(t.kind is Kind.ACCOUNT_DOWN for t in found.transitions)
        self.metrics.polls.labels(account, "unreachable" if down else "ok").inc()
        # New alerts go out before any history is read.
        await self.delivery.deliver(self.clock())
        await self.refresh_gauges(account)  # the incidents just opened, before history reads
        await self._tell(found.transitions)
        details = await read_details(provider, self.store, found, now, announce=announce)
        self.metrics.poll_seconds.labels(account).observe(time.perf_counter() - started)
        # An update the history refined is superseded by the history's own; the rest go now.
        covered = {t.job.id for t in details if t.job is not None}
        waiting = [key for key, job_id in held if job_id not in covered]
        if await self.store.outbox.release(waiting, now) or details:
            await self.delivery.deliver(self.clock())
        await self._pace(account)
        await self.refresh_gauges(account)
        await self._tell(details)
        return found.transitions + details

    async def _tell(self, transitions: Sequence[Transition]) -> None:
        """Tell ``on_incidents`` of what it cares about; its failure is not the poll's."""
        if self.on_incidents is None or not any(t.kind in HOME_KINDS for t in transitions):
            return
        try:
            await self.on_incidents()
        except Exception:
            log.exception("could not tell of the incidents this poll opened or resolved")

    @property
    def rules(self) -> Rules:
        flapping = self.alerts.flapping
        return Rules(
            self.alerts.failures_before_alert, self.alerts.outage_after,
            flapping.changes, flapping.runs, flapping.recover_after,
        )  # fmt: skip

    async def refresh_gauges(self, account: str) -> None:
        """The metrics that live in the database, and the request budget of ``account``, just
        polled. Only its own: reading every account's budget after every poll read budgets
        accounts² times a cycle (40 accounts, 14 with a budget: 1,120 reads)."""
        self.metrics.open_incidents.set(len(await self.store.incidents.all_open()))
        self.metrics.outbox_depth.set(await self.store.outbox.depth())
        used, limit = await self.service.provider(account).http.budget_state()
        if limit is not None:
            self.metrics.budget_remaining.labels(account).set(limit - (used or 0))

    async def poll_all(self) -> list[Transition]:
        found: list[Transition] = []
        for account in self.service.accounts:
            found += await self.poll(account)
        return found

    async def deliver(self) -> int:
        return await self.delivery.deliver(self.clock())

    async def _pace(self, account: str) -> None:
        provider = self.service.provider(account)
        state = await self.store.accounts.state(account)
        budget = provider.http.budget
        # What a poll costs on average lately: one poll that read a few histories must not
        # slow the next hours down as if every poll did.
        recent = self._costs.setdefault(account, deque(maxlen=PACE_WINDOW))
        recent.append(state.last_requests if state else 1)
        seconds = next_poll_in(
            self.alerts.poll_interval.total_seconds(),
            requests_per_poll=math.ceil(sum(recent) / len(recent)),
            left=await budget.left_for_polls() if budget else None,
            now=self.clock(),
        )
        if self.intervals.get(account) != seconds:
            self.intervals[account] = seconds
            self.on_interval(account, seconds)
            await self.store.accounts.set_interval(account, seconds)  # for every replica


def build_monitor(
    service: CronService,
    store: Store,
    client: AsyncWebClient,
    *,
    alerts: AlertsConfig,
    metrics: Metrics | None = None,
    clock: Clock = utcnow,
    owner: str | None = None,
    ownership: Ownership | None = None,
) -> Monitor:
    """The monitor of every account of ``service``, posting to Slack through ``client``;
    ``owner`` names this process in the outbox's claims, ``ownership`` shares the polling."""
    metrics = metrics or Metrics()
    labels = {name: provider.label for name, provider in service.providers.items()}
    notifier = Notifier(store, alerts.channel, labels)
    delivery = Delivery(store, client, metrics, owner or process_name())
    return Monitor(
        service, store, notifier, delivery, alerts, metrics, clock,
        ownership=ownership,
    )  # fmt: skip
