"""What both steps of a poll share: the transitions they return and a few helpers.

:mod:`bot.poller` scans an account's list and :mod:`bot.poll_details` then reads the history
of the jobs the scan saw newly failed. Both return :class:`Transition` s of a :class:`Kind`;
the scan hands the detail step a :class:`Scan` listing the jobs still :class:`Due`. Both read
runs newest first up to a cursor (:func:`last_id`), count the trailing failures
(:func:`trailing_failures`) and open incidents the same way (:func:`open_incident`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.db_models import Cursor, Incident
from bot.store import Store
from providers.base import Execution, Job, RunResult

FINISHED = (RunResult.OK, RunResult.WARNING, RunResult.FAILED)


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
    return await store.open_incident(
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
