"""Cronhub's JSON and forms: reading schedules and times, writing forms, reading errors.

Pure functions over the bodies described in ``shared/providers.md`` section 3: no I/O, no clock.
:class:`providers.cronhub.client.Cronhub` does the requests and builds jobs from these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from providers.base import JobSpec, RunResult
from providers.errors import InvalidInput, NotFound, ProviderError
from providers.redact import secrets
from providers.schedule import (
    IntervalUnit,
    Schedule,
    ScheduleError,
    ScheduleKind,
    validate_cron,
    validate_timezone,
)

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
BODY_METHODS = ("POST", "PUT", "PATCH")
INTERVAL_RATES: dict[str, IntervalUnit] = {"minutes": "minutes", "hours": "hours", "days": "days"}
MONITOR_RESULTS = {
    "alert": RunResult.FAILED,
    "up": RunResult.OK,
    "ok": RunResult.OK,  # the docs' alert text calls recovery "OK"
    "running": RunResult.RUNNING,
    "new": RunResult.NONE,
}

Raw = Mapping[str, Any]
Errors = dict[str, list[str]]


# -- JobSpec -> form ---------------------------------------------------------------------------
def scheduler_form(spec: JobSpec, current: Raw | None, errors: Errors) -> dict[str, str]:
    """The scheduler form; a spec without a URL keeps the current one (an edit that leaves
    the URL, shown masked, alone)."""
    kept = str((current or {}).get("url") or "")
    url = spec.url.strip() if spec.url is not None else kept
    form = {"name": spec.name.strip(), "url": url}
    if not form["name"]:
        errors["name"] = ["a name is required"]
    if (spec.url is not None or current is not None) and not is_http_url(url):
        errors["url"] = ["needs a full http:// or https:// URL, e.g. https://example.com/run"]
    method = (spec.http_method or "GET").strip().upper()
    if method not in HTTP_METHODS:
        errors["http_method"] = [f"must be one of {', '.join(HTTP_METHODS)}"]
    form["http_method"] = method.lower()
    body = spec.http_body
    if body is None and method in BODY_METHODS:
        body = _kept_body(current or {})
    if body and method not in BODY_METHODS:
        errors["http_body"] = ["only POST, PUT and PATCH requests carry a body"]
    if body:
        form["http_body"] = body
    form.update(scheduler_schedule_form(spec.schedule, errors))
    return form


def monitor_form(spec: JobSpec, current: Raw | None, errors: Errors) -> dict[str, str]:
    form = {"name": spec.name.strip()}
    if not form["name"]:
        errors["name"] = ["a name is required"]
    grace = spec.grace_period
    if grace is None or not 1 <= grace <= 60:
        errors["grace_period"] = ["must be a whole number of minutes from 1 to 60"]
    else:
        form["grace_period"] = str(grace)
    form.update(monitor_schedule_form(spec.schedule, errors))
    current = current or {}
    if current.get("running_time") is not None and current.get("running_time_unit"):
        form["running_time"] = str(current["running_time"])
        form["running_time_unit"] = str(current["running_time_unit"])
    return form


def _kept_body(current: Raw) -> str | None:
    body = current.get("http_body")
    return body if isinstance(body, str) else None  # Cronhub shows "no body" as []


def readable(read: Callable[[Raw], Schedule | None], raw: Raw) -> Schedule | None:
    """A schedule we cannot read shows as none instead of failing the whole list."""
    try:
        return read(raw)
    except ValueError:
        return None


def scheduler_schedule(raw: Raw) -> Schedule | None:
    if str(raw.get("type")).lower() == "interval":
        rate = INTERVAL_RATES.get(str(raw.get("interval_schedule_rate")).lower())
        if rate is None:
            raise ValueError("unknown interval rate")
        return Schedule.interval(int(raw["interval_schedule_value"]), rate)
    return _cron(str(raw["schedule"]), str(raw.get("timezone") or "UTC"))


def monitor_schedule(raw: Raw) -> Schedule | None:
    return _cron(str(raw["schedule"]), str(raw.get("timezone") or "UTC"))


def _cron(expr: str, tz: str) -> Schedule:
    try:
        return Schedule.from_cron(expr, validate_timezone(tz))
    except ScheduleError:  # keep Cronhub's words even if we cannot predict runs from them
        return Schedule.as_given(expr, tz)


def monitor_result(status: str | None, last_ping: datetime | None) -> RunResult:
    if status == "paused":  # pings are ignored while paused; the last result is not reported
        return RunResult.UNKNOWN if last_ping else RunResult.NONE
    if status is None:
        return RunResult.NONE
    return MONITOR_RESULTS.get(status, RunResult.UNKNOWN)


def monitor_details(raw: Raw) -> tuple[tuple[str, str], ...]:
    details: list[tuple[str, str]] = []
    if raw.get("running_time") is not None:
        unit = raw.get("running_time_unit") or ""
        details.append(("Running time limit", f"{raw['running_time']} {unit}".strip()))
    created = parse_time(raw.get("created_at"))
    if created:
        details.append(("Created", created.isoformat(timespec="seconds")))
    return tuple(details)


def parse_time(value: Any) -> datetime | None:
    """Cronhub timestamps: ISO-8601 string, PHP DateTime object, or unix seconds (schedulers)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return _aware(datetime.fromisoformat(value), UTC)
    if isinstance(value, Mapping):  # {"date": "...", "timezone_type": 1|2|3, "timezone": "..."}
        return _aware(datetime.fromisoformat(str(value["date"])), _php_zone(value))
    raise TypeError(f"unexpected timestamp {type(value).__name__}")


def _php_zone(value: Raw) -> timezone | ZoneInfo:
    name = str(value.get("timezone") or "UTC")
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    if name[0] in "+-":  # timezone_type 1: an offset such as +02:00
        hours, _, minutes = name[1:].partition(":")
        offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
        return timezone(-offset if name[0] == "-" else offset)
    return ZoneInfo(name)


def _aware(moment: datetime, zone: timezone | ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def scheduler_schedule_form(schedule: Schedule | None, errors: Errors) -> dict[str, str]:
    if schedule is None or schedule.kind is ScheduleKind.PERIOD:
        errors["schedule"] = ["needs a cron expression or an interval (every N minutes/hours/days)"]
        return {}
    if schedule.kind is ScheduleKind.INTERVAL:
        if schedule.at:
            errors["schedule"] = ["Cronhub intervals cannot start at a set time of day"]
        every, rate = str(schedule.every), str(schedule.unit)
        return {"type": "interval", "interval_value": every, "interval_rate": rate}
    if schedule.timezone.upper() != "UTC":
        errors["timezone"] = [
            f"Cronhub schedulers run in UTC only, not {schedule.timezone}; "
            "write the cron expression in UTC"
        ]
    return {"type": "cron", "schedule": _valid_cron(schedule, errors), "timezone": "UTC"}


def monitor_schedule_form(schedule: Schedule | None, errors: Errors) -> dict[str, str]:
    if schedule is None or schedule.kind is not ScheduleKind.CRON:
        errors["schedule"] = ["Cronhub monitors need a cron expression, e.g. 0 3 * * *"]
        return {}
    try:
        tz = validate_timezone(schedule.timezone)
    except ScheduleError as error:
        errors["timezone"] = [str(error)]
        tz = schedule.timezone
    return {"schedule": _valid_cron(schedule, errors), "timezone": tz}


def _valid_cron(schedule: Schedule, errors: Errors) -> str:
    try:
        return validate_cron(schedule.cron or "")
    except ScheduleError as error:
        errors["schedule"] = [str(error)]
        return schedule.cron or ""


def cronhub_error(response: httpx.Response) -> ProviderError | None:
    """Cronhub documents no error body: read field errors if a JSON body has them."""
    status = response.status_code
    if status == 405:  # a route that does not take this method does not exist for us
        return NotFound("HTTP 405")
    if status not in (400, 422):
        return None  # the default mapping: 401/403 auth, 404 not found, 5xx unavailable
    try:
        body = response.json()
    except ValueError:
        body = None
    fields, message = _error_parts(body)
    if fields:
        return InvalidInput(fields=fields)
    return InvalidInput(message or f"HTTP {status}")


def _error_parts(body: Any) -> tuple[Errors, str]:
    """{"errors": {"field": ["msg"]}}, {"errors": [...]}, {"message": ...} or {"error": ...}."""
    if not isinstance(body, dict):
        return {}, ""
    errors = body.get("errors")
    if isinstance(errors, dict):
        return {str(k): _texts(v) for k, v in errors.items()}, ""
    if errors:
        return {}, "; ".join(_texts(errors))
    for key in ("message", "error"):
        if isinstance(body.get(key), str):
            return {}, _texts(body[key])[0]
    return {}, ""


def _texts(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [secrets.scrub(str(item))[:300] for item in items]
