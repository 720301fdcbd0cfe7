"""What cron-job.org's server makes of a request: bodies, job fields and predictions.

The simulator's half of ``shared/providers.md`` §2 that does not route: the JSON body read only
for the two content types the server reads, a new job's defaults, PATCH-what-is-given with the
server's clamping and header cleaning, and the execution predictor, which matches the day of
month AND the weekday (``api/lib/ExecutionPredictor.php``). The simulator
(:mod:`providers.sim.cronjob_org`) routes, authenticates and counts; these functions do the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadDateError, croniter
from starlette.requests import Request

from providers.cronjob_org_schedule import PHP_REGIONS

ARRAYS = ("minutes", "hours", "mdays", "months", "wdays")  # cron field order
RANGES = {"minutes": (0, 59), "hours": (0, 23), "mdays": (1, 31), "months": (1, 12),
          "wdays": (0, 6)}  # fmt: skip
PRIVATE = ("auth", "notification", "extendedData")
EDITABLE = ("enabled", "title", "saveResponses", "url", "requestTimeout", "redirectSuccess",
            "folderId", "requestMethod")  # fmt: skip
_TIMEZONES = frozenset(
    tz for tz in available_timezones() if tz.split("/", 1)[0] in PHP_REGIONS and "/" in tz
) | {"UTC"}


class Refused(Exception):
    """A refusal: the server answers with this bare status."""

    def __init__(self, status: int) -> None:
        self.status = status


def blank_job(job_id: int) -> dict[str, Any]:
    """A job with the server's defaults for omitted keys (providers.md §2.3-2.5)."""
    return {
        "jobId": job_id, "enabled": False, "title": "", "saveResponses": False, "url": "",
        "lastStatus": 0, "lastDuration": 0, "lastExecution": 0, "type": 0, "requestTimeout": -1,
        "redirectSuccess": False, "folderId": 0, "requestMethod": 0,
        "schedule": {"timezone": "UTC", "expiresAt": 0, **{key: [] for key in ARRAYS}},
        "auth": {"enable": False, "user": "", "password": ""},
        "notification": {"onFailure": False, "onFailureCount": 1, "onSuccess": False,
                         "onDisable": False},
        "extendedData": {"headers": {}, "body": ""},
    }  # fmt: skip


def apply_job(job: dict[str, Any], given: dict[str, Any]) -> None:
    """Copy the known keys that are present and not null, as the server does."""
    try:
        _copy(job, given, EDITABLE)
        for group in PRIVATE:
            part = given.get(group)
            if isinstance(part, dict):
                _copy(job[group], part, [key for key in job[group] if key != "headers"])
                if isinstance(part.get("headers"), dict) and group == "extendedData":
                    job[group]["headers"] = _headers(part["headers"])
        if isinstance(given.get("schedule"), dict):
            _apply_schedule(job["schedule"], given["schedule"])
    except (TypeError, ValueError):
        raise Refused(400) from None
    job["title"], job["url"] = job["title"].strip(), job["url"].strip()
    job["requestMethod"] = min(8, max(0, job["requestMethod"]))
    job["notification"]["onFailureCount"] = max(1, job["notification"]["onFailureCount"])
    if not job["url"]:
        raise Refused(400)


def _copy(target: dict[str, Any], given: dict[str, Any], keys: Iterable[str]) -> None:
    for key in keys:
        if given.get(key) is not None:
            target[key] = type(target[key])(given[key])  # the default's type: bool, int, str


def _apply_schedule(schedule: dict[str, Any], given: dict[str, Any]) -> None:
    if given.get("timezone") in _TIMEZONES:  # others are ignored: UTC on create
        schedule["timezone"] = given["timezone"]
    if given.get("expiresAt") is not None:
        schedule["expiresAt"] = int(given["expiresAt"])
    for key in ARRAYS:
        values = given.get(key)
        if values is None:
            continue
        if any(isinstance(v, bool) or not isinstance(v, int) for v in values):
            raise TypeError(key)
        low, high = RANGES[key]
        schedule[key] = [-1] if -1 in values else sorted({min(high, max(low, v)) for v in values})


def _headers(given: dict[str, Any]) -> dict[str, str]:
    """Header names and values trimmed and stripped of CR/LF; empty ones dropped (§2.4)."""
    clean = {_line(key): _line(value) for key, value in given.items()}
    return {key: value for key, value in clean.items() if key and value}


def _line(value: Any) -> str:
    return str(value).replace("\r", "").replace("\n", "").strip()


def predict(arrays: tuple[tuple[int, ...], ...], timezone: str, now: int, count: int) -> list[int]:
    """The next ``count`` executions after ``now``, or none for a schedule that never runs."""
    if any(not values for values in arrays):
        return []
    _, _, mdays, months, _ = arrays
    if months != (-1,) and mdays != (-1,):
        longest = max(30 if m in (4, 6, 9, 11) else 29 if m == 2 else 31 for m in months)
        if max(mdays) > longest:
            return []
    expr = " ".join("*" if values == (-1,) else ",".join(map(str, values)) for values in arrays)
    start = datetime.fromtimestamp(now, ZoneInfo(timezone))
    it = croniter(expr, start, day_or=False)  # cron-job.org: day of month AND weekday
    try:
        return [int(it.get_next(float)) for _ in range(count)]
    except CroniterBadDateError:
        return []


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON body, only for the two content types the server reads (§2.1)."""
    if request.headers.get("content-type") not in ("application/json", "text/json"):
        return {}
    try:
        data = json.loads(await request.body())
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
