"""Miget's wire format: reading its bodies into our models and writing the bodies it takes.

States to run results, ``settings`` to schedules and back, add-on entities to :class:`Addon`,
the ``{"data": ...}`` envelope, the passwords a body may echo (registered so no log carries
them) and error bodies to the error tree. Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from providers.base import RunResult
from providers.errors import (
    AuthRejected,
    InvalidInput,
    NotFound,
    ProviderError,
    ProviderUnavailable,
)
from providers.miget.addons import Addon, AddonSpec
from providers.redact import secrets
from providers.schedule import IntervalUnit, Schedule, ScheduleError, ScheduleKind, validate_cron

# SPEC counts degraded as failing, though the vendor guide calls it a replica catching up.
FAILING_STATES = frozenset(
    {"failed", "failing", "problem", "degraded", "degradated", "crashloopbackoff"}
)
OK_STATES = frozenset({"running", "healthy", "succeeded", "completed", "active", "bound"})
# Lifecycle states while Miget provisions something: set up, never ran.
SETUP_STATES = frozenset(
    {"pending", "processing", "creating", "assigned", "deploying", "started", "cloning"}
)
INTERVALS: dict[str, tuple[int, IntervalUnit]] = {
    "every_10_minutes": (10, "minutes"),
    "hourly": (1, "hours"),
    "daily": (1, "days"),
}
_INTERVAL_BY_MINUTES = {10: "every_10_minutes", 60: "hourly", 1440: "daily"}
_UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}
UTC_NAMES = frozenset({"UTC", "ETC/UTC"})
_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


# -- mapping --------------------------------------------------------------------------------
def result_of(state: str | None) -> RunResult:
    """Miget documents no cron-job states; read them as the add-on states they share."""
    state = (state or "").lower()
    if state in FAILING_STATES:
        return RunResult.FAILED
    if state in OK_STATES:
        return RunResult.OK
    return RunResult.NONE if state in SETUP_STATES else RunResult.UNKNOWN


def schedule_of(settings: Mapping[str, Any]) -> Schedule | None:
    """The schedule in a cron job's ``settings``; None when it cannot be read."""
    interval = settings.get("interval_type")
    kind = settings.get("schedule_type") or ("interval" if interval else "cron")
    if kind == "interval" and interval in INTERVALS:
        every, unit = INTERVALS[interval]
        at = _daily_time(settings) if interval == "daily" else None
        return Schedule.interval(every, unit, at=at)
    if kind != "cron" or not settings.get("cron"):
        return None
    try:
        return Schedule.from_cron(str(settings["cron"]), "UTC")
    except ScheduleError:
        return None


def _daily_time(settings: Mapping[str, Any]) -> str | None:
    text = str(settings.get("daily_time") or "")
    if _HHMM.fullmatch(text):
        return text
    hour, minute = settings.get("hour"), settings.get("minute")
    if str(hour).isdigit() and str(minute).isdigit():
        return f"{int(str(hour)):02d}:{int(str(minute)):02d}"
    return None


def schedule_payload(schedule: Schedule | None) -> dict[str, str]:
    """The create-body fields for a schedule; ScheduleError says why Miget cannot take it."""
    if schedule is None:
        raise ScheduleError(
            "a schedule is required: a 5-field cron expression in UTC, "
            "or every 10 minutes, every hour or every day at HH:MM"
        )
    if schedule.timezone.upper() not in UTC_NAMES:
        raise ScheduleError(
            f"Miget runs cron jobs in UTC; `{schedule.timezone}` is not supported, "
            "so give the times in UTC"
        )
    if schedule.kind is ScheduleKind.CRON:
        return {"schedule_type": "cron", "cron": validate_cron(schedule.cron or "")}
    if schedule.kind is ScheduleKind.INTERVAL:
        return _interval_payload(schedule)
    raise ScheduleError("Miget has no daily/weekly/monthly periods; use a cron expression")


def _interval_payload(schedule: Schedule) -> dict[str, str]:
    minutes = (schedule.every or 0) * _UNIT_MINUTES[schedule.unit or "minutes"]
    name = _INTERVAL_BY_MINUTES.get(minutes)
    if name is None:
        raise ScheduleError(
            f"Miget intervals are every 10 minutes, every hour or every day at HH:MM; "
            f"`{schedule.describe()}` is not one of them, so use a cron expression"
        )
    if name != "daily":
        if schedule.at:
            raise ScheduleError("only a daily Miget interval takes a time of day")
        return {"schedule_type": "interval", "interval_type": name}
    if not schedule.at or not _HHMM.fullmatch(schedule.at):
        raise ScheduleError("a daily Miget interval needs a UTC time of day as HH:MM, e.g. 03:30")
    return {"schedule_type": "interval", "interval_type": "daily", "daily_time": schedule.at}


def schedule_key(schedule: Schedule | None) -> tuple[tuple[str, str], ...]:
    """What Miget would store for a schedule, so equal schedules compare equal."""
    if schedule is None:
        return ()
    try:
        return tuple(sorted(schedule_payload(schedule).items()))
    except ScheduleError:
        return (("unusable", schedule.model_dump_json()),)


def addon_of(app: str, entity: Mapping[str, Any]) -> Addon:
    quota = entity.get("quota") or {}
    ram, cpu = quota.get("ram_size"), quota.get("cpu_size")
    return Addon(
        uuid=uuid_of(entity),
        app=app,
        name=str(entity["name"]),
        type=str(entity["type"]),
        label=str(entity.get("label") or entity["name"]),
        state=str_of(entity.get("state")),
        ram_mib=int(ram) // 2**20 if isinstance(ram, int | float) else None,
        cpu=float(cpu) if isinstance(cpu, int | float) else None,
        created_at=time_of(entity.get("created_at")),
    )


def uuid_of(entity: Mapping[str, Any]) -> str:
    return str(entity["uuid"] if entity.get("uuid") else entity["id"])


def str_of(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def time_of(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _unwrap(body: Any) -> Any:
    """The docs' intro claims a ``{"data": ...}`` envelope; the endpoints send bare entities."""
    if isinstance(body, dict) and "data" in body and "uuid" not in body:
        return body["data"]
    return body


def items_of(body: Any, key: str) -> list[Mapping[str, Any]]:
    body = _unwrap(body)
    if isinstance(body, dict) and isinstance(body.get(key), list):
        body = body[key]
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise TypeError(f"expected a list of {key}")
    return body


def entity_of(body: Any) -> Mapping[str, Any]:
    body = _unwrap(body)
    if not isinstance(body, dict):
        raise TypeError("expected an object")
    return body


def remember_secrets(value: Any) -> None:
    """Register passwords Miget echoes back, so no log line can ever carry them.

    A walk with a stack rather than a call per value: a list of thousands of cron jobs, each
    with its app's variables, passes through here on every poll.
    """
    stack: list[Any] = [value] if isinstance(value, dict | list) else [[value]]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in pairs:
            if isinstance(item, str):
                if isinstance(key, str) and key.lower() == "password":
                    secrets.learn(item)
                elif "://" in item and "@" in item:  # credentials in a URL need the @
                    with contextlib.suppress(ValueError):
                        secrets.learn(urlsplit(item).password)
            elif isinstance(item, dict | list):
                stack.append(item)


# -- errors ---------------------------------------------------------------------------------
_FIELDS = sorted(
    {*AddonSpec.model_fields, "command", "cron", "schedule_type", "interval_type", "daily_time"},
    key=len,
    reverse=True,
)


def error_messages(response: httpx.Response) -> list[str]:
    """``{"error": msg}``, or for 422 ``{"errors": "msg1, msg2"}``: one comma-joined string."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    raw = body.get("errors", body.get("error", body.get("message")))
    if isinstance(raw, str):
        parts = raw.split(", ") if "errors" in body else [raw]
    elif isinstance(raw, list):
        parts = [str(part) for part in raw]
    else:
        return []
    return [secrets.scrub(part.strip())[:300] for part in parts if part.strip()]


def field_of(message: str) -> str:
    """The field a Rails-style message is about ("Name can't be blank" -> name), else "_"."""
    text = message.lower().replace("_", " ")
    for name in _FIELDS:
        words = name.replace("_", " ")
        if text == words or text.startswith(words + " "):
            return name
    return "_"


def miget_error(response: httpx.Response) -> ProviderError | None:
    status = response.status_code
    messages = error_messages(response)
    detail = "; ".join(messages) or f"HTTP {status}"
    if status == 401:
        return AuthRejected(detail)
    if status == 403:
        return AuthRejected(f"{detail}; check `workspace_id` and the token's permissions")
    if status == 404:
        return NotFound(detail)
    if status in (400, 409, 422):
        fields: dict[str, list[str]] = {}
        for message in messages:
            fields.setdefault(field_of(message), []).append(message)
        return InvalidInput(detail, fields=fields)
    if status >= 500:
        return ProviderUnavailable(detail)
    return None
