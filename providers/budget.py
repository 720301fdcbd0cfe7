"""An account's daily request budget: counted per UTC day in a ledger, shared fairly.

The count is kept in a :class:`BudgetLedger` (the bot's database in production, so a restart
does not reset it), written a lease at a time (:attr:`DailyBudget.lease`). Poll requests
(:data:`request_purpose` set to ``"poll"``) and people's commands share it as :class:`Rule`
says, and each person (:data:`request_user`) gets a fair share an hour. Also here: the
per-operation :class:`RateLimits` that pace requests in fixed windows of clock seconds or
minutes. :mod:`providers.http` applies both to every request it sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal, Protocol

from providers.clock import Clock, utcnow
from providers.errors import BudgetExhausted, FairShareSpent, RateLimited

Purpose = Literal["command", "poll"]
#: What a request is for. The poller sets "poll": polls and commands share a day's budget as
#: :class:`Rule` says.
request_purpose: ContextVar[Purpose] = ContextVar("request_purpose", default="command")
#: Whose command a request is for (a Slack user id), for each person's fair share; None when
#: nobody's (the poller, `cronops check`).
request_user: ContextVar[str | None] = ContextVar("request_user", default=None)


# -- budget ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """How a day's budget is shared between the poller and people.

    Polls may always use ``poll_share`` requests a day, whatever commands spent; beyond it they
    stop at ``limit - reserve``, so a few requests stay for people's commands late in the day.
    Commands may use up to ``limit - poll_share``: people, however many, never starve the
    poller. Nothing ever goes past ``limit``.
    """

    purpose: Purpose
    limit: int
    reserve: int  # kept for commands, beyond the poller's share
    poll_share: int  # held for polling

    def allows(self, used: int, polls: int, count: int) -> bool:
        """Whether ``count`` more requests fit, after ``used`` today (``polls`` of them polls)."""
        if used + count > self.limit:
            return False
        if self.purpose == "poll":
            return polls + count <= self.poll_share or used + count + self.reserve <= self.limit
        return (used - polls) + count <= self.limit - self.poll_share


class BudgetLedger(Protocol):
    """Where request counts per account and UTC day are kept (the bot's database in production),
    and each person's count per hour. Every check-and-count is atomic, across processes too."""

    async def counts(self, account: str, day: date) -> tuple[int, int]:
        """(requests used, of which polls) on ``day``."""
        ...

    async def spend(self, account: str, day: date, count: int, rule: Rule) -> bool:
        """Count ``count`` requests if ``rule`` allows them; whether it did."""
        ...

    async def spend_share(
        self, account: str, user: str, hour: datetime, count: int, cap: int
    ) -> bool:
        """Count ``count`` of ``user``'s requests in the hour starting ``hour`` if they stay
        within ``cap``; whether it did."""
        ...


class MemoryLedger:
    """A ledger in memory, for tests and the demo."""

    def __init__(self) -> None:
        self.counts_by_day: dict[tuple[str, date], tuple[int, int]] = {}
        self.shares: dict[tuple[str, str, datetime], int] = {}

    async def counts(self, account: str, day: date) -> tuple[int, int]:
        return self.counts_by_day.get((account, day), (0, 0))

    async def spend(self, account: str, day: date, count: int, rule: Rule) -> bool:
        used, polls = self.counts_by_day.get((account, day), (0, 0))
        if not rule.allows(used, polls, count):
            return False
        polled = count if rule.purpose == "poll" else 0
        self.counts_by_day[(account, day)] = (used + count, polls + polled)
        return True

    async def spend_share(
        self, account: str, user: str, hour: datetime, count: int, cap: int
    ) -> bool:
        key = (account, user, hour)
        if self.shares.get(key, 0) + count > cap:
            return False
        self.shares[key] = self.shares.get(key, 0) + count
        return True


@dataclass
class DailyBudget:
    """An account's daily request budget, counted per UTC day (as cron-job.org counts it).

    Shared as :class:`Rule` says between the poller (``poll_share``, half the budget by
    default) and people (``reserve``, a fifth by default). Each person (``request_user``) may
    spend at most ``person_share`` requests an hour (an eighth of what commands may use): one
    person clicking History a hundred times never spends everyone's requests, and is told
    when to ask again.
    """

    account: str
    limit: int
    ledger: BudgetLedger
    reserve: int | None = None  # requests kept for people; default a fifth of the budget
    clock: Clock = utcnow
    poll_share: int | None = None  # requests held for polling; default half the budget
    # Requests counted in the ledger at a time. One database write per request put a write on
    # every provider call; a lease of a hundredth of a large budget (50 of 5,000) needs one
    # per 50. What a lease leaves unused stays counted: a restart forgoes at most that many.
    # Budgets under 200 a day (cron-job.org's default is 100) count every request one by one.
    lease: int | None = None
    _day: date | None = field(default=None, init=False, repr=False)
    _left: dict[str, int] = field(default_factory=dict, init=False, repr=False)  # leased

    @property
    def kept_for_commands(self) -> int:
        return self.reserve if self.reserve is not None else max(1, self.limit // 5)

    @property
    def held_for_polling(self) -> int:
        return self.poll_share if self.poll_share is not None else self.limit // 2

    @property
    def person_share(self) -> int:
        """Requests one person may spend in an hour."""
        return max(2, (self.limit - self.held_for_polling) // 8)

    @property
    def lease_size(self) -> int:
        return self.lease if self.lease is not None else max(1, self.limit // 100)

    def rule(self, purpose: Purpose) -> Rule:
        return Rule(purpose, self.limit, self.kept_for_commands, self.held_for_polling)

    async def spend(self) -> None:
        purpose, now = request_purpose.get(), self.clock().astimezone(UTC)
        day = now.date()
        if self._day != day:
            self._day, self._left = day, {}
        user = request_user.get() if purpose == "command" else None
        if user is not None:
            await self._spend_share(user, now)
        if self._left.get(purpose, 0) > 0:
            self._left[purpose] -= 1
            return
        rule = self.rule(purpose)
        for size in dict.fromkeys((self.lease_size, 1)):  # near the limit, one at a time
            if await self.ledger.spend(self.account, day, size, rule):
                self._left[purpose] = size - 1
                return
        if purpose == "poll":
            raise BudgetExhausted(f"{self.limit} per day; polling stops until 00:00 UTC")
        raise BudgetExhausted(
            f"{self.limit} per day, {self.limit - self.held_for_polling} of them for commands "
            "(the rest is the poller's); requests stop until 00:00 UTC"
        )

    async def _spend_share(self, user: str, now: datetime) -> None:
        hour = now.replace(minute=0, second=0, microsecond=0)
        if not await self.ledger.spend_share(self.account, user, hour, 1, self.person_share):
            raise FairShareSpent(self.person_share, hour + timedelta(hours=1))

    async def used(self) -> int:
        return (await self.counts())[0]

    async def counts(self) -> tuple[int, int]:
        """(requests used today, of which polls)."""
        return await self.ledger.counts(self.account, self.clock().astimezone(UTC).date())

    async def left_for_polls(self) -> int:
        """Requests the poller may still send today."""
        used, polls = await self.counts()
        rule = self.rule("poll")
        share_left = rule.poll_share - polls
        beyond = rule.limit - rule.reserve - used
        return max(0, min(rule.limit - used, max(share_left, beyond)))


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
