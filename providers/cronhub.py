"""Cronhub (cronhub.io): schedulers call a URL on a schedule, monitors wait for pings.

Job ids are ``scheduler/{id}`` and ``monitor/{uuid}``. Facts and quirks are in
``shared/providers.md`` section 3; the ones this module copes with:

- every write body is form-encoded (all examples use ``curl -d``);
- a scheduler is created at ``POST /schedulers/create`` with ``interval_value``/``interval_rate``
  but answers with ``interval_schedule_value``/``interval_schedule_rate``;
- schedulers run in UTC only; monitors take any timezone and a grace period of 1-60 minutes;
- monitor timestamps come as ISO-8601 strings (docs) or PHP DateTime objects (live clients);
- there is no documented way to resume a monitor, and no execution history at all.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from providers.base import Capability, Job, JobKind, JobSpec, Listed, Provider, RunResult
from providers.config import BuildContext, CronhubAccount
from providers.errors import BadResponse, InvalidInput, NotFound, ProviderError, Unsupported
from providers.http import Clock, ProviderHttp, utcnow
from providers.redact import safe_url, secrets
from providers.schedule import (
    IntervalUnit,
    Schedule,
    ScheduleError,
    ScheduleKind,
    validate_cron,
    validate_timezone,
)

C = Capability
_BOTH = frozenset({C.LIST, C.GET, C.CREATE, C.UPDATE, C.RESCHEDULE, C.DELETE, C.PAUSE})
_SCHEDULER_ID = re.compile(r"scheduler/([0-9]+)")
_MONITOR_ID = re.compile(r"monitor/([0-9A-Za-z-]+)")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
BODY_METHODS = ("POST", "PUT", "PATCH")
INTERVAL_RATES: dict[str, IntervalUnit] = {"minutes": "minutes", "hours": "hours", "days": "days"}
NO_MONITOR_RESUME = "Cronhub has no API to resume a monitor; resume it in the Cronhub dashboard."
MONITOR_RESULTS = {
    "alert": RunResult.FAILED,
    "up": RunResult.OK,
    "ok": RunResult.OK,  # the docs' alert text calls recovery "OK"
    "running": RunResult.RUNNING,
    "new": RunResult.NONE,
}

Raw = Mapping[str, Any]
Errors = dict[str, list[str]]


class Cronhub(Provider):
    slug = "cronhub"
    label = "Cronhub"
    default_base_url = "https://cronhub.io/api/v1"
    capabilities: ClassVar[Mapping[JobKind, frozenset[Capability]]] = {
        JobKind.SCHEDULER: _BOTH | {C.RESUME},
        JobKind.MONITOR: _BOTH,  # resume is undocumented: tried, never promised
    }

    def __init__(self, account: str, http: ProviderHttp, clock: Clock = utcnow) -> None:
        super().__init__(account, http)
        self.clock = clock

    @classmethod
    def from_config(cls, account: CronhubAccount, ctx: BuildContext) -> Self:
        http = ctx.http(
            account,
            provider=cls.label,
            default_base_url=cls.default_base_url,
            headers={"X-Api-Key": account.credential()},
            error_hook=cronhub_error,
        )
        return cls(account.name, http, ctx.clock)

    # -- ids ------------------------------------------------------------------------------
    def kind_of(self, job_id: str) -> JobKind:
        return self._split(job_id)[0]

    def _split(self, job_id: str) -> tuple[JobKind, str]:
        if match := _SCHEDULER_ID.fullmatch(job_id):
            return JobKind.SCHEDULER, match[1]
        if match := _MONITOR_ID.fullmatch(job_id):
            return JobKind.MONITOR, match[1]
        raise NotFound(
            f"`{job_id}` is not a Cronhub job id; expected scheduler/NUMBER or monitor/UUID",
            **self.error_context(),
        )

    # -- reading --------------------------------------------------------------------------
    async def list_jobs(self) -> list[Job]:
        schedulers, monitors = await self._lists()
        with self.http.mapping("scheduler list"):
            jobs = [self._scheduler(raw) for raw in schedulers]
        with self.http.mapping("monitor list"):
            jobs += [self._monitor(raw) for raw in monitors]
        return jobs

    async def list_for_poll(self) -> list[Listed]:
        schedulers, monitors = await self._lists()
        with self.http.mapping("scheduler list"):  # the API reports no scheduler results
            listed = [
                Listed(f"scheduler/{int(raw['id'])}", None, RunResult.UNKNOWN, False,
                       partial(self._mapped, "scheduler list", self._scheduler, raw))
                for raw in schedulers
            ]  # fmt: skip
        with self.http.mapping("monitor list"):
            for raw in monitors:
                last_ping, status = parse_time(raw.get("last_ping")), raw.get("status")
                result = monitor_result(str(status).lower() if status else None, last_ping)
                listed.append(
                    Listed(f"monitor/{raw['code']}", last_ping, result, False,
                           partial(self._mapped, "monitor list", self._monitor, raw))
                )  # fmt: skip
        return listed

    async def _lists(self) -> tuple[list[Raw], list[Raw]]:
        schedulers, monitors = await asyncio.gather(
            self._call("GET", "schedulers", "list"), self._call("GET", "monitors", "list")
        )
        with self.http.mapping("scheduler list"):
            scheduler_rows = list(schedulers["schedulers"])
        with self.http.mapping("monitor list"):
            monitor_rows = list(self._monitor_body(monitors))
        return scheduler_rows, monitor_rows

    def _mapped(self, what: str, mapper: Callable[[Raw], Job], raw: Raw) -> Job:
        with self.http.mapping(what):
            return mapper(raw)

    async def get_job(self, job_id: str) -> Job:
        return await self._act(job_id, "GET", "", "get")

    # -- changing -------------------------------------------------------------------------
    async def create(self, spec: JobSpec) -> Job:
        self.require(C.CREATE, None, spec.kind)
        path = "schedulers/create" if spec.kind is JobKind.SCHEDULER else "monitors"
        job = await self._send(spec.kind, "POST", path, "create", self._form(spec, {}))
        return job if spec.enabled else await self.pause(job.id)

    async def update(self, job_id: str, spec: JobSpec) -> Job:
        """PUT every field; fields a JobSpec cannot carry are kept from the current record."""
        kind, key = self._split(job_id)
        self.require(C.UPDATE, job_id)
        if spec.kind is not kind:
            raise self._invalid({"kind": [f"a {kind.value} cannot become a {spec.kind.value}"]})
        self._form(spec, {})  # refuse bad input before any request
        form = self._form(spec, await self._raw(kind, key))
        return await self._act(job_id, "PUT", "", "update", form)

    async def delete(self, job_id: str) -> None:
        kind, key = self._split(job_id)
        body = await self._call("DELETE", f"{_path(kind)}/{key}", "delete")
        confirmed = body.get("deleted") if kind is JobKind.SCHEDULER else body.get("success")
        if confirmed is not True:
            raise BadResponse("the delete was not confirmed", **self.error_context())

    async def pause(self, job_id: str) -> Job:
        return await self._act(job_id, "PUT", "/pause", "pause")

    async def resume(self, job_id: str) -> Job:
        try:
            return await self._act(job_id, "PUT", "/resume", "resume")
        except NotFound:
            if self.kind_of(job_id) is JobKind.SCHEDULER:
                raise
            await self.get_job(job_id)  # a monitor that is gone stays NotFound
        raise Unsupported(NO_MONITOR_RESUME, **self.error_context())

    # -- plumbing -------------------------------------------------------------------------
    async def _call(
        self, method: str, path: str, op: str, form: Mapping[str, str] | None = None
    ) -> Any:
        response = await self.http.request(method, path, op=op, data=form)
        body = self.http.json_of(response)
        if not isinstance(body, dict):
            raise BadResponse(f"{op} answered {type(body).__name__}", **self.error_context())
        return body

    async def _raw(self, kind: JobKind, key: str) -> Raw:
        body = await self._call("GET", f"{_path(kind)}/{key}", "get")
        with self.http.mapping(kind.value):
            raw = body["scheduler"] if kind is JobKind.SCHEDULER else self._monitor_body(body)
            return dict(raw)

    async def _act(
        self, job_id: str, method: str, suffix: str, op: str, form: Mapping[str, str] | None = None
    ) -> Job:
        kind, key = self._split(job_id)
        return await self._send(kind, method, f"{_path(kind)}/{key}{suffix}", op, form)

    async def _send(
        self, kind: JobKind, method: str, path: str, op: str, form: Mapping[str, str] | None
    ) -> Job:
        """Call a route that answers with one job; scheduler envelopes are named per action."""
        body = await self._call(method, path, op, form)
        with self.http.mapping(f"{kind.value} after {op}"):
            if kind is JobKind.MONITOR:
                return self._monitor(self._monitor_body(body))
            return self._scheduler(body["scheduler" if op == "get" else f"{op}d"])

    def _monitor_body(self, body: Raw) -> Any:
        if body.get("success") is False:
            raise BadResponse("the monitor API answered success: false", **self.error_context())
        return body["response"]

    def _invalid(self, errors: Errors) -> InvalidInput:
        return InvalidInput(fields=errors, **self.error_context())

    # -- JSON -> Job ------------------------------------------------------------------------
    def _scheduler(self, raw: Raw) -> Job:
        details = [("Type", str(raw.get("type") or "?"))]
        if raw.get("description"):
            details.append(("Description", str(raw["description"])))
        return self._job(
            JobKind.SCHEDULER,
            str(int(raw["id"])),
            raw,
            _readable(scheduler_schedule, raw),
            last_result=RunResult.UNKNOWN,  # the API reports no scheduler results
            url=safe_url(raw.get("url")),
            http_method=str(raw.get("http_method") or "").upper() or None,
            details=tuple(details),
        )

    def _monitor(self, raw: Raw) -> Job:
        last_ping = parse_time(raw.get("last_ping"))
        status = raw.get("status")
        grace = raw.get("grace_period")  # absent after a pause (docs example)
        return self._job(
            JobKind.MONITOR,
            str(raw["code"]),
            raw,
            _readable(monitor_schedule, raw),
            last_run=last_ping,
            last_result=monitor_result(str(status).lower() if status else None, last_ping),
            grace_period=int(grace) if grace is not None else None,
            details=monitor_details(raw),
        )

    def _job(
        self, kind: JobKind, key: str, raw: Raw, schedule: Schedule | None, **fields: Any
    ) -> Job:
        status = str(raw.get("status") or "").lower() or None
        paused = status == "paused"
        return Job(
            account=self.account,
            provider=self.slug,
            kind=kind,
            id=f"{kind.value}/{key}",
            name=str(raw["name"]),
            paused=paused,
            schedule=schedule,
            last_status=status,
            link=f"https://cronhub.io/{kind.value}s/{key}",
            capabilities=self.caps(kind),
            **fields,
        )

    # -- JobSpec -> form ------------------------------------------------------------------
    def _form(self, spec: JobSpec, current: Raw) -> dict[str, str]:
        if spec.kind is JobKind.SCHEDULER:
            return self._scheduler_form(spec, current)
        return self._monitor_form(spec, current)

    def _scheduler_form(self, spec: JobSpec, current: Raw) -> dict[str, str]:
        errors: Errors = {}
        form = {"name": spec.name.strip(), "url": (spec.url or "").strip()}
        if not form["name"]:
            errors["name"] = ["a name is required"]
        if not is_http_url(form["url"]):
            errors["url"] = ["needs a full http:// or https:// URL, e.g. https://example.com/run"]
        method = (spec.http_method or "GET").strip().upper()
        if method not in HTTP_METHODS:
            errors["http_method"] = [f"must be one of {', '.join(HTTP_METHODS)}"]
        form["http_method"] = method.lower()
        body = spec.http_body
        if body is None and method in BODY_METHODS:
            body = _kept_body(current)
        if body and method not in BODY_METHODS:
            errors["http_body"] = ["only POST, PUT and PATCH requests carry a body"]
        if body:
            form["http_body"] = body
        form.update(scheduler_schedule_form(spec.schedule, errors))
        if errors:
            raise self._invalid(errors)
        return form

    def _monitor_form(self, spec: JobSpec, current: Raw) -> dict[str, str]:
        errors: Errors = {}
        form = {"name": spec.name.strip()}
        if not form["name"]:
            errors["name"] = ["a name is required"]
        grace = spec.grace_period
        if grace is None or not 1 <= grace <= 60:
            errors["grace_period"] = ["must be a whole number of minutes from 1 to 60"]
        else:
            form["grace_period"] = str(grace)
        form.update(monitor_schedule_form(spec.schedule, errors))
        if current.get("running_time") is not None and current.get("running_time_unit"):
            form["running_time"] = str(current["running_time"])
            form["running_time_unit"] = str(current["running_time_unit"])
        if errors:
            raise self._invalid(errors)
        return form


# -- module helpers (pure) -------------------------------------------------------------------
def _path(kind: JobKind) -> str:
    return "schedulers" if kind is JobKind.SCHEDULER else "monitors"


def _kept_body(current: Raw) -> str | None:
    body = current.get("http_body")
    return body if isinstance(body, str) else None  # Cronhub shows "no body" as []


def _readable(read: Callable[[Raw], Schedule | None], raw: Raw) -> Schedule | None:
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
