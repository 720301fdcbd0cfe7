"""An account's daily request budget: counted per UTC day in a ledger, with a reserve for people.

The count is kept in a :class:`BudgetLedger` (the bot's database in production, so a restart
does not reset it), written a lease at a time (:attr:`DailyBudget.lease`). Poll requests
(:data:`request_purpose` set to ``"poll"``) leave the reserve, by default a fifth of the budget,
to people's commands. Also here: the per-operation :class:`RateLimits` that pace requests in
fixed windows of clock seconds or minutes. :mod:`providers.http` applies both to every request
it sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, Protocol

from providers.clock import Clock, utcnow
from providers.errors import BudgetExhausted, RateLimited

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
Sleep = Callable[[float], Awaitable[None]]
#: Past a window's start, so a call woken there is counted in it (timers may wake a hair early).
MARGIN = 0.01


class RateLimits:
    """Per-operation limits in fixed windows of the wall clock, e.g.
    ``{"*": [(5, 1)], "create": [(1, 1), (5, 60)]}``.

    A window is a clock second (or minute): ``floor(time / period)``, as cron-job.org counts
    (``RateLimiter.php``): 5 calls of a method between 12:00:00 and 12:00:01, not "5 in any
    1 s" (a leaky bucket lets about 9 through in one clock second). Each operation has its own
    windows (the server counts per API method); ``"*"`` is the limit of operations not named.

    A call takes the earliest moment at which every window of its operation has room, in
    arrival order. A wait up to ``max_wait`` is waited; a longer one (the sixth create of a
    minute) is refused at once with :class:`RateLimited` naming the time to try again: a person
    gets an answer now instead of a command that hangs for a minute, and nothing is sent.
    """

    def __init__(
        self,
        spec: RateSpec | None = None,
        *,
        clock: Clock = utcnow,
        sleep: Sleep = asyncio.sleep,
        max_wait: float = 5.0,
    ) -> None:
        self.spec = dict(spec or {})
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self._taken: dict[tuple[str, float], dict[int, int]] = {}  # (op, period) -> window: n

    def rates(self, op: str) -> Sequence[tuple[float, float]]:
        return self.spec.get(op, self.spec.get("*", ()))

    async def acquire(self, op: str) -> None:
        """Wait for room in ``op``'s windows and count the call, or raise RateLimited."""
        rates = self.rates(op)
        if not rates:
            return
        now = self.clock().timestamp()
        at = self._earliest(op, rates, now)
        if at - now > self.max_wait:
            raise self._refusal(op, rates, at, now)
        for _, period in rates:
            taken = self._taken.setdefault((op, period), {})
            window = int(at // period)
            for old in [w for w in taken if w < int(now // period)]:
                del taken[old]
            taken[window] = taken.get(window, 0) + 1
        if at > now:
            await self.sleep(at - now + MARGIN)

    async def next_window(self, op: str) -> None:
        """Wait for the start of ``op``'s next shortest window, then take a place as usual."""
        rates = self.rates(op)
        if rates:
            period = min(period for _, period in rates)
            now = self.clock().timestamp()
            await self.sleep((now // period + 1) * period - now + MARGIN)
        await self.acquire(op)

    def _earliest(self, op: str, rates: Sequence[tuple[float, float]], now: float) -> float:
        at = now
        while True:
            full = [
                period
                for count, period in rates
                if self._taken.get((op, period), {}).get(int(at // period), 0) >= count
            ]
            if not full:
                return at
            at = max((at // period + 1) * period for period in full)

    def _refusal(
        self, op: str, rates: Sequence[tuple[float, float]], at: float, now: float
    ) -> RateLimited:
        count, period = max(rates, key=lambda rate: rate[1])
        unit = {1: "second", 60: "minute", 3600: "hour"}.get(int(period), f"{period:g} s")
        when = datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")
        return RateLimited(
            f"{count:g} {op} calls a {unit} are used up; try again at {when} UTC",
            retry_after=at - now,
            not_sent=True,
        )
