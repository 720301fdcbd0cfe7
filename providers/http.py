"""One way to talk HTTP to a provider: client, timeouts, retries, rate limits, budget, errors.

Each account gets one :class:`ProviderHttp` wrapping one ``httpx.AsyncClient``. A request goes
through, in order: the per-operation rate limits (fixed windows of clock seconds and minutes),
the account's daily request budget (persistent, via a ledger; both defined in
:mod:`providers.budget`), the wire, and the error mapping (a default by status code that each
provider can refine with one hook). Transient failures are retried with ``tenacity``: 5xx and
timeouts only for idempotent calls (a create is never sent twice); a 429 only after the
``Retry-After`` the provider names.

A 429 without ``Retry-After`` on a rate-limited operation is tried once more at the start of the
operation's next window: our clock and the server's never agree to the millisecond, and
cron-job.org's per-method 429 is byte-identical to its spent-quota 429 (``RESTDispatcher.php``),
so only a second refusal means the quota. That is reported at once, so retries never spend the
budget for nothing.

Credentials passed in ``headers`` are registered with :mod:`providers.redact` and never logged.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from providers.budget import DailyBudget, RateLimits, RateSpec, Sleep
from providers.clock import Clock, utcnow
from providers.errors import (
    AuthRejected,
    BadResponse,
    InvalidInput,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from providers.redact import secrets

log = logging.getLogger(__name__)

# httpcore 1.0.9 imports sniffio in every lock and semaphore it makes (several per request), and
# anyio 4.11+ no longer installs sniffio: each failed import searches sys.path again (Python
# keeps no record of a failed import), about 1 ms a request, a quarter of a 100,000-job poll
# (encode/httpcore#1103). None in sys.modules is that record: the import then fails at once.
if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

#: The most of one response cronops reads. The largest real answers are job lists: 10,000
#: cron-job.org jobs are about 4 MiB of JSON. A provider (or a base_url pointing somewhere
#: wrong) that sends more is cut off here instead of filling the bot's memory.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024

ErrorHook = Callable[[httpx.Response], ProviderError | None]
#: Called after every response or failure: (account, status code or error name, seconds).
Observer = Callable[[str, str, float], None]


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

    def json_of(self, response: httpx.Response, content: bytes | None = None) -> Any:
        """The response's JSON; ``content`` is its body when the provider had to trim it."""
        try:
            return orjson.loads(response.content if content is None else content)  # UTF-8
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
        if isinstance(error, RateLimited):  # no Retry-After (cron-job.org's quota): spend no more
            after = error.retry_after
            return after is not None and after <= self.retry.max_retry_after and not error.not_sent
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
        response = await self._wire(method, path, params, json, data)
        if self._window_refusal(op, response):
            # Refused before it counted at the server, so the budget is not spent again.
            await self.limits.next_window(op)
            response = await self._wire(method, path, params, json, data)
        if response.status_code >= 400:
            raise self._error_for(response)
        return response

    def _window_refusal(self, op: str, response: httpx.Response) -> bool:
        """A 429 that may be our window disagreeing with the server's: try once more."""
        return (
            response.status_code == 429
            and "Retry-After" not in response.headers
            and bool(self.limits.rates(op))
        )

    async def _wire(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
    ) -> httpx.Response:
        started = time.perf_counter()
        self.requests_sent += 1
        request = self.client.build_request(
            method, path.lstrip("/"), params=params, json=json, data=data
        )
        try:
            async with asyncio.timeout(self._timeout() or None):  # the whole exchange
                response = await self._exchange(request)
        except (httpx.TimeoutException, TimeoutError):
            self._observe("timeout", started)
            raise ProviderUnavailable(f"no answer within {self._timeout()} s") from None
        except httpx.TransportError as error:
            self._observe("connection", started)
            not_sent = isinstance(error, httpx.ConnectError)
            raise ProviderUnavailable("could not connect", not_sent=not_sent) from None
        except BadResponse:
            self._observe("too_large", started)
            raise
        self._observe(str(response.status_code), started)
        log.debug("%s %s %s -> %s", self.account, method, path, response.status_code)
        return response

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its body, never more than :data:`MAX_RESPONSE_BYTES`."""
        response = await self.client.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
                raise _too_large()
            body = bytearray()
            async for chunk in response.aiter_bytes():  # decoded: a gzip bomb is cut off too
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise _too_large()
        finally:
            await response.aclose()
        response._content = bytes(body)  # what Response.aread() does, within the cap
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


def _too_large() -> BadResponse:
    return BadResponse(f"the answer is larger than {MAX_RESPONSE_BYTES // 1024 // 1024} MiB")


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
    clock: Clock = utcnow,
    sleep: Sleep = asyncio.sleep,
) -> ProviderHttp:
    """Build the one AsyncClient an account uses. ``credentials`` are scrubbed from logs.

    ``clock`` and ``sleep`` are what the rate limits read and wait on (tests pass their own).
    """
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
        limits=RateLimits(rate_limits, clock=clock, sleep=sleep),
        budget=budget,
        retry=retry or RetryPolicy(),
        error_hook=error_hook,
        observer=observer,
    )
