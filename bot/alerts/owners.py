"""Which process polls which account, when several share one database.

Every process says it is alive every :data:`KEEP_EVERY` (a heartbeat row) and keeps the lease
``poll:<account>`` of the accounts it should poll, renewing it to :data:`TTL` ahead. Which
ones it should poll is rendezvous hashing with bounded loads over the live processes (see
:func:`assignment`). Every process computes the same answer from the same rows and the same
configured accounts, so the accounts spread evenly over the processes without any vote, and
when one stops (its heartbeat goes stale, or it said goodbye at shutdown) its accounts move to
the others, which take each lease once it is free: within a keep interval of a goodbye, within
:data:`TTL` and a keep interval of a kill, and poll the account at once (``on_taken``), not at
their own next turn for it, up to a poll interval later. A lease left expired for
:data:`GRACE` is taken by any process, whatever the hashing says, so no account is ever left
unpolled (processes whose configs list different accounts, in a rolling restart, may disagree
for that long).

A process polls an account only while it holds the lease with :data:`SAFETY` to spare. The
database decides everything that must happen once (incidents, messages) besides, so two
processes polling the same account for a moment repeat no alert.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Sequence
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


def assignment(processes: Sequence[str], accounts: Sequence[str]) -> dict[str, str]:
    """Which of ``processes`` polls each of ``accounts``: rendezvous hashing, bounded.

    Taken in the order of their own hash, each account goes to the process ranking highest
    for it (by the hash of process and account) among those still under their share,
    ``ceil(accounts / processes)``. Plain rendezvous hashing (no bound) spread 40 accounts
    over three processes as 19 / 13 / 8, and the busiest process sets how long a cycle takes;
    bounded, no process gets more than 14. When a process joins or leaves, most accounts keep
    their process, as with plain rendezvous hashing.
    """
    if not processes:
        return {}
    share = math.ceil(len(accounts) / len(processes))
    load = dict.fromkeys(processes, 0)
    chosen = {}
    for account in sorted(set(accounts), key=lambda a: (_hash(a), a)):
        ranked = sorted(processes, key=lambda p: (_hash(f"{p}|{account}"), p), reverse=True)
        process = next(p for p in ranked if load[p] < share)
        load[process] += 1
        chosen[account] = process
    return chosen


def _hash(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


@dataclass
class Ownership:
    """This process's share of the polling, kept in the database."""

    store: Store
    me: str
    accounts: Sequence[str]
    clock: Clock = utcnow
    metrics: Metrics | None = None
    # told of each account taken from another process (the scheduler polls it at once)
    on_taken: Callable[[str], None] = lambda account: None
    _held: dict[str, datetime] = field(default_factory=dict)  # account -> lease expiry
    # the live processes last seen, and which of them polls each account
    _assigned: tuple[tuple[str, ...], dict[str, str]] = field(default_factory=lambda: ((), {}))

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
        live = tuple(await self.store.leases.live(now, STALE)) or (self.me,)
        if self._assigned[0] != live:  # the same processes: the same answer
            self._assigned = (live, assignment(live, self.accounts))
        chosen = self._assigned[1]
        leases = await self.store.leases.all()
        for account in self.accounts:
            await self._keep_one(account, chosen[account], leases.get(lease_name(account)), now)
        if self.metrics is not None:
            self.metrics.leases_held.set(len(self.held))

    async def _keep_one(
        self, account: str, chosen: str, lease: Lease | None, now: datetime
    ) -> None:
        mine = lease is not None and lease.owner == self.me and lease.expires_at > now
        if chosen != self.me and not _abandoned(lease, now):
            if mine:  # another live process should poll it now: hand it over
                await self.store.leases.give_up(lease_name(account), self.me, now)
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
            self.on_taken(account)
        else:
            log.info("polling %s", account)

    async def leave(self) -> None:
        """This process stops: its leases go at once, so others take over without waiting."""
        self._held.clear()
        await self.store.leases.gone(self.me)


def _abandoned(lease: Lease | None, now: datetime) -> bool:
    """No lease yet, or one expired long enough that its preferred taker is not coming."""
    return lease is None or lease.expires_at <= now - GRACE
