"""The daily digest (``alerts.digest``): once a day, a summary of the day, posted once.

The scheduler calls :meth:`Digest.run` every minute, in every process. Once the local time in
the digest's timezone has reached ``at``, the day's digest is due: it is queued in the outbox
under the key ``digest:<local date>`` and sent from there like any alert. The key is unique, so
the digest is queued once per local day whatever the number of processes, restarts or calls;
a process that finds it queued does nothing. The work between finding it due and queueing it
(a listing per account) is done under a lease, ``digest:<local date>``, so replicas do not
all read the providers for a digest only one of them will queue. Local wall-clock time makes
the days of a change to or from daylight saving time work as people expect: at ``02:30`` on
the day the clock jumps from 02:00 to 03:00, the digest is due at 03:00.

What the digest covers: the incidents opened and resolved since the previous day's digest was
queued (the last 24 hours when there was none), so consecutive digests tile the time, 23 or
25 hours across a change of daylight saving time. Open incidents and active mutes come from
the database; paused jobs from the accounts' listings: one this process read within
:data:`LISTING_AGE` (a `/cron list`) is used as it is, else each account is listed once, a
request a day on the commands' share of a budget (1 of cron-job.org's 100). The poller never
reads whether a job is paused (its lists are read only as far as results), so this is the
one extra request. Budgets: each budgeted account's requests on the UTC day before, and today.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.alerts.cycle import Monitor
from bot.chat.service import CronService
from bot.config.settings import DigestConfig
from bot.slack.delivery import Delivery
from bot.slack.render import digest as render
from bot.slack.render.alerts import AlertMessage
from bot.store import Store
from bot.store.leases import process_name
from bot.store.tables import Incident
from providers.clock import Clock, utcnow

log = logging.getLogger(__name__)

LISTING_AGE = timedelta(hours=1)  # a cached listing this young tells which jobs are paused
LEASE = timedelta(minutes=5)  # one process gathers the day's digest at a time
WINDOW = timedelta(hours=24)  # what a digest covers when there was none the day before


def for_monitor(monitor: Monitor) -> Digest | None:
    """The digest ``alerts.digest`` asks for, over the monitor's accounts (None: none)."""
    config = monitor.alerts.digest
    if config is None:
        return None
    return Digest(
        config, monitor.store, monitor.service, monitor.delivery, monitor.notifier.labels,
        monitor.clock, monitor.delivery.owner,
    )  # fmt: skip


def digest_key(day: date) -> str:
    """The outbox key of the digest of local date ``day``."""
    return f"digest:{day.isoformat()}"


@dataclass
class Digest:
    """The daily digest of ``service``'s accounts, posted to ``config.channel``."""

    config: DigestConfig
    store: Store
    service: CronService
    delivery: Delivery
    labels: Mapping[str, str] = field(default_factory=dict)  # account -> provider label
    clock: Clock = utcnow
    owner: str = field(default_factory=process_name)

    def due(self, now: datetime) -> date | None:
        """The local date whose digest is due at ``now``: today's once ``at`` has passed."""
        local = now.astimezone(ZoneInfo(self.config.timezone))
        return local.date() if local.strftime("%H:%M") >= self.config.at else None

    async def run(self) -> bool:
        """Queue and send the day's digest if it is due and nobody queued it yet; whether this
        call queued it."""
        now = self.clock()
        day = self.due(now)
        if day is None:
            return False
        key = digest_key(day)
        if await self.store.outbox.queued_at(key) is not None:
            return False  # the usual case, every minute of the rest of the day
        lease = key
        if await self.store.leases.take(lease, self.owner, now, LEASE) is None:
            return False  # another process is on it
        try:
            if await self.store.outbox.queued_at(key) is not None:
                return False  # queued between the look and the lease
            message = render.digest(await self.view(day, now), now=now)
            queued = await self.store.outbox.enqueue(
                key, "post", self.config.channel, _payload(message), now=now
            )
        finally:
            await self.store.leases.give_up(lease, self.owner, self.clock())
        if queued:
            log.info("daily digest of %s queued for %s", day, self.config.channel)
            await self.delivery.deliver(self.clock(), keys=[key])
        return queued

    async def view(self, day: date, now: datetime) -> render.DigestView:
        """What the digest of ``day`` says at ``now``."""
        since = await self.store.outbox.queued_at(digest_key(day - timedelta(days=1)))
        since = since if since is not None and since < now else now - WINDOW
        changed = await self.store.incidents.changed_between(since, now)
        listing = await self.service.listing(max_age=LISTING_AGE)
        names = {job.ref: job.name for job in listing.jobs}
        mutes = await self.store.mutes.all_active(now)
        return render.DigestView(
            since=since, until=now,
            opened=[_incident(i) for i in changed if since <= i.opened_at],
            resolved=[_incident(i) for i in changed if i.resolved_at and since <= i.resolved_at],
            failing=[_incident(i) for i in await self.store.incidents.all_open()],
            paused=sorted(
                (render.DigestJob(j.ref, j.name) for j in listing.jobs if j.paused),
                key=lambda j: (j.name.casefold(), j.ref),
            ),
            muted=[
                render.DigestMute(ref, names.get(ref), m.until, m.created_by)
                for ref, m in sorted(mutes.items())
            ],
            budgets=await self._budgets(now),
            unknown=[(f.account, f.message) for f in listing.failures],
            paused_as_of=listing.as_of,
        )  # fmt: skip

    async def _budgets(self, now: datetime) -> list[render.DigestBudget]:
        today = now.astimezone(UTC).date()
        budgets = []
        for name, provider in self.service.providers.items():
            budget = provider.http.budget
            if budget is None:
                continue
            yesterday, _ = await budget.ledger.counts(budget.account, today - timedelta(days=1))
            used, _ = await budget.ledger.counts(budget.account, today)
            label = self.labels.get(name, provider.label)
            budgets.append(render.DigestBudget(name, label, budget.limit, yesterday, used))
        return budgets


def _incident(incident: Incident) -> render.DigestIncident:
    return render.DigestIncident(
        ref=incident.ref, job_name=incident.job_name, opened_at=incident.opened_at,
        resolved_at=incident.resolved_at, acked_by=incident.acked_by, flapping=incident.flapping,
    )  # fmt: skip


def _payload(message: AlertMessage) -> dict[str, Any]:
    return {"text": message.text, "blocks": [block.to_dict() for block in message.blocks]}
