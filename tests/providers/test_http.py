"""The shared HTTP layer: retries, Retry-After, rate limits, the daily budget, error mapping."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from providers.budget import DailyBudget, MemoryLedger, Rule, request_purpose, request_user
from providers.errors import (
    AuthRejected,
    BadResponse,
    BudgetExhausted,
    FairShareSpent,
    InvalidInput,
    NotFound,
    ProviderUnavailable,
    RateLimited,
)
from providers.http import RetryPolicy, make_http

FAST = RetryPolicy(attempts=3, initial_wait=0, max_wait=0)


class Scripted:
    """A transport that answers from a script of (status, headers, body) and counts calls."""

    def __init__(self, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.answers = list(answers)
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        status, headers, body = self.answers[min(len(self.calls), len(self.answers)) - 1]
        return httpx.Response(status, headers=headers, content=body)


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    budget: DailyBudget | None = None,
    retry: RetryPolicy = FAST,
    rate_limits: dict[str, list[tuple[float, float]]] | None = None,
    clock: FakeClock | None = None,
) -> object:
    return make_http(
        account="prod",
        provider="Example",
        base_url="https://api.example.test/v1",
        headers={"Authorization": "Bearer canary-key-123"},
        credentials=["canary-key-123"],
        transport=httpx.MockTransport(handler),
        budget=budget,
        retry=retry,
        rate_limits=rate_limits,
        **({"clock": clock, "sleep": clock.sleep} if clock else {}),
    )


async def test_a_get_is_retried_after_a_500_and_succeeds() -> None:
    script = Scripted((500, {}, b""), (200, {}, b'{"ok": true}'))
    http = client_for(script)
    response = await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    assert response.json() == {"ok": True}
    assert len(script.calls) == 2
    assert str(script.calls[0].url) == "https://api.example.test/v1/jobs"


async def test_a_create_is_never_sent_twice_after_a_500() -> None:
    script = Scripted((500, {}, b""), (200, {}, b"{}"))
    http = client_for(script)
    with pytest.raises(ProviderUnavailable) as raised:
        await http.request("POST", "/jobs", op="create", json={"a": 1})  # type: ignore[attr-defined]
    assert len(script.calls) == 1
    assert raised.value.account == "prod"
    assert "prod" in raised.value.user_message


async def test_a_429_is_retried_after_the_retry_after_it_names() -> None:
    script = Scripted((429, {"Retry-After": "0.2"}, b""), (200, {}, b"{}"))
    http = client_for(script)
    started = time.perf_counter()
    await http.request("POST", "/jobs", op="create")  # type: ignore[attr-defined]
    assert len(script.calls) == 2
    assert time.perf_counter() - started >= 0.19


async def test_a_429_without_retry_after_is_reported_at_once() -> None:
    script = Scripted((429, {}, b""), (200, {}, b"{}"))
    http = client_for(script)
    with pytest.raises(RateLimited):
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    assert len(script.calls) == 1


async def test_a_retry_after_too_long_to_wait_is_reported_not_waited() -> None:
    script = Scripted((429, {"Retry-After": "3600"}, b""))
    http = client_for(script)
    with pytest.raises(RateLimited) as raised:
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    assert raised.value.retry_after == pytest.approx(3600)
    assert len(script.calls) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthRejected),
        (403, AuthRejected),
        (404, NotFound),
        (400, InvalidInput),
        (409, InvalidInput),
        (422, InvalidInput),
        (429, RateLimited),
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
    ],
)
async def test_error_statuses_map_to_the_error_tree(status: int, error: type[Exception]) -> None:
    http = client_for(Scripted((status, {}, b"")), retry=RetryPolicy(attempts=1))
    with pytest.raises(error):
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]


async def test_a_timeout_is_unavailable_with_a_plain_message() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    http = client_for(slow)
    with pytest.raises(ProviderUnavailable, match=r"no answer within 10\.0 s"):
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]


async def test_an_unparseable_body_is_a_bad_response() -> None:
    http = client_for(Scripted((200, {}, b"<html>oops")))
    response = await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    with pytest.raises(BadResponse, match="not JSON"):
        http.json_of(response)  # type: ignore[attr-defined]


async def test_the_budget_refuses_once_spent_and_sends_nothing() -> None:
    script = Scripted((200, {}, b"{}"))
    ledger = MemoryLedger()
    budget = DailyBudget(account="prod", limit=3, ledger=ledger, reserve=0, poll_share=0)
    http = client_for(script, budget=budget)
    for _ in range(3):
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    with pytest.raises(BudgetExhausted, match="3 per day"):
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    assert len(script.calls) == 3


async def test_polling_leaves_the_reserve_for_commands() -> None:
    script = Scripted((200, {}, b"{}"))
    budget = DailyBudget(account="prod", limit=10, ledger=MemoryLedger(), reserve=4, poll_share=0)
    http = client_for(script, budget=budget)
    token = request_purpose.set("poll")
    try:
        for _ in range(6):
            await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
        with pytest.raises(BudgetExhausted, match="polling"):
            await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    finally:
        request_purpose.reset(token)
    await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    assert await budget.used() == 7


async def test_the_budget_counts_per_utc_day() -> None:
    now = [datetime(2026, 11, 23, 23, 59, tzinfo=UTC)]
    budget = DailyBudget(
        account="prod", limit=1, ledger=MemoryLedger(), reserve=0, clock=lambda: now[0],
        poll_share=0,
    )  # fmt: skip
    http = client_for(Scripted((200, {}, b"{}")), budget=budget)
    await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    with pytest.raises(BudgetExhausted):
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    now[0] += timedelta(minutes=2)
    await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    assert await budget.used() == 1


class CountingLedger(MemoryLedger):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    async def spend(self, account: str, day: Any, count: int, rule: Rule) -> bool:
        self.writes += 1
        return await super().spend(account, day, count, rule)


async def test_people_never_spend_the_pollers_share_nor_the_poller_theirs() -> None:
    budget = DailyBudget(account="prod", limit=100, ledger=MemoryLedger())  # cron-job.org's
    assert (budget.held_for_polling, budget.kept_for_commands) == (50, 20)
    refusals = []
    for user in (f"U{n}" for n in range(100)):  # a hundred people clicking History
        token = request_user.set(user)
        try:
            await budget.spend()
        except BudgetExhausted as refused:
            refusals.append(refused.user_message)
        finally:
            request_user.reset(token)
    assert len(refusals) == 50
    assert "50 of them for commands" in refusals[0]
    assert await budget.left_for_polls() == 50
    token = request_purpose.set("poll")
    try:
        for _ in range(50):
            await budget.spend()  # the poller's whole share
        with pytest.raises(BudgetExhausted, match="polling"):
            await budget.spend()
    finally:
        request_purpose.reset(token)
    assert await budget.counts() == (100, 50)


async def test_one_person_is_told_when_they_may_ask_again() -> None:
    now = datetime(2026, 11, 23, 14, 20, tzinfo=UTC)
    budget = DailyBudget(account="prod", limit=100, ledger=MemoryLedger(), clock=lambda: now)
    token = request_user.set("UANA")
    try:
        for _ in range(budget.person_share):
            await budget.spend()
        with pytest.raises(FairShareSpent, match="try again at 15:00 UTC"):
            await budget.spend()
    finally:
        request_user.reset(token)
    await budget.spend()  # someone else, or nobody's (a check): still served


async def test_a_large_budget_is_counted_in_leases_and_never_overspent() -> None:
    ledger = CountingLedger()
    budget = DailyBudget(account="prod", limit=5_000, ledger=ledger, reserve=0, poll_share=0)
    assert budget.lease_size == 50
    for _ in range(120):
        await budget.spend()
    assert ledger.writes == 3  # 50 + 50 + 50 counted, 30 of the last lease left
    assert await budget.used() == 150
    assert budget._day is not None
    ledger.counts_by_day[("prod", budget._day)] = (4_990, 0)  # another process spent the rest
    budget._left = {}
    for _ in range(10):  # no room for a lease of 50: one at a time up to the limit
        await budget.spend()
    with pytest.raises(BudgetExhausted):
        await budget.spend()
    assert await budget.used() == 5_000


async def test_polls_never_use_a_lease_that_reaches_into_the_reserve() -> None:
    ledger = CountingLedger()
    budget = DailyBudget(
        account="prod", limit=1_000, ledger=ledger, reserve=200, lease=10, poll_share=0
    )
    ledger.counts_by_day[("prod", datetime.now(UTC).date())] = (795, 0)
    await budget.spend()  # a command leases 796..805, past the polls' line at 800
    token = request_purpose.set("poll")
    try:
        with pytest.raises(BudgetExhausted, match="polling"):
            await budget.spend()
    finally:
        request_purpose.reset(token)
    await budget.spend()  # commands still use the lease, without another write
    assert ledger.writes == 3  # the lease, then the poll's refused attempts (10, then 1)
    assert await budget.used() == 805


class FakeClock:
    """Wall-clock time that moves only when the rate limits sleep on it."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.at += seconds


async def test_rate_limits_pace_each_operation_by_fixed_clock_windows() -> None:
    clock = FakeClock(1_000.5)
    script = Scripted((200, {}, b"{}"))
    limits = {"*": [(100, 1.0)], "create": [(1, 1.0)]}
    http = client_for(script, rate_limits=limits, clock=clock)
    for _ in range(3):
        await http.request("PUT", "/jobs", op="create")  # type: ignore[attr-defined]
    creates = list(clock.slept)
    for _ in range(3):
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    # to the start of the next clock second each time, not a second after the last call
    assert creates == [pytest.approx(0.51), pytest.approx(1.0)]
    assert clock.slept == creates


async def test_a_wait_longer_than_the_limits_allow_is_refused_with_a_time_unsent() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC).timestamp())
    script = Scripted((200, {}, b"{}"))
    http = client_for(script, rate_limits={"create": [(2, 60.0)]}, clock=clock)
    for _ in range(2):
        await http.request("PUT", "/jobs", op="create")  # type: ignore[attr-defined]
    with pytest.raises(RateLimited) as refused:
        await http.request("PUT", "/jobs", op="create")  # type: ignore[attr-defined]
    assert refused.value.user_message == (
        "Example account `prod`: 2 create calls a minute are used up; try again at 12:01:00 UTC"
    )
    assert refused.value.retry_after == pytest.approx(30)
    assert len(script.calls) == 2
    assert clock.slept == []


@pytest.mark.parametrize(("second", "calls", "error"), [(200, 2, None), (429, 2, RateLimited)])
async def test_a_429_on_a_rate_limited_operation_is_tried_once_more_in_the_next_window(
    second: int, calls: int, error: type[Exception] | None
) -> None:
    clock = FakeClock(1_000.25)
    script = Scripted((429, {}, b""), (second, {}, b"{}"), (200, {}, b"{}"))
    http = client_for(script, rate_limits={"*": [(5, 1.0)]}, clock=clock)
    if error is None:
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    else:
        with pytest.raises(error):
            await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    assert len(script.calls) == calls
    assert clock.slept == [pytest.approx(0.76)]  # to 1001.0, and a hair past it


async def test_the_credential_never_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    http = client_for(Scripted((500, {}, b"canary-key-123")), retry=RetryPolicy(attempts=1))
    with pytest.raises(ProviderUnavailable) as raised:
        await http.request("GET", "/jobs", op="list")  # type: ignore[attr-defined]
    assert "canary-key-123" not in caplog.text
    assert "canary-key-123" not in raised.value.user_message
    assert caplog.records, "the request should have been logged at DEBUG"
