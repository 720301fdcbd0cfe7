"""The second step of a poll: the history behind the rows the scan saw newly failed.

:func:`bot.poller.scan` opens an incident from the list row alone, so the alert goes out at
once; :func:`read_details` then reads those jobs' runs — rate-limited by the provider, 5
requests/s on cron-job.org — to count the failures that happened between two polls, to say
what failed (HTTP status, message) and, when the job recovered in between, to resolve the old
incident and open a new one.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.poll_common import (
    FINISHED,
    Due,
    Kind,
    Scan,
    Transition,
    last_id,
    open_incident,
    run_detail,
    trailing_failures,
)
from bot.store import Store
from providers.base import Execution, Provider, RunResult
from providers.budget import request_purpose
from providers.errors import BudgetExhausted, ProviderError

log = logging.getLogger(__name__)


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
            await store.add_poll_requests(
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
    incident = await store.current_incident(job.account, job.id)
    if incident is not None and recovered and due.had_incident:
        resolved = await store.resolve_incident(incident.id, now)  # it recovered in between
        if resolved is not None:
            await store.end_recovery_mute(job.ref)
            transitions.append(Transition(Kind.RESOLVED, job.account, job, resolved))
        incident = None
    if incident is None:
        if streak >= threshold:
            muted = await store.active_mute(job.ref, now) is not None
            opened = await open_incident(store, job, last, streak, now, False, muted)
            if opened is not None:
                transitions.append(Transition(Kind.OPENED, job.account, job, opened))
    else:
        extra = max(0, streak - due.assumed_streak)
        detail = {**run_detail(last), "rollup": bool(incident.detail.get("rollup"))}
        if extra or detail != incident.detail:
            updated = await store.add_failures(incident.id, extra, now, detail)
            if updated is not None:
                transitions.append(Transition(Kind.DETAILED, job.account, job, updated))
    await store.save_cursor(
        job.account, job.id, last_id=last.id, last_run=job.last_run,
        last_result=RunResult.FAILED.value, streak=streak, now=now,
    )  # fmt: skip
    return transitions
