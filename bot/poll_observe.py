"""One job's new executions, read the cheapest way its provider allows.

:func:`observe` turns a row of the account's list, and the job's cursor, into an
:class:`Outcome`: the finished runs since the cursor, oldest first, and where the cursor is to
move. A list that carries each job's last result (cron-job.org, Cronhub monitors, Miget) is
enough: the row becomes one synthetic run, and a newly failed one is marked ``detail_due`` for
:mod:`bot.poll_details`. A list without results (Djinn CI) needs the builds of each cron whose
last run moved, read newest first and stopped at the cursor. :mod:`bot.poller` decides what
the outcomes mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.db_models import Cursor
from bot.poll_common import FINISHED, last_id
from providers.base import Capability, Execution, Job, Listed, Provider, RunResult

FIRST_LOOK = 5  # runs read per job on an account's first poll, when its list has no results


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
    had_incident: bool = False  # set by bot.poller: an incident was open before this poll


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
