"""The Cronhub simulator's forms, validation and JSON (``shared/providers.md`` section 3).

What the docs say each form field must be (422 ``{"success": false, "errors": {...}}``), how a
valid form fills a scheduler record or a :class:`Monitor`, how a monitor and its timestamps look
in a reply, and the ``{"success": false, "error": ...}`` body of other errors. No state and no
I/O: :class:`providers.sim.cronhub.CronhubSim` reads the requests and keeps the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from starlette.responses import Response

from providers.sim.base import json_response

Errors = dict[str, list[str]]

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
INTERVAL_RATES = ("minutes", "hours", "days")
TIME_UNITS = ("seconds", "minutes", "hours", "days", "weeks")
MONITOR_FIELDS = ("name", "code", "schedule", "grace_period", "timezone", "status", "last_ping",
                  "running_time", "running_time_unit", "created_at")  # fmt: skip


@dataclass
class Monitor:
    name: str
    code: str
    schedule: str
    grace_period: int
    timezone: str
    status: str | None
    created_at: datetime
    last_ping: datetime | None = None
    running_time: int | None = None
    running_time_unit: str | None = None
    php_time: bool = False  # this monitor's timestamps as PHP DateTime objects


# -- replies ------------------------------------------------------------------------------------
def error(status: int) -> Response:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return json_response({"success": False, "error": f"{reason}."}, status)


def _stamp(monitor: Monitor, moment: datetime | None) -> Any:
    if moment is None:
        return None
    utc = moment.astimezone(UTC).replace(microsecond=0)
    if monitor.php_time:
        date = utc.strftime("%Y-%m-%d %H:%M:%S.%f")
        return {"date": date, "timezone_type": 3, "timezone": "UTC"}
    return utc.isoformat()


def monitor_json(m: Monitor, *omit: str) -> dict[str, Any]:
    out = {key: getattr(m, key) for key in MONITOR_FIELDS if key not in omit}
    if "last_ping" in out:
        out["last_ping"] = _stamp(m, m.last_ping)
    out["created_at"] = _stamp(m, m.created_at)
    return out


def monitor_reply(m: Monitor, *omit: str) -> Response:
    return json_response({"success": True, "response": monitor_json(m, *omit)})


# -- validation (what the docs say each field must be) ------------------------------------------
def invalid(errors: Errors) -> Response:
    return json_response({"success": False, "errors": errors}, 422)


def scheduler_errors(form: dict[str, str]) -> Errors:
    errors: Errors = {}
    if not form.get("name"):
        errors["name"] = ["The name field is required."]
    if form.get("type") not in ("cron", "interval"):
        errors["type"] = ["The type must be cron or interval."]
    parts = urlsplit(form.get("url", ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors["url"] = ["The url format is invalid."]
    if form.get("http_method", "").lower() not in HTTP_METHODS:
        errors["http_method"] = ["The http method field is required."]
    if form.get("type") == "cron":
        if not croniter.is_valid(form.get("schedule", "")):
            errors["schedule"] = ["The schedule must be a valid cron expression."]
        if form.get("timezone") != "UTC":
            errors["timezone"] = ["The timezone must be UTC."]
    if form.get("type") == "interval":
        value = form.get("interval_value", "")
        if not value.isdigit() or int(value) < 1:
            errors["interval_value"] = ["The interval value must be a positive integer."]
        if form.get("interval_rate") not in INTERVAL_RATES:
            errors["interval_rate"] = ["The interval rate must be minutes, hours or days."]
    return errors


def monitor_errors(form: dict[str, str]) -> Errors:
    errors: Errors = {}
    if not form.get("name"):
        errors["name"] = ["The name field is required."]
    if not croniter.is_valid(form.get("schedule", "")):
        errors["schedule"] = ["The schedule must be a valid cron expression."]
    if not _is_zone(form.get("timezone", "")):
        errors["timezone"] = ["The timezone must be a valid zone."]
    grace = form.get("grace_period", "")
    if not grace.isdigit() or not 1 <= int(grace) <= 60:
        errors["grace_period"] = ["The grace period must be between 1 and 60."]
    running = form.get("running_time")
    if running and not running.isdigit():
        errors["running_time"] = ["The running time must be an integer."]
    if running and form.get("running_time_unit") not in TIME_UNITS:
        errors["running_time_unit"] = [
            f"The running time unit must be one of {', '.join(TIME_UNITS)}."
        ]
    return errors


def _is_zone(name: str) -> bool:
    try:
        return bool(name) and ZoneInfo(name) is not None
    except (ZoneInfoNotFoundError, ValueError):
        return False


# -- valid forms into records -------------------------------------------------------------------
def fill_scheduler(record: dict[str, Any], form: dict[str, str], now: int) -> None:
    """Note the names: the request says interval_value/_rate, the record interval_schedule_*."""
    interval = form["type"] == "interval"
    record.update(
        name=form["name"],
        description=None,
        interval_schedule_value=int(form["interval_value"]) if interval else None,
        interval_schedule_rate=form["interval_rate"] if interval else None,
        type=form["type"],
        schedule=None if interval else form["schedule"],
        timezone="UTC",
        status=record.get("status", "active"),
        url=form["url"],
        http_body=form.get("http_body") or [],
        http_method=form["http_method"].lower(),
        updated_at=now,
    )


def monitor_fields(form: dict[str, str]) -> dict[str, Any]:
    running = form.get("running_time")
    return {
        "name": form["name"],
        "schedule": form["schedule"],
        "timezone": form["timezone"],
        "grace_period": int(form["grace_period"]),
        "running_time": int(running) if running else None,
        "running_time_unit": form.get("running_time_unit") if running else None,
    }
