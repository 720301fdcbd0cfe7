"""One poll of one account: what changed since last time, recorded once, announced once.

Read top to bottom, a poll goes:

1. :func:`scan` reads the account's list and, for each job, :func:`observe` turns its row and
   its cursor into an :class:`Outcome` (the finished runs since the cursor). A list that carries
   each job's last result (cron-job.org, Cronhub monitors, Miget) is enough: the row is one
   synthetic run. A list without results (Djinn CI) needs the builds of each cron whose last
   run moved, read newest first and stopped at the cursor.
2. :func:`_apply` walks each outcome's runs oldest first into :class:`Transition` s — an
   incident opened, failing again, resolved — with compare-and-set, so a second poller never
   reports the same thing twice. The account down (after ``outage_after`` failed polls in a
   row) or back and the first-start summary are transitions too.
3. :func:`read_details` then reads the history of the jobs the list showed newly failed
   (:class:`Due`) — rate-limited by the provider, 5 requests/s on cron-job.org — to count the
   failures between two polls, say what failed (HTTP status, message), and resolve and reopen
   when the job recovered in between.

Every transition is handed to ``announce`` (the notifier's enqueue) inside the transaction
that records it: an incident, the cursor that moved past its run and the outbox rows that
announce it land together or not at all, so a process killed at any instant loses no alert.
The alert cycle (:mod:`bot.alerts.cycle`) delivers the scan's alerts before it reads the
details, so alerts never wait on history; :func:`poll_once` does both steps at once.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
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
    FLAPPING = "flapping"  # the job flaps: its incident stays open, marked (update the alert)


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
    detail_follows: bool = False  # FAILED_AGAIN that the history read next will refine


@dataclass(frozen=True)
class Due:
    """A job the list showed newly failed: its history is read after the alerts are out."""

    job: Job
    before: Cursor | None  # the cursor as it was before this poll
    assumed_streak: int  # what the scan counted from the list row alone
    had_incident: bool  # an incident was open before this poll


#: Queues the Slack messages of transitions; called inside the transaction that records them.
Announce = Callable[[Sequence[Transition]], Awaitable[None]]


@dataclass(frozen=True)
class Rules:
    """When failures make an incident, failed polls an outage and a job flaps (``alerts:`` in
    cronops.yml)."""

    failures_before_alert: int = 1
    outage_after: int = 3
    flap_changes: int = 4  # fail <-> ok changes in the last flap_runs runs: flapping
    flap_runs: int = 10
    flap_recover: int = 5  # ok runs in a row that end a flapping job's incident

    @property
    def threshold(self) -> int:
        return max(1, self.failures_before_alert)

    def flapping(self, recent: str) -> bool:
        """Whether runs ``recent`` (oldest first, F/O) change often enough to flap."""
        return sum(a != b for a, b in itertools.pairwise(recent)) >= self.flap_changes

    def remember(self, recent: str, run: Execution) -> str:
        """``recent`` with ``run`` added (a warning counts as ok), the oldest dropped."""
        return (recent + ("F" if run.result is RunResult.FAILED else "O"))[-self.flap_runs :]

    def recovered(self, recent: str) -> bool:
        """A flapping job's last runs all ok, enough of them to end its incident."""
        return len(recent) - len(recent.rstrip("O")) >= self.flap_recover


@dataclass
class Scan:
    """What one poll decided from the list, and the history it still has to read."""

    transitions: list[Transition] = field(default_factory=list)
    due: list[Due] = field(default_factory=list)
    rules: Rules = field(default_factory=Rules)


async def poll_once(
    provider: Provider, store: Store, now: datetime, *, announce: Announce, rules: Rules = Rules()
) -> list[Transition]:
    """Poll one account once, details included; record, announce and return what changed."""
    found = await scan(provider, store, now, announce=announce, rules=rules)
    return found.transitions + await read_details(provider, store, found, now, announce=announce)


async def scan(
    provider: Provider, store: Store, now: datetime, *, announce: Announce, rules: Rules = Rules()
) -> Scan:
    """Read the account's list and record what it shows; no history is read here."""
    token = request_purpose.set("poll")
    try:
        return await _scan(provider, store, now, announce, rules)
    finally:
        request_purpose.reset(token)


async def _scan(
    provider: Provider, store: Store, now: datetime, announce: Announce, rules: Rules
) -> Scan:
    account, sent_before = provider.account, provider.http.requests_sent
    found = Scan(rules=rules)
    try:
        jobs = await provider.list_for_poll()
    except BudgetExhausted:
        log.info("%s: request budget spent; skipping this poll", account)
        await store.accounts.record_poll(account, now, ok=False, requests=0, skipped=True)
        return found
    except ProviderError as error:
        sent = provider.http.requests_sent - sent_before
        found.transitions += await _failed_poll(store, account, now, error, sent, announce, rules)
        return found
    before = await store.accounts.state(account)
    async with store.unit():
        if await store.accounts.set_reachable(account, True, now):
            down_since = before.outage_since if before else None
            back = Transition(Kind.ACCOUNT_BACK, account, down_since=down_since)
            await announce([back])
            found.transitions.append(back)
    if before is None or before.first_polled_at is None:
        found.transitions += await _first_poll(provider, store, jobs, now, announce, rules)
    else:
        await _follow(provider, store, jobs, now, found, announce)
    await store.cursors.drop(account, keep={job.id for job in jobs})
    await store.accounts.record_poll(
        account, now, ok=True, requests=provider.http.requests_sent - sent_before
    )
    return found


async def _failed_poll(
    store: Store, account: str, now: datetime, error: ProviderError, sent: int,
    announce: Announce, rules: Rules,
) -> list[Transition]:  # fmt: skip
    """Count a failed poll; the ``outage_after``-th in a row makes the account unreachable.

    One timeout is not an outage: nothing is posted until the failures add up, and no job is
    marked failed either way. A failed read is also no proof a job is gone: no cursor moves.
    """
    async with store.unit():
        failed = await store.accounts.record_poll(account, now, ok=False, requests=sent)
        if failed < max(1, rules.outage_after):
            return []
        if not await store.accounts.set_reachable(account, False, now, error.user_message):
            return []
        down = Transition(Kind.ACCOUNT_DOWN, account, error=error.user_message)
        await announce([down])
    return [down]


async def _first_poll(
    provider: Provider, store: Store, jobs: Sequence[Listed], now: datetime, announce: Announce,
    rules: Rules,
) -> list[Transition]:  # fmt: skip
    """Remember where every job stands; report the already-failing ones in one summary."""
    failing: list[Job] = []
    cursors: list[Cursor] = []
    for row in jobs:
        try:
            outcome = await observe(provider, row, None, first=True)
        except ProviderError as error:  # e.g. a Djinn token that may not read builds
            log.warning("%s: could not read runs of %s:%s: %s", provider.account,
                        provider.account, row.id, error.user_message)  # fmt: skip
            cursors.append(Cursor(provider.account, row.id, None, row.last_run,
                                  row.last_result.value, 0, now))  # fmt: skip
            continue
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
        recent = ""
        for run in outcome.seen:
            recent = rules.remember(recent, run)
        cursors.append(_cursor_of(outcome, streak, now, recent))
    summary = [Transition(Kind.FIRST_START, provider.account, failing=tuple(failing))]
    # Marked first, remembered and announced together: a second poller racing this one either
    # waits for all of it (and follows from these cursors) or marks it first itself (and this
    # one stops).
    async with store.unit():
        if not await store.accounts.mark_first_poll(provider.account, now):
            return []
        await store.cursors.save_many(cursors)
        if failing:
            await announce(summary)
    return summary if failing else []


async def _follow(
    provider: Provider, store: Store, jobs: Sequence[Listed], now: datetime, found: Scan,
    announce: Announce,
) -> None:  # fmt: skip
    cursors = await store.cursors.of(provider.account)
    outcomes: list[Outcome] = []
    for row in jobs:
        try:
            outcome = await observe(provider, row, cursors.get(row.id))
        except BudgetExhausted:
            break  # what was read is applied; the rest waits for the next poll
        except ProviderError as error:  # one job's history failing never marks it failed
            log.warning("%s: could not read runs of %s:%s: %s", provider.account,
                        provider.account, row.id, error.user_message)  # fmt: skip
            continue
        if outcome is not None:
            outcomes.append(outcome)
    rules = found.rules
    opening = [o for o in outcomes if _would_open(o, rules.threshold)]
    rollup = len(opening) >= ROLLUP_MIN and len(opening) * 2 > len(jobs)
    known = _Known(
        {i.job_id: i for i in await store.incidents.all_open(provider.account)},
        set((await store.mutes.all_active(now)).keys()),
    )  # two reads for the whole account, not two per job
    moved: list[Cursor] = []
    changes: list[Transition] = []
    due: list[Due] = []
    # One transaction: every incident change, every cursor that moved and every message that
    # announces a change land together, so a crash replays this poll exactly (and opening an
    # incident is compare-and-set besides).
    async with store.unit():
        for outcome in outcomes:
            changed, cursor = await _apply(store, outcome, now, rules, rollup, known)
            if cursor is None:
                continue
            moved.append(cursor)
            if outcome.detail_due:
                due.append(Due(outcome.job, outcome.cursor, cursor.streak, outcome.had_incident))
                # the history is read next and will refine this update: it waits for it
                changed = [replace(t, detail_follows=t.kind is Kind.FAILED_AGAIN) for t in changed]
            changes += changed
        await store.cursors.save_many(moved)
        await announce(changes)
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
    store: Store, outcome: Outcome, now: datetime, rules: Rules, rollup: bool, known: _Known
) -> tuple[list[Transition], Cursor | None]:
    """Walk the new runs oldest first, opening, updating and resolving the job's incident.

    A flapping job's incident (its last runs change between failing and succeeding often) is
    not resolved by one good run: it stays one incident, updated and marked flapping, until
    ``rules.flap_recover`` good runs in a row. Returns what changed and the cursor to save
    (None: nothing moved).
    """
    job, transitions = outcome.job, []
    cursor = outcome.cursor
    if not outcome.seen and cursor is not None and _unchanged(outcome, cursor):
        return [], None  # most jobs, most polls: nothing to read or write
    streak, recent = (cursor.streak, cursor.recent) if cursor else (0, "")
    incident = known.incidents.get(job.id) if outcome.seen else None
    outcome.had_incident = incident is not None
    pending = 0
    for run in outcome.seen:
        recent = rules.remember(recent, run)
        if run.result is RunResult.FAILED:
            streak += 1
            pending += 1
            if incident is None and streak >= rules.threshold:
                muted = job.ref in known.muted
                incident = await open_incident(
                    store, job, run, streak, now, rollup, muted, rules.flapping(recent)
                )
                if incident is not None:
                    transitions.append(
                        Transition(Kind.OPENED, job.account, job, incident, rollup=rollup)
                    )
                pending = 0
            continue
        streak = 0
        if incident is None:
            pending = 0
        elif (incident.flapping or rules.flapping(recent)) and not rules.recovered(recent):
            if not incident.flapping:  # keep it open, one incident, marked flapping
                flapping = await store.incidents.mark_flapping(incident.id, now)
                if flapping is not None:
                    incident = flapping
                    transitions.append(Transition(Kind.FLAPPING, job.account, job, flapping))
        else:
            resolved = await store.incidents.resolve(incident.id, now)
            if resolved is not None:
                await store.mutes.end_until_recovery(job.ref)
                transitions.append(Transition(Kind.RESOLVED, job.account, job, resolved))
            incident, pending = None, 0
    if incident is not None and pending:
        detail = {**run_detail(outcome.seen[-1]), "rollup": bool(incident.detail.get("rollup"))}
        updated = await store.incidents.add_failures(incident.id, pending, now, detail)
        if updated is not None:
            transitions.append(Transition(Kind.FAILED_AGAIN, job.account, job, updated))
    return transitions, _cursor_of(outcome, streak, now, recent)


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
    provider: Provider, store: Store, found: Scan, now: datetime, *, announce: Announce
) -> list[Transition]:
    """Read the history of the jobs the scan saw newly failed; record and announce what it
    adds."""
    token = request_purpose.set("poll")
    sent_before = provider.http.requests_sent
    transitions: list[Transition] = []
    try:
        for due in found.due:
            try:
                transitions += await _detail_job(provider, store, due, now, found.rules, announce)
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
    provider: Provider, store: Store, due: Due, now: datetime, rules: Rules, announce: Announce
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
    recent = before.recent if before else ""
    for run in finished:
        recent = rules.remember(recent, run)
    async with store.unit():  # what it changes, its cursor and its messages: all or nothing
        transitions = await _correct(store, due, finished, streak, recovered, now, rules, recent)
        await store.cursors.save(
            job.account, job.id, last_id=finished[-1].id, last_run=job.last_run,
            last_result=RunResult.FAILED.value, streak=streak, now=now, recent=recent,
        )  # fmt: skip
        await announce(transitions)
    return transitions


async def _correct(
    store: Store, due: Due, finished: list[Execution], streak: int, recovered: bool,
    now: datetime, rules: Rules, recent: str,
) -> list[Transition]:  # fmt: skip
    """What the history changes about the job's incident. A recovery in between ends the old
    incident and begins a new one, unless the job flaps: then it stays one incident, marked
    flapping, counting every failure."""
    job, last, transitions = due.job, finished[-1], []
    incident = await store.incidents.current(job.account, job.id)
    flapping = rules.flapping(recent) or (incident is not None and incident.flapping)
    if incident is not None and flapping and not incident.flapping:
        marked = await store.incidents.mark_flapping(incident.id, now)
        incident = marked or incident
    if incident is not None and recovered and due.had_incident and not flapping:
        resolved = await store.incidents.resolve(incident.id, now)  # it recovered in between
        if resolved is not None:
            await store.mutes.end_until_recovery(job.ref)
            transitions.append(Transition(Kind.RESOLVED, job.account, job, resolved))
        incident = None
    if incident is None:
        if streak >= rules.threshold:
            muted = await store.mutes.active(job.ref, now) is not None
            opened = await open_incident(store, job, last, streak, now, False, muted, flapping)
            if opened is not None:
                transitions.append(Transition(Kind.OPENED, job.account, job, opened))
    else:
        extra = max(0, streak - due.assumed_streak)
        if flapping and recovered:  # every failure since the last poll, less the row's
            extra = max(0, sum(r.result is RunResult.FAILED for r in finished) - 1)
        detail = {**run_detail(last), "rollup": bool(incident.detail.get("rollup"))}
        if extra or detail != incident.detail:
            updated = await store.incidents.add_failures(incident.id, extra, now, detail)
            if updated is not None:
                transitions.append(Transition(Kind.DETAILED, job.account, job, updated))
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
    store: Store, job: Job, run: Execution, streak: int, now: datetime, rollup: bool,
    muted: bool, flapping: bool = False,
) -> Incident | None:  # fmt: skip
    detail = {**run_detail(run), "rollup": rollup}
    return await store.incidents.open(
        job.account, job.id, ref=job.ref, job_name=job.name, now=now, failures=streak,
        detail=detail, muted=muted, flapping=flapping,
    )  # fmt: skip


def run_detail(run: Execution) -> dict[str, Any]:
    return {
        "http_status": run.http_status,
        "status_text": run.status_text,
        "duration_ms": run.duration_ms,
        "url": run.url,
        "at": run.time.isoformat(),
    }


def _cursor_of(outcome: Outcome, streak: int, now: datetime, recent: str = "") -> Cursor:
    job = outcome.job
    return Cursor(
        job.account, job.id, outcome.last_id, outcome.last_run, outcome.last_result.value,
        streak, now, recent,
    )  # fmt: skip
