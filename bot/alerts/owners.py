"""Which process polls which account, when several share one database.

Every process says it is alive every :data:`KEEP_EVERY` (a heartbeat row) and keeps the lease
``poll:<account>`` of the accounts it should poll, renewing it to :data:`TTL` ahead. Which
ones it should poll is rendezvous hashing over the live processes: for each account, the live
process whose hash of (process, account) is highest. Every process computes the same answer
from the same rows, so the accounts spread over the processes without any vote, and when one
stops (its heartbeat goes stale, or it said goodbye at shutdown) its accounts re-hash to the
others, which take each lease once it is free: within a keep interval of a goodbye, within
:data:`TTL` and a keep interval of a kill. A lease left expired for :data:`GRACE` is taken by
any process, whatever the hashing says, so no account is ever left unpolled.

A process polls an account only while it holds the lease with :data:`SAFETY` to spare. The
database decides everything that must happen once (incidents, messages) besides, so two
processes polling the same account for a moment repeat no alert.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.admin.metrics import Metrics
from bot.store import Store
from bot.store.leases import Lease
from providers.clock import Clock, utcnow

log = logging.getLogger(__name__)

KEEP_EVERY = timedelta(seconds=4)  # heartbeat, take and renew
TTL = timedelta(seconds=20)  # a lease outlives its owner by at most this
STALE = timedelta(seconds=12)  # a process not heard from for this long is gone
GRACE = timedelta(seconds=8)  # an expired lease nobody took for this long: anyone takes it
SAFETY = timedelta(seconds=5)  # a lease this close to expiring is not polled under


def lease_name(account: str) -> str:
    return f"poll:{account}"


def preferred(processes: Sequence[str], account: str) -> str:
    """The process that should poll ``account`` among ``processes`` (rendezvous hashing)."""
    return max(processes, key=lambda p: hashlib.sha256(f"{p}|{account}".encode()).digest())


@dataclass
class Ownership:
    """This process's share of the polling, kept in the database."""

    store: Store
    me: str
    accounts: Sequence[str]
    clock: Clock = utcnow
    metrics: Metrics | None = None
    _held: dict[str, datetime] = field(default_factory=dict)  # account -> lease expiry

    def owns(self, account: str) -> bool:
        """Whether this process may poll ``account`` now."""
        expires = self._held.get(account)
        return expires is not None and expires - self.clock() > SAFETY

    @property
    def held(self) -> list[str]:
        return [account for account in self.accounts if self.owns(account)]

    async def keep(self) -> None:
        """Say this process is alive; take, renew or hand over each account's lease."""
        now = self.clock()
        await self.store.leases.beat(self.me, now)
        live = await self.store.leases.live(now, STALE)
        leases = await self.store.leases.all()
        for account in self.accounts:
            await self._keep_one(account, live or [self.me], leases.get(lease_name(account)), now)
        if self.metrics is not None:
            self.metrics.leases_held.set(len(self.held))

    async def _keep_one(
        self, account: str, live: Sequence[str], lease: Lease | None, now: datetime
    ) -> None:
        mine = lease is not None and lease.owner == self.me and lease.expires_at > now
        if preferred(live, account) != self.me and not _abandoned(lease, now):
            if mine:  # another live process should poll it now: hand it over
                await self.store.leases.give_up(lease_name(account), self.me)
                log.info("handing %s over to another process", account)
            self._held.pop(account, None)
            return
        taken = await self.store.leases.take(lease_name(account), self.me, now, TTL)
        if taken is None:
            self._held.pop(account, None)
            return
        if not mine:
            self._took(account, lease, now)
        self._held[account] = taken.expires_at

    def _took(self, account: str, before: Lease | None, now: datetime) -> None:
        if before is not None and before.owner != self.me:
            log.info("took %s over from %s", account, before.owner)
            if self.metrics is not None:
                self.metrics.lease_takeovers.inc()
        else:
            log.info("polling %s", account)

    async def leave(self) -> None:
        """This process stops: its leases go at once, so others take over without waiting."""
        self._held.clear()
        await self.store.leases.gone(self.me)


def _abandoned(lease: Lease | None, now: datetime) -> bool:
    """No lease yet, or one expired long enough that its preferred taker is not coming."""
    return lease is None or lease.expires_at <= now - GRACE
