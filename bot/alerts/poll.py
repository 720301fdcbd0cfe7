"""One poll of one account: what changed since last time, recorded once, returned as transitions.

``poll_once`` reads the account's jobs, finds each job's new executions the cheapest way the
provider allows, and turns them into transitions — an incident opened, failing again, resolved;
the account down or back; the first-start summary — recorded in the store with compare-and-set
so that a restart or a second poller never reports the same thing twice.

Cheapest source per provider: a list that carries each job's last result (cron-job.org,
Cronhub monitors, Miget) costs one request, plus history only for a job whose last run changed
*and* failed (to count the failures and say what failed). A list without results (Djinn CI)
needs the builds of each cron whose last run moved, read newest first and stopped at the cursor
(:mod:`bot.poll_observe` reads each job's runs; this module decides what they mean).

A poll is two steps, so that alerts never wait on history: :func:`scan`, here, decides from the
list alone (a newly failed row opens its incident at once) and
:func:`bot.poll_details.read_details` then reads the history of those jobs — rate-limited by the
provider, 5 requests/s on cron-job.org — to count failures that happened between two polls and
to say what failed (HTTP status, message). The monitor delivers the scan's alerts before it
reads the details; :func:`poll_once` does both. The transitions, the scan's hand-off and the
helpers both steps use live in :mod:`bot.poll_common`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.db_models import Cursor, Incident
from bot.poll_common import (
    Due,
    Kind,
    Scan,
    Transition,
    open_incident,
    run_detail,
    trailing_failures,
)
from bot.poll_details import read_details
from bot.poll_observe import Outcome, observe
from bot.store import Store
from providers.base import Job, Listed, Provider, RunResult
from providers.budget import request_purpose
from providers.errors import BudgetExhausted, ProviderError

log = logging.getLogger(__name__)

ROLLUP_MIN = 3  # this many new incidents, and most of an account's jobs, make one roll-up


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
        await store.record_poll(account, now, ok=False, requests=0)
        return found
    except ProviderError as error:
        await store.record_poll(
            account, now, ok=False, requests=provider.http.requests_sent - sent_before
        )
        if await store.set_reachable(account, False, now, error.user_message):
            found.transitions.append(
                Transition(Kind.ACCOUNT_DOWN, account, error=error.user_message)
            )
        return found
    before = await store.account_state(account)
    if await store.set_reachable(account, True, now):
        down_since = before.outage_since if before else None
        found.transitions.append(Transition(Kind.ACCOUNT_BACK, account, down_since=down_since))
    if before is None or before.first_polled_at is None:
        found.transitions += await _first_poll(provider, store, jobs, now)
    else:
        await _follow(provider, store, jobs, now, found)
    await store.drop_cursors(account, keep={job.id for job in jobs})
    await store.record_poll(
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
        if not await store.mark_first_poll(provider.account, now):
            return []
        await store.save_cursors(cursors)
    if not failing:
        return []
    return [Transition(Kind.FIRST_START, provider.account, failing=tuple(failing))]


async def _follow(
    provider: Provider, store: Store, jobs: Sequence[Listed], now: datetime, found: Scan
) -> None:
    cursors = await store.cursors(provider.account)
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
        {i.job_id: i for i in await store.open_incidents(provider.account)},
        set((await store.active_mutes(now)).keys()),
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
        await store.save_cursors(moved)
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
            resolved = await store.resolve_incident(incident.id, now)
            if resolved is not None:
                await store.end_recovery_mute(job.ref)
                transitions.append(Transition(Kind.RESOLVED, job.account, job, resolved))
            incident = None
        streak, pending = 0, 0
    if incident is not None and pending:
        detail = {**run_detail(outcome.seen[-1]), "rollup": bool(incident.detail.get("rollup"))}
        updated = await store.add_failures(incident.id, pending, now, detail)
        if updated is not None:
            transitions.append(Transition(Kind.FAILED_AGAIN, job.account, job, updated))
    return transitions, _cursor_of(outcome, streak, now)


def _cursor_of(outcome: Outcome, streak: int, now: datetime) -> Cursor:
    job = outcome.job
    return Cursor(
        job.account, job.id, outcome.last_id, outcome.last_run, outcome.last_result.value,
        streak, now,
    )  # fmt: skip
