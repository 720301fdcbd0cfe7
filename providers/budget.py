"""An account's daily request budget: counted per UTC day in a ledger, with a reserve for people.

The count is kept in a :class:`BudgetLedger` (the bot's database in production, so a restart
does not reset it), written a lease at a time (:attr:`DailyBudget.lease`). Poll requests
(:data:`request_purpose` set to ``"poll"``) leave the reserve, by default a fifth of the budget,
to people's commands. Also here: the per-operation :class:`RateLimits` that pace requests within
seconds or minutes. :mod:`providers.http` applies both to every request it sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Literal, Protocol

from aiolimiter import AsyncLimiter

from providers.clock import Clock, utcnow
from providers.errors import BudgetExhausted

Purpose = Literal["command", "poll"]
#: Who a request is for. The poller sets "poll"; poll requests leave the budget's reserve
#: untouched so people's commands still work late in the day.
request_purpose: ContextVar[Purpose] = ContextVar("request_purpose", default="command")


# -- budget ---------------------------------------------------------------------------------
class BudgetLedger(Protocol):
    """Where request counts per account and UTC day are kept (the bot's database in production)."""

    async def used(self, account: str, day: date) -> int: ...

    async def spend(
        self, account: str, day: date, limit: int, keep: int, count: int = 1
    ) -> int | None:
        """Count ``count`` requests if ``used + keep + count <= limit``; the new count, or None."""
        ...


class MemoryLedger:
    """A ledger in memory, for tests and the demo."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, date], int] = {}

    async def used(self, account: str, day: date) -> int:
        return self.counts.get((account, day), 0)

    async def spend(
        self, account: str, day: date, limit: int, keep: int, count: int = 1
    ) -> int | None:
        used = self.counts.get((account, day), 0)
        if used + keep + count > limit:
            return None
        self.counts[(account, day)] = used + count
        return used + count


@dataclass
class DailyBudget:
    """An account's daily request budget, counted per UTC day (as cron-job.org counts it)."""

    account: str
    limit: int
    ledger: BudgetLedger
    reserve: int | None = None  # requests kept for people; default a fifth of the budget
    clock: Clock = utcnow
    # Requests counted in the ledger at a time. One database write per request put a write on
    # every provider call; a lease of a hundredth of a large budget (50 of 5,000) needs one
    # per 50. What a lease leaves unused stays counted: a restart forgoes at most that many.
    # Budgets under 200 a day (cron-job.org's default is 100) count every request one by one.
    lease: int | None = None
    _day: date | None = field(default=None, init=False, repr=False)
    _left: int = field(default=0, init=False, repr=False)  # leased, not yet used
    _top: int = field(default=0, init=False, repr=False)  # the ledger count after the lease

    @property
    def kept_for_commands(self) -> int:
        return self.reserve if self.reserve is not None else max(1, self.limit // 5)

    @property
    def lease_size(self) -> int:
        return self.lease if self.lease is not None else max(1, self.limit // 100)

    async def spend(self) -> None:
        keep = self.kept_for_commands if request_purpose.get() == "poll" else 0
        day = self.clock().astimezone(UTC).date()
        if self._day != day:
            self._day, self._left = day, 0
        # a poll may use what is leased only where the whole lease lies outside the reserve
        if self._left > 0 and self._top + keep <= self.limit:
            self._left -= 1
            return
        for size in dict.fromkeys((self.lease_size, 1)):  # near the limit, one at a time
            top = await self.ledger.spend(self.account, day, self.limit, keep, size)
            if top is not None:
                self._left, self._top = size - 1, top
                return
        who = "polling" if keep else "requests"
        raise BudgetExhausted(f"{self.limit} per day; {who} stop until 00:00 UTC")

    async def used(self) -> int:
        return await self.ledger.used(self.account, self.clock().astimezone(UTC).date())


# -- rate limits ----------------------------------------------------------------------------
RateSpec = Mapping[str, Sequence[tuple[float, float]]]


class RateLimits:
    """Per-operation limits, e.g. ``{"*": [(5, 1)], "create": [(1, 1), (5, 60)]}``.

    Each operation gets its own limiters (cron-job.org counts per API method); ``"*"`` is the
    limit for operations not named.
    """

    def __init__(self, spec: RateSpec | None = None) -> None:
        self.spec = dict(spec or {})
        self._limiters: dict[str, list[AsyncLimiter]] = {}

    async def acquire(self, op: str) -> None:
        limiters = self._limiters.get(op)
        if limiters is None:
            rates = self.spec.get(op, self.spec.get("*", ()))
            limiters = [AsyncLimiter(count, period) for count, period in rates]
            self._limiters[op] = limiters
        for limiter in limiters:
            await limiter.acquire()
