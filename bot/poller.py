"""One poll of one account: what changed since last time, recorded once, returned as transitions.

``poll_once`` reads the account's jobs, finds each job's new executions the cheapest way the
provider allows, and turns them into transitions — an incident opened, failing again, resolved;
the account down or back; the first-start summary — recorded in the store with compare-and-set
so that a restart or a second poller never reports the same thing twice.

Cheapest source per provider: a list that carries each job's last result (cron-job.org,
Cronhub monitors, Miget) costs one request, plus history only for a job whose last run changed
*and* failed (to count the failures and say what failed). A list without results (Djinn CI)
needs the builds of each cron whose last run moved, read newest first and stopped at the cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.db_models import Cursor, Incident
from bot.store import Store
from providers.base import Capability, Execution, Job, Provider, RunResult
from providers.errors import BudgetExhausted, ProviderError
from providers.http import request_purpose

log = logging.getLogger(__name__)

ROLLUP_MIN = 3  # this many new incidents, and most of an account's jobs, make one roll-up
FINISHED = (RunResult.OK, RunResult.WARNING, RunResult.FAILED)
FIRST_LOOK = 5  # runs read per job on an account's first poll, when its list has no results


class Kind(StrEnum):
    OPENED = "opened"
    FAILED_AGAIN = "failed_again"
    RESOLVED = "resolved"
    ACCOUNT_DOWN = "account_down"
    ACCOUNT_BACK = "account_back"
    FIRST_START = "first_start"


@dataclass(frozen=True)
class Transition:
    kind: Kind
    account: str
    job: Job | None = None
    incident: Incident | None = None
    failing: tuple[Job, ...] = ()  # FIRST_START: jobs already failing
    error: str | None = None  # ACCOUNT_DOWN: why
    down_since: datetime | None = None  # ACCOUNT_BACK
    rollup: bool = False  # OPENED as part of a roll-up of most of the account's jobs


@dataclass
class _Outcome:
    """What one job's new executions mean, before anything is written."""

    job: Job
    cursor: Cursor | None
    seen: list[Execution] = field(default_factory=list)  # finished, oldest first
    last_id: str | None = None
    last_run: datetime | None = None
    last_result: RunResult = RunResult.NONE


async def poll_once(
    provider: Provider, store: Store, now: datetime, *, failures_before_alert: int = 1
) -> list[Transition]:
    """Poll one account once; record and return what changed."""
    token = request_purpose.set("poll")
    try:
        return await _poll(provider, store, now, max(1, failures_before_alert))
    finally:
        request_purpose.reset(token)


async def _poll(
    provider: Provider, store: Store, now: datetime, threshold: int
) -> list[Transition]:
    account, sent_before = provider.account, provider.http.requests_sent
    try:
        jobs = await provider.list_jobs()
    except BudgetExhausted:
        log.info("%s: request budget spent; skipping this poll", account)
        await store.record_poll(account, now, ok=False, requests=0)
        return []
    except ProviderError as error:
        await store.record_poll(
            account, now, ok=False, requests=provider.http.requests_sent - sent_before
        )
        if await store.set_reachable(account, False, now, error.user_message):
            return [Transition(Kind.ACCOUNT_DOWN, account, error=error.user_message)]
        return []
    before = await store.account_state(account)
    transitions: list[Transition] = []
    if await store.set_reachable(account, True, now):
        down_since = before.outage_since if before else None
        transitions.append(Transition(Kind.ACCOUNT_BACK, account, down_since=down_since))
    if await store.mark_first_poll(account, now):
        transitions += await _first_poll(provider, store, jobs, now)
    else:
        transitions += await _follow(provider, store, jobs, now, threshold)
    await store.drop_cursors(account, keep={job.id for job in jobs})
    await store.record_poll(
        account, now, ok=True, requests=provider.http.requests_sent - sent_before
    )
    return transitions


async def _first_poll(
    provider: Provider, store: Store, jobs: Sequence[Job], now: datetime
) -> list[Transition]:
    """Remember where every job stands; report the already-failing ones in one summary."""
    failing: list[Job] = []
    for job in jobs:
        outcome = await _observe(provider, job, None, first=True)
        streak = _trailing_failures(outcome.seen)
        if streak:
            failing.append(job.model_copy(update={"last_result": RunResult.FAILED}))
        await store.save_cursor(
            job.account, job.id, last_id=outcome.last_id, last_run=outcome.last_run,
            last_result=outcome.last_result.value, streak=streak, now=now,
        )  # fmt: skip
    if not failing:
        return []
    return [Transition(Kind.FIRST_START, provider.account, failing=tuple(failing))]


async def _follow(
    provider: Provider, store: Store, jobs: Sequence[Job], now: datetime, threshold: int
) -> list[Transition]:
    cursors = await store.cursors(provider.account)
    outcomes: list[_Outcome] = []
    for job in jobs:
        try:
            outcomes.append(await _observe(provider, job, cursors.get(job.id)))
        except BudgetExhausted:
            break  # what was read is applied; the rest waits for the next poll
        except ProviderError as error:  # one job's history failing never marks it failed
            log.warning("%s: could not read runs of %s: %s", provider.account, job.ref, error)
    opening = [o for o in outcomes if _would_open(o, threshold)]
    rollup = len(opening) >= ROLLUP_MIN and len(opening) * 2 > len(jobs)
    transitions: list[Transition] = []
    for outcome in outcomes:
        transitions += await _apply(store, outcome, now, threshold, rollup)
    return transitions


async def _observe(
    provider: Provider, job: Job, cursor: Cursor | None, *, first: bool = False
) -> _Outcome:
    """The job's executions since the cursor, oldest first, read the cheapest way."""
    outcome = _Outcome(job, cursor)
    if job.last_result is RunResult.UNKNOWN:
        if not job.can(Capability.HISTORY):
            return outcome  # e.g. a Cronhub scheduler: the API reports no results
        if cursor is not None and not _moved(job, cursor):
            _carry(outcome, cursor)
            return outcome
        # first poll: a few runs, so the cursor lands on the newest *finished* one even when
        # the newest is still running (else the next poll would replay the whole history)
        runs = await provider.executions_since(
            job.id, None if first else _last_id(cursor), FIRST_LOOK if first else 25
        )
        _take(outcome, list(reversed(runs)), job.last_run)
        return outcome
    if cursor is not None and (job.last_run, job.last_result.value) == (
        cursor.last_run,
        cursor.last_result,
    ):
        _carry(outcome, cursor)
        return outcome
    if not first and job.last_result is RunResult.FAILED and job.can(Capability.HISTORY):
        runs = await provider.executions_since(job.id, _last_id(cursor), 25)
        after = cursor.last_run if cursor else None
        runs = [r for r in reversed(runs) if after is None or r.time > after]
        _take(outcome, runs, job.last_run)
        outcome.last_result = job.last_result
        return outcome
    _take(outcome, [_synthetic(job)], job.last_run)
    return outcome


def _trailing_failures(runs: Sequence[Execution]) -> int:
    """How many of the newest finished runs failed in a row."""
    count = 0
    for run in reversed(runs):
        if run.result is not RunResult.FAILED:
            break
        count += 1
    return count


def _moved(job: Job, cursor: Cursor) -> bool:
    """Whether a job whose list carries no result may have new runs since the cursor."""
    if cursor.last_result == RunResult.RUNNING.value or job.last_run is None:
        return True  # a build still running, or a server that does not report prev_run
    return job.last_run != cursor.last_run


def _take(outcome: _Outcome, runs: Sequence[Execution], last_run: datetime | None) -> None:
    """Keep finished runs, oldest first, up to the first unfinished one."""
    for run in runs:
        if run.result not in FINISHED:
            outcome.last_result = run.result
            break
        outcome.seen.append(run)
        outcome.last_id, outcome.last_result = run.id, run.result
    if outcome.cursor is not None and outcome.last_id is None:
        outcome.last_id = outcome.cursor.last_id
    outcome.last_run = last_run


def _carry(outcome: _Outcome, cursor: Cursor) -> None:
    outcome.last_id, outcome.last_run = cursor.last_id, cursor.last_run
    outcome.last_result = RunResult(cursor.last_result)


def _synthetic(job: Job) -> Execution:
    """One execution from what the list shows, for providers without history."""
    when = job.last_run.isoformat() if job.last_run else "never"
    return Execution(
        id=f"{when}|{job.last_result.value}", time=job.last_run or datetime.min,
        result=job.last_result, status_text=job.last_status or job.last_result.value,
        duration_ms=job.last_duration_ms, url=job.link,
    )  # fmt: skip


def _last_id(cursor: Cursor | None) -> str | None:
    return cursor.last_id if cursor else None


def _unchanged(outcome: _Outcome, cursor: Cursor) -> bool:
    return (outcome.last_id, outcome.last_run, outcome.last_result.value) == (
        cursor.last_id, cursor.last_run, cursor.last_result,
    )  # fmt: skip


def _would_open(outcome: _Outcome, threshold: int) -> bool:
    streak = outcome.cursor.streak if outcome.cursor else 0
    for run in outcome.seen:
        streak = streak + 1 if run.result is RunResult.FAILED else 0
    return (
        bool(outcome.seen) and streak >= threshold and outcome.seen[-1].result is RunResult.FAILED
    )


async def _apply(
    store: Store, outcome: _Outcome, now: datetime, threshold: int, rollup: bool
) -> list[Transition]:
    """Walk the new runs oldest first, opening, updating and resolving the job's incident."""
    job, transitions = outcome.job, []
    cursor = outcome.cursor
    if not outcome.seen and cursor is not None and _unchanged(outcome, cursor):
        return []  # most jobs, most polls: nothing to read or write
    streak = cursor.streak if cursor else 0
    incident = await store.current_incident(job.account, job.id) if outcome.seen else None
    pending = 0
    for run in outcome.seen:
        if run.result is RunResult.FAILED:
            streak += 1
            pending += 1
            if incident is None and streak >= threshold:
                incident = await _open(store, job, run, streak, now, rollup)
                if incident is not None:
                    transitions.append(
                        Transition(Kind.OPENED, job.account, job, incident, rollup=rollup)
                    )
                pending = 0
            continue
        if incident is not None:
            resolved = await store.resolve_incident(incident.id, now)
            if resolved is not None:
                await store.end_recovery_mute(job.ref)
                transitions.append(Transition(Kind.RESOLVED, job.account, job, resolved))
            incident = None
        streak, pending = 0, 0
    if incident is not None and pending:
        updated = await store.add_failures(incident.id, pending, now, _detail(outcome.seen[-1]))
        if updated is not None:
            transitions.append(Transition(Kind.FAILED_AGAIN, job.account, job, updated))
    await store.save_cursor(
        job.account, job.id, last_id=outcome.last_id, last_run=outcome.last_run,
        last_result=outcome.last_result.value, streak=streak, now=now,
    )  # fmt: skip
    return transitions


async def _open(
    store: Store, job: Job, run: Execution, streak: int, now: datetime, rollup: bool
) -> Incident | None:
    muted = await store.active_mute(job.ref, now) is not None
    detail = {**_detail(run), "rollup": rollup}
    return await store.open_incident(
        job.account, job.id, ref=job.ref, job_name=job.name, now=now, failures=streak,
        detail=detail, muted=muted,
    )  # fmt: skip


def _detail(run: Execution) -> dict[str, Any]:
    return {
        "http_status": run.http_status,
        "status_text": run.status_text,
        "duration_ms": run.duration_ms,
        "url": run.url,
        "at": run.time.isoformat(),
    }
