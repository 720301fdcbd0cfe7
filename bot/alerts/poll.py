"""One poll of one account: what changed since last time, recorded once, returned as transitions.

``poll_once`` reads the account's jobs, finds each job's new executions the cheapest way the
provider allows, and turns them into transitions — an incident opened, failing again, resolved;
the account down or back; the first-start summary — recorded in the store with compare-and-set
so that a restart or a second poller never reports the same thing twice.

Cheapest source per provider: a list that carries each job's last result (cron-job.org,
Cronhub monitors, Miget) costs one request, plus history only for a job whose last run changed
*and* failed (to count the failures and say what failed). A list without results (Djinn CI)
needs the builds of each cron whose last run moved, read newest first and stopped at the cursor
(:mod:`bot.alerts.poll` reads each job's runs; this module decides what they mean).

A poll is two steps, so that alerts never wait on history: :func:`scan`, here, decides from the
list alone (a newly failed row opens its incident at once) and
:func:`bot.alerts.poll.read_details` then reads the history of those jobs — rate-limited by the
provider, 5 requests/s on cron-job.org — to count failures that happened between two polls and
to say what failed (HTTP status, message). The monitor delivers the scan's alerts before it
reads the details; :func:`poll_once` does both. The transitions, the scan's hand-off and the
helpers both steps use live in :mod:`bot.alerts.poll`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.store import Store
from bot.store.tables import Cursor, Incident
from providers.base import Capability, Execution, Job, Listed, Provider, RunResult
from providers.budget import request_purpose
from providers.errors import BudgetExhausted, ProviderError

log = logging.getLogger(__name__)

FINISHED = (RunResult.OK, RunResult.WARNING, RunResult.FAILED)
FIRST_LOOK = 5  # runs read per job on an account's first poll, when its list has no results
ROLLUP_MIN = 3  # this many new incidents, and most of an account's jobs, make one roll-up


class Kind(StrEnum):
    OPENED = "opened"
    FAILED_AGAIN = "failed_again"
    RESOLVED = "resolved"
    ACCOUNT_DOWN = "account_down"
    ACCOUNT_BACK = "account_back"
    FIRST_START = "first_start"
    DETAILED = "detailed"  # the history added failures or said what failed: update the alert


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


@dataclass(frozen=True)
class Due:
    """A job the list showed newly failed: its history is read after the alerts are out."""

    job: Job
    before: Cursor | None  # the cursor as it was before this poll
    assumed_streak: int  # what the scan counted from the list row alone
    had_incident: bool  # an incident was open before this poll


@dataclass
class Scan:
    """What one poll decided from the list, and the history it still has to read."""

    transitions: list[Transition] = field(default_factory=list)
    due: list[Due] = field(default_factory=list)
    threshold: int = 1


async def poll_once(
    provider: Provider, store: Store, now: datetime, *, failures_before_alert: int = 1
) -> list[Transition]:
    """Poll one account once, details included; record and return what changed."""
    found = await scan(provider, store, now, failures_before_alert=failures_before_alert)
    return found.transitions + await read_details(provider, store, found, now)


async def scan(
    provider: Provider, store: Store, now: datetime, *, failures_before_alert: int = 1
) -> Scan:
    """Read the account's list and record what it shows; no history is read here."""
    token = request_purpose.set("poll")
    try:
        return await _scan(provider, store, now, max(1, failures_before_alert))
    finally:
        request_purpose.reset(token)


async def _scan(provider: Provider, store: Store, now: datetime, threshold: int) -> Scan:
    account, sent_before = provider.account, provider.http.requests_sent
    found = Scan(threshold=threshold)
    try:
        jobs = await provider.list_for_poll()
    except BudgetExhausted:
        log.info("%s: request budget spent; skipping this poll", account)
        await store.accounts.record_poll(account, now, ok=False, requests=0)
        return found
    except ProviderError as error:
        await store.accounts.record_poll(
            account, now, ok=False, requests=provider.http.requests_sent - sent_before
        )
        if await store.accounts.set_reachable(account, False, now, error.user_message):
            found.transitions.append(
                Transition(Kind.ACCOUNT_DOWN, account, error=error.user_message)
            )
        return found
    before = await store.accounts.state(account)
    if await store.accounts.set_reachable(account, True, now):
        down_since = before.outage_since if before else None
        found.transitions.append(Transition(Kind.ACCOUNT_BACK, account, down_since=down_since))
    if before is None or before.first_polled_at is None:
        found.transitions += await _first_poll(provider, store, jobs, now)
    else:
        await _follow(provider, store, jobs, now, found)
    await store.cursors.drop(account, keep={job.id for job in jobs})
    await store.accounts.record_poll(
        account, now, ok=True, requests=provider.http.requests_sent - sent_before
    )
    return found


async def _first_poll(
    provider: Provider, store: Store, jobs: Sequence[Listed], now: datetime
) -> list[Transition]:
    """Remember where every job stands; report the already-failing ones in one summary."""
    failing: list[Job] = []
    cursors: list[Cursor] = []
    for row in jobs:
        outcome = await observe(provider, row, None, first=True)
        assert outcome is not None  # without a cursor there is always something to remember
        streak = trailing_failures(outcome.seen)
        if streak:
            last = outcome.seen[-1]  # the newest failure: Djinn's list rows do not carry it
            failing.append(
                outcome.job.model_copy(
                    update={
                        "last_result": RunResult.FAILED,
                        "last_status": outcome.job.last_status or last.status_text,
                        "last_run": last.time,
                    }
                )
            )
        cursors.append(_cursor_of(outcome, streak, now))
    # Marked first and remembered together: a second poller racing this one either waits for
    # both (and follows from these cursors) or marks it first itself (and this one stops).
    async with store.unit():
        if not await store.accounts.mark_first_poll(provider.account, now):
            return []
        await store.cursors.save_many(cursors)
    if not failing:
        return []
    return [Transition(Kind.FIRST_START, provider.account, failing=tuple(failing))]


async def _follow(
    provider: Provider, store: Store, jobs: Sequence[Listed], now: datetime, found: Scan
) -> None:
    cursors = await store.cursors.of(provider.account)
    outcomes: list[Outcome] = []
    for row in jobs:
        try:
            outcome = await observe(provider, row, cursors.get(row.id))
        except BudgetExhausted:
            break  # what was read is applied; the rest waits for the next poll
        except ProviderError as error:  # one job's history failing never marks it failed
            log.warning("%s: could not read runs of %s:%s: %s", provider.account,
                        provider.account, row.id, error)  # fmt: skip
            continue
        if outcome is not None:
            outcomes.append(outcome)
    threshold = found.threshold
    opening = [o for o in outcomes if _would_open(o, threshold)]
    rollup = len(opening) >= ROLLUP_MIN and len(opening) * 2 > len(jobs)
    known = _Known(
        {i.job_id: i for i in await store.incidents.all_open(provider.account)},
        set((await store.mutes.all_active(now)).keys()),
    )  # two reads for the whole account, not two per job
    moved: list[Cursor] = []
    changes: list[Transition] = []
    due: list[Due] = []
    # One transaction: every incident change and every cursor that moved land together, so a
    # crash replays this poll exactly (and opening an incident is compare-and-set besides).
    async with store.unit():
        for outcome in outcomes:
            changed, cursor = await _apply(store, outcome, now, threshold, rollup, known)
            if cursor is None:
                continue
            moved.append(cursor)
            changes += changed
            if outcome.detail_due:
                due.append(Due(outcome.job, outcome.cursor, cursor.streak, outcome.had_incident))
        await store.cursors.save_many(moved)
    found.transitions += changes  # only once committed
    found.due += due


@dataclass(frozen=True)
class _Known:
    """What the store knew before this poll: open incidents by job id, muted refs."""

    incidents: dict[str, Incident]
    muted: set[str]


def _unchanged(outcome: Outcome, cursor: Cursor) -> bool:
    return (outcome.last_id, outcome.last_run, outcome.last_result.value) == (
        cursor.last_id, cursor.last_run, cursor.last_result,
    )  # fmt: skip


def _would_open(outcome: Outcome, threshold: int) -> bool:
    streak = outcome.cursor.streak if outcome.cursor else 0
    for run in outcome.seen:
        streak = streak + 1 if run.result is RunResult.FAILED else 0
    return (
        bool(outcome.seen) and streak >= threshold and outcome.seen[-1].result is RunResult.FAILED
    )


async def _apply(
    store: Store, outcome: Outcome, now: datetime, threshold: int, rollup: bool, known: _Known
) -> tuple[list[Transition], Cursor | None]:
    """Walk the new runs oldest first, opening, updating and resolving the job's incident.

    Returns what changed and the cursor to save (None: nothing moved).
    """
    job, transitions = outcome.job, []
    cursor = outcome.cursor
    if not outcome.seen and cursor is not None and _unchanged(outcome, cursor):
        return [], None  # most jobs, most polls: nothing to read or write
    streak = cursor.streak if cursor else 0
    incident = known.incidents.get(job.id) if outcome.seen else None
    outcome.had_incident = incident is not None
    pending = 0
    for run in outcome.seen:
        if run.result is RunResult.FAILED:
            streak += 1
            pending += 1
            if incident is None and streak >= threshold:
                muted = job.ref in known.muted
                incident = await open_incident(store, job, run, streak, now, rollup, muted)
                if incident is not None:
                    transitions.append(
                        Transition(Kind.OPENED, job.account, job, incident, rollup=rollup)
                    )
                pending = 0
            continue
        if incident is not None:
            resolved = await store.incidents.resolve(incident.id, now)
            if resolved is not None:
                await store.mutes.end_until_recovery(job.ref)
                transitions.append(Transition(Kind.RESOLVED, job.account, job, resolved))
            incident = None
        streak, pending = 0, 0
    if incident is not None and pending:
        detail = {**run_detail(outcome.seen[-1]), "rollup": bool(incident.detail.get("rollup"))}
        updated = await store.incidents.add_failures(incident.id, pending, now, detail)
        if updated is not None:
            transitions.append(Transition(Kind.FAILED_AGAIN, job.account, job, updated))
    return transitions, _cursor_of(outcome, streak, now)


@dataclass
class Outcome:
    """What one job's new executions mean, before anything is written."""

    job: Job
    cursor: Cursor | None
    seen: list[Execution] = field(default_factory=list)  # finished, oldest first
    last_id: str | None = None
    last_run: datetime | None = None
    last_result: RunResult = RunResult.NONE
    detail_due: bool = False  # newly failed per the list; its history is read afterwards
    had_incident: bool = False  # set by _apply: an incident was open before this poll


async def observe(
    provider: Provider, row: Listed, cursor: Cursor | None, *, first: bool = False
) -> Outcome | None:
    """The job's executions since the cursor, oldest first, read the cheapest way.

    None when nothing can have moved since the cursor: most jobs, most polls. Only then is
    the rest of the row mapped (``row.job()``).
    """
    if row.last_result is RunResult.UNKNOWN:
        if cursor is not None and (not row.history or not _moved(row, cursor)):
            return None
        outcome = Outcome(row.job(), cursor)
        if not row.history:
            return outcome  # e.g. a Cronhub scheduler: the API reports no results
        # first poll: a few runs, so the cursor lands on the newest *finished* one even when
        # the newest is still running (else the next poll would replay the whole history)
        runs = await provider.executions_since(
            row.id, None if first else last_id(cursor), FIRST_LOOK if first else 25
        )
        _take(outcome, list(reversed(runs)), row.last_run)
        return outcome
    if cursor is not None and (row.last_run, row.last_result.value) == (
        cursor.last_run,
        cursor.last_result,
    ):
        return None
    job = row.job()
    outcome = Outcome(job, cursor)
    _take(outcome, [_synthetic(job)], job.last_run)
    # newly failed: the row opens the incident now; history counts and details it afterwards
    outcome.detail_due = (
        not first and job.last_result is RunResult.FAILED and job.can(Capability.HISTORY)
    )
    return outcome


def _moved(row: Listed, cursor: Cursor) -> bool:
    """Whether a job whose list carries no result may have new runs since the cursor."""
    if cursor.last_result == RunResult.RUNNING.value or row.last_run is None:
        return True  # a build still running, or a server that does not report prev_run
    return row.last_run != cursor.last_run


def _take(outcome: Outcome, runs: Sequence[Execution], last_run: datetime | None) -> None:
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


def _synthetic(job: Job) -> Execution:
    """One execution from what the list shows, for providers without history."""
    when = job.last_run.isoformat() if job.last_run else "never"
    return Execution(
        id=f"{when}|{job.last_result.value}", time=job.last_run or datetime.min,
        result=job.last_result, status_text=job.last_status or job.last_result.value,
        duration_ms=job.last_duration_ms, url=job.link,
    )  # fmt: skip


async def read_details(
    provider: Provider, store: Store, found: Scan, now: datetime
) -> list[Transition]:
    """Read the history of the jobs the scan saw newly failed; record what it adds."""
    token = request_purpose.set("poll")
    sent_before = provider.http.requests_sent
    transitions: list[Transition] = []
    try:
        for due in found.due:
            try:
                transitions += await _detail_job(provider, store, due, now, found.threshold)
            except BudgetExhausted:
                break  # the alerts are out already; what failed is told by the list's words
            except ProviderError as error:
                log.warning(
                    "%s: could not read runs of %s: %s", provider.account, due.job.ref, error
                )
    finally:
        request_purpose.reset(token)
        if found.due:
            await store.accounts.add_poll_requests(
                provider.account, provider.http.requests_sent - sent_before
            )
    return transitions


async def _detail_job(
    provider: Provider, store: Store, due: Due, now: datetime, threshold: int
) -> list[Transition]:
    """Read the runs behind a newly failed row; correct what the scan assumed from it.

    The scan counted the row as one failure. The history may show more failures since the
    last poll (more to count), or a recovery before this failure (the old incident ended and a
    new one began), and says what failed; the cursor then moves to the newest run read.
    """
    job, before = due.job, due.before
    runs = await provider.executions_since(job.id, last_id(before), 25)
    after = before.last_run if before else None
    finished: list[Execution] = []
    for run in reversed(runs):
        if after is not None and run.time <= after:
            continue
        if run.result not in FINISHED:
            break
        finished.append(run)
    if not finished or finished[-1].result is not RunResult.FAILED:
        return []  # the history does not show the row's failure (yet): the row's words stand
    trailing = trailing_failures(finished)
    recovered = len(finished) > trailing  # a good run among the new ones, before the failures
    streak = trailing if recovered else (before.streak if before else 0) + trailing
    last, transitions = finished[-1], []
    incident = await store.incidents.current(job.account, job.id)
    if incident is not None and recovered and due.had_incident:
        resolved = await store.incidents.resolve(incident.id, now)  # it recovered in between
        if resolved is not None:
            await store.mutes.end_until_recovery(job.ref)
            transitions.append(Transition(Kind.RESOLVED, job.account, job, resolved))
        incident = None
    if incident is None:
        if streak >= threshold:
            muted = await store.mutes.active(job.ref, now) is not None
            opened = await open_incident(store, job, last, streak, now, False, muted)
            if opened is not None:
                transitions.append(Transition(Kind.OPENED, job.account, job, opened))
    else:
        extra = max(0, streak - due.assumed_streak)
        detail = {**run_detail(last), "rollup": bool(incident.detail.get("rollup"))}
        if extra or detail != incident.detail:
            updated = await store.incidents.add_failures(incident.id, extra, now, detail)
            if updated is not None:
                transitions.append(Transition(Kind.DETAILED, job.account, job, updated))
    await store.cursors.save(
        job.account, job.id, last_id=last.id, last_run=job.last_run,
        last_result=RunResult.FAILED.value, streak=streak, now=now,
    )  # fmt: skip
    return transitions


def trailing_failures(runs: Sequence[Execution]) -> int:
    """How many of the newest finished runs failed in a row."""
    count = 0
    for run in reversed(runs):
        if run.result is not RunResult.FAILED:
            break
        count += 1
    return count


def last_id(cursor: Cursor | None) -> str | None:
    return cursor.last_id if cursor else None


async def open_incident(
    store: Store, job: Job, run: Execution, streak: int, now: datetime, rollup: bool, muted: bool
) -> Incident | None:
    detail = {**run_detail(run), "rollup": rollup}
    return await store.incidents.open(
        job.account, job.id, ref=job.ref, job_name=job.name, now=now, failures=streak,
        detail=detail, muted=muted,
    )  # fmt: skip


def run_detail(run: Execution) -> dict[str, Any]:
    return {
        "http_status": run.http_status,
        "status_text": run.status_text,
        "duration_ms": run.duration_ms,
        "url": run.url,
        "at": run.time.isoformat(),
    }


def _cursor_of(outcome: Outcome, streak: int, now: datetime) -> Cursor:
    job = outcome.job
    return Cursor(
        job.account, job.id, outcome.last_id, outcome.last_run, outcome.last_result.value,
        streak, now,
    )  # fmt: skip
