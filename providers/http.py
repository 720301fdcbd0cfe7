"""One way to talk HTTP to a provider: client, timeouts, retries, rate limits, budget, errors.

Each account gets one :class:`ProviderHttp` wrapping one ``httpx.AsyncClient``. A request goes
through, in order: the per-operation rate limits (``aiolimiter``), the account's daily request
budget (persistent, via a :class:`BudgetLedger`), the wire, and the error mapping (a default by
status code that each provider can refine with one hook). Transient failures are retried with
``tenacity``: 5xx and timeouts only for idempotent calls (a create is never sent twice); a 429
only after the ``Retry-After`` the provider names; one without it (cron-job.org's spent daily
quota) is reported at once, so retries never spend the budget for nothing.

Credentials passed in ``headers`` are registered with :mod:`providers.redact` and never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

import httpx
import orjson
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from providers.errors import (
    AuthRejected,
    BadResponse,
    BudgetExhausted,
    InvalidInput,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from providers.redact import secrets

log = logging.getLogger(__name__)

Purpose = Literal["command", "poll"]
#: Who a request is for. The poller sets "poll"; poll requests leave the budget's reserve
#: untouched so people's commands still work late in the day.
request_purpose: ContextVar[Purpose] = ContextVar("request_purpose", default="command")

Clock = Callable[[], datetime]
ErrorHook = Callable[[httpx.Response], ProviderError | None]
#: Called after every response or failure: (account, status code or error name, seconds).
Observer = Callable[[str, str, float], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


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


# -- retries --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    initial_wait: float = 0.5
    max_wait: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is not waited for; the caller hears it

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        backoff = wait_exponential_jitter(
            multiplier=self.initial_wait, max=self.max_wait, jitter=self.initial_wait
        )
        return float(backoff(state))


NO_RETRY = RetryPolicy(attempts=1)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def default_error(response: httpx.Response) -> ProviderError:
    """Map an error status to our tree; providers refine this with their hook."""
    status = response.status_code
    detail = f"HTTP {status}"
    if status in (401, 403):
        return AuthRejected(detail)
    if status == 404:
        return NotFound(detail)
    if status in (400, 409, 422):
        return InvalidInput(detail)
    if status == 429:
        return RateLimited(detail, retry_after=_retry_after(response))
    if status >= 500:
        return ProviderUnavailable(detail)
    return ProviderError(detail)


# -- the client -----------------------------------------------------------------------------
@dataclass
class ProviderHttp:
    """HTTP for one provider account. Create with :func:`make_http`."""

    account: str
    provider: str
    client: httpx.AsyncClient
    limits: RateLimits = field(default_factory=RateLimits)
    budget: DailyBudget | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    error_hook: ErrorHook | None = None
    observer: Observer | None = None
    requests_sent: int = 0

    async def request(
        self,
        method: str,
        path: str,
        *,
        op: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one logical request (retried if safe); raise a ProviderError on failure."""
        safe = method in ("GET", "HEAD", "PUT", "DELETE") if idempotent is None else idempotent
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self.retry.wait,
            retry=retry_if_exception(lambda e: self._should_retry(e, safe)),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send(method, path, op, params, json, data)
        except ProviderError as error:
            raise error.bind(account=self.account, provider=self.provider) from None
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def get_json(self, path: str, *, op: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.json_of(await self.request("GET", path, op=op, params=params))

    def json_of(self, response: httpx.Response) -> Any:
        try:
            return orjson.loads(response.content)  # UTF-8, as every provider sends it
        except ValueError:  # orjson.JSONDecodeError is one
            raise BadResponse(
                f"HTTP {response.status_code} was not JSON",
                account=self.account,
                provider=self.provider,
            ) from None

    @contextmanager
    def mapping(self, what: str) -> Iterator[None]:
        """Turn a shape surprise while reading a response into BadResponse."""
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, ProviderError):
                raise
            raise BadResponse(
                f"unexpected {what}: {type(error).__name__}",
                account=self.account,
                provider=self.provider,
            ) from None

    async def budget_state(self) -> tuple[int | None, int | None]:
        if self.budget is None:
            return None, None
        return await self.budget.used(), self.budget.limit

    async def aclose(self) -> None:
        await self.client.aclose()

    def _should_retry(self, error: BaseException, idempotent: bool) -> bool:
        if isinstance(
            error, RateLimited
        ):  # no Retry-After (cron-job.org's quota): don't spend more
            return error.retry_after is not None and error.retry_after <= self.retry.max_retry_after
        if isinstance(error, ProviderUnavailable):
            return idempotent or error.not_sent
        return False

    async def _send(
        self,
        method: str,
        path: str,
        op: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
    ) -> httpx.Response:
        await self.limits.acquire(op)
        if self.budget is not None:
            await self.budget.spend()
        started = time.perf_counter()
        try:
            self.requests_sent += 1
            response = await self.client.request(
                method, path.lstrip("/"), params=params, json=json, data=data
            )
        except httpx.TimeoutException:
            self._observe("timeout", started)
            raise ProviderUnavailable(f"no answer within {self._timeout()} s") from None
        except httpx.TransportError as error:
            self._observe("connection", started)
            not_sent = isinstance(error, httpx.ConnectError)
            raise ProviderUnavailable("could not connect", not_sent=not_sent) from None
        self._observe(str(response.status_code), started)
        log.debug("%s %s %s -> %s", self.account, method, path, response.status_code)
        if response.status_code >= 400:
            raise self._error_for(response)
        return response

    def _error_for(self, response: httpx.Response) -> ProviderError:
        if self.error_hook is not None:
            error = self.error_hook(response)
            if error is not None:
                return error
        return default_error(response)

    def _observe(self, outcome: str, started: float) -> None:
        if self.observer is not None:
            self.observer(self.account, outcome, time.perf_counter() - started)

    def _timeout(self) -> float:
        timeout = self.client.timeout.read
        return timeout if timeout is not None else 0.0


USER_AGENT = "cronops/0.1 (+https://github.com/cronops/cronops)"


def make_http(
    *,
    account: str,
    provider: str,
    base_url: str,
    headers: Mapping[str, str],
    credentials: Sequence[str | None] = (),
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 10.0,
    rate_limits: RateSpec | None = None,
    budget: DailyBudget | None = None,
    retry: RetryPolicy | None = None,
    error_hook: ErrorHook | None = None,
    observer: Observer | None = None,
) -> ProviderHttp:
    """Build the one AsyncClient an account uses. ``credentials`` are scrubbed from logs."""
    for value in credentials:
        secrets.add(value)
    client = httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        headers={"User-Agent": USER_AGENT, **headers},
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        transport=transport,
        follow_redirects=False,
    )
    return ProviderHttp(
        account=account,
        provider=provider,
        client=client,
        limits=RateLimits(rate_limits),
        budget=budget,
        retry=retry or RetryPolicy(),
        error_hook=error_hook,
        observer=observer,
    )
