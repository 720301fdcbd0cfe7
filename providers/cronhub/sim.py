"""A stateful Cronhub API (``shared/providers.md`` section 3) for tests, the demo and ``simulate``.

Faithful to the docs: ``X-Api-Key`` auth, form-encoded writes, the envelopes
(``{"schedulers": [...]}``, ``{"created": ...}``, ``{"success": true, "response": ...}``), the
request/response naming mismatch of intervals, UTC-only schedulers, grace periods of 1-60, a
never-pinged monitor listing ``last_ping: null``, a created monitor with ``status: null``, and
the docs' examples omitting ``last_ping`` after create/update and ``grace_period`` after pause.

Choices where the docs are silent (section 3.6 lists them as unverified):

- errors are JSON: 401 ``{"success": false, "error": "Unauthenticated."}``, 422
  ``{"success": false, "errors": {"field": ["message"]}}``, 404/405 and forced faults
  ``{"success": false, "error": "<reason>"}``;
- only ``application/x-www-form-urlencoded`` bodies are read; anything else counts as empty;
- there is no monitor resume route (404) unless ``monitor_resume=True``;
- monitor timestamps are ISO-8601 strings, PHP DateTime objects, or (``"mixed"``) alternate per
  monitor, since the live format is unknown;
- updating a monitor resets its status to ``new`` (docs example) unless it is paused; a paused
  monitor ignores pings (docs "monitor states").
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from providers.clock import Clock
from providers.sim.base import SIM_KEY, Simulator, json_response, real_clock

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


TimestampShape = Literal["iso", "php", "mixed"]
Handler = Callable[[Request], Awaitable[Response]]

CRONS = ("0 0 * * *", "*/15 * * * *", "0 3 * * *", "30 6 * * 1-5", "0 * * * *", "*/5 * * * *")
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
TASKS = ("nightly backup", "refresh sitemap", "send digest emails", "purge old sessions",
         "sync invoices", "warm cache", "rotate logs", "import orders")  # fmt: skip
HOSTS = ("api.example.com", "hooks.acme.io", "app.shopfront.dev", "jobs.example.org")


class CronhubSim(Simulator):
    slug = "cronhub"
    api_prefix = "/api/v1"
    demo_account = "hub"  # its account name in the demo (refs like `hub:…`)

    def __init__(
        self,
        *,
        api_key: str = SIM_KEY,
        clock: Clock = real_clock,
        seed: int = 0,
        jobs: int | None = None,
        timestamp_shape: TimestampShape = "mixed",
        monitor_resume: bool = False,
    ) -> None:
        self.timestamp_shape = timestamp_shape
        self.monitor_resume = monitor_resume
        self.schedulers: dict[int, dict[str, Any]] = {}
        self.monitors: dict[str, Monitor] = {}
        self.last_content_type: str | None = None  # of the last write, for tests
        self.last_form: dict[str, str] = {}
        self._next_id = 1
        super().__init__(api_key=api_key, clock=clock, seed=seed, jobs=jobs)

    # -- Simulator --------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        g = self._guard
        routes: list[BaseRoute] = [
            Route("/schedulers", g(self._list_schedulers), methods=["GET"]),
            Route("/schedulers/create", g(self._create_scheduler), methods=["POST"]),
            Route("/schedulers/{id:int}", g(self._scheduler), methods=["GET", "PUT", "DELETE"]),
            Route("/schedulers/{id:int}/pause", g(self._pause_scheduler), methods=["PUT"]),
            Route("/schedulers/{id:int}/resume", g(self._resume_scheduler), methods=["PUT"]),
            Route("/monitors", g(self._monitors), methods=["GET", "POST"]),
            Route("/monitors/{code}", g(self._monitor), methods=["GET", "PUT", "DELETE"]),
            Route("/monitors/{code}/pause", g(self._pause_monitor), methods=["PUT"]),
        ]
        if self.monitor_resume:
            routes.append(
                Route("/monitors/{code}/resume", g(self._resume_monitor), methods=["PUT"])
            )
        return routes

    def configure(self, app: Starlette) -> None:
        async def http_error(request: Request, exc: Exception) -> Response:
            status = exc.status_code if isinstance(exc, HTTPException) else 500
            return error(status)

        app.add_exception_handler(HTTPException, http_error)

    def fault_body(self, status: int) -> tuple[bytes, str]:
        return bytes(error(status).body), "application/json"

    def job_ids(self) -> list[str]:
        return [f"scheduler/{i}" for i in self.schedulers] + [f"monitor/{c}" for c in self.monitors]

    def run(self, job_id: str, ok: bool, *, at: datetime | None = None) -> None:
        kind, _, key = job_id.partition("/")
        if kind == "scheduler" and key.isdigit() and int(key) in self.schedulers:
            return  # Cronhub's API shows no scheduler results, so there is nothing to record
        monitor = self.monitors.get(key) if kind == "monitor" else None
        if monitor is None:
            raise KeyError(f"no job {job_id}")
        if monitor.status == "paused":
            return  # pings are ignored until the monitor is resumed
        if ok:
            monitor.status, monitor.last_ping = "up", at or self.now()
        else:
            monitor.status = "alert"  # a missed or failed ping; the last good ping stays

    def seed_jobs(self, count: int) -> None:
        """40 % schedulers, 60 % monitors; a tenth of the monitors alerting, some paused or new."""
        for i in range(count):
            if i % 5 in (0, 2):
                self._seed_scheduler()
            else:
                self._seed_monitor()

    # -- seeding ----------------------------------------------------------------------------
    def _seed_scheduler(self) -> None:
        rng, now = self.rng, self.now_ts()
        created = now - rng.randrange(86400, 400 * 86400)
        interval = rng.random() < 0.3
        name = _seed_name(len(self.schedulers))
        record = self._new_scheduler(
            {
                "name": name,
                "type": "interval" if interval else "cron",
                "url": f"https://{rng.choice(HOSTS)}/cron/{name.replace(' ', '-')}",
                "http_method": "post" if rng.random() < 0.25 else "get",
                "schedule": rng.choice(CRONS),
                "interval_value": str(rng.choice((5, 15, 30, 1, 6, 12))),
                "interval_rate": rng.choice(INTERVAL_RATES),
            },
            created,
        )
        record["status"] = "paused" if record["id"] % 7 == 5 else "active"

    def _seed_monitor(self) -> None:
        rng, now = self.rng, self.now()
        nth = len(self.monitors)
        status = {3: "alert", 6: "new"}.get(nth % 10) or ("paused" if nth % 12 == 7 else None)
        status = status or rng.choices(("up", "running"), (90, 10))[0]
        ping = None if status == "new" else now - timedelta(minutes=rng.randrange(1, 1440))
        monitor = Monitor(
            name=_seed_name(nth, " heartbeat"),
            code=str(uuid.UUID(int=rng.getrandbits(128), version=1)),
            schedule=rng.choice(CRONS),
            grace_period=rng.choice((1, 2, 5, 10, 20, 60)),
            timezone=rng.choice(ZONES),
            status=status,
            created_at=now - timedelta(days=rng.randrange(1, 900)),
            last_ping=ping,
        )
        if rng.random() < 0.3:
            monitor.running_time, monitor.running_time_unit = rng.randrange(1, 30), "minutes"
        self._add_monitor(monitor)

    def _add_monitor(self, monitor: Monitor) -> None:
        shape = self.timestamp_shape
        monitor.php_time = shape == "php" or (shape == "mixed" and len(self.monitors) % 2 == 1)
        self.monitors[monitor.code] = monitor

    # -- plumbing ---------------------------------------------------------------------------
    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if request.headers.get("x-api-key") != self.api_key:
                return json_response({"success": False, "error": "Unauthenticated."}, 401)
            return await handler(request)

        return guarded

    async def _form(self, request: Request) -> dict[str, str]:
        self.last_content_type = request.headers.get("content-type")
        form: dict[str, str] = {}
        if (self.last_content_type or "").startswith("application/x-www-form-urlencoded"):
            parsed = parse_qs(
                (await request.body()).decode("utf-8", "replace"), keep_blank_values=True
            )
            form = {key: values[-1].strip() for key, values in parsed.items()}
        self.last_form = form
        return form

    # -- schedulers -------------------------------------------------------------------------
    def _new_scheduler(self, form: dict[str, str], created: int) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self._next_id, "created_at": created}
        self.schedulers[self._next_id] = record
        self._next_id += 1
        fill_scheduler(record, form, created)
        return record

    async def _list_schedulers(self, request: Request) -> Response:
        return json_response({"schedulers": list(self.schedulers.values())})

    async def _create_scheduler(self, request: Request) -> Response:
        form = await self._form(request)
        if errors := scheduler_errors(form):
            return invalid(errors)
        return json_response({"created": self._new_scheduler(form, self.now_ts())})

    async def _scheduler(self, request: Request) -> Response:
        sid = int(request.path_params["id"])
        if sid not in self.schedulers:
            return error(404)
        if request.method == "DELETE":
            del self.schedulers[sid]
            return json_response({"deleted": True})
        if request.method == "GET":
            return json_response({"scheduler": self.schedulers[sid]})
        form = await self._form(request)
        if errors := scheduler_errors(form):
            return invalid(errors)
        fill_scheduler(self.schedulers[sid], form, self.now_ts())
        return json_response({"updated": self.schedulers[sid]})

    async def _pause_scheduler(self, request: Request) -> Response:
        return self._set_scheduler_status(request, "paused", "paused")

    async def _resume_scheduler(self, request: Request) -> Response:
        return self._set_scheduler_status(request, "active", "resumed")

    def _set_scheduler_status(self, request: Request, status: str, envelope: str) -> Response:
        record = self.schedulers.get(int(request.path_params["id"]))
        if record is None:
            return error(404)
        record.update(status=status, updated_at=self.now_ts())
        return json_response({envelope: record})

    # -- monitors ---------------------------------------------------------------------------
    async def _monitors(self, request: Request) -> Response:
        if request.method == "GET":
            listed = [monitor_json(m) for m in self.monitors.values()]
            return json_response({"success": True, "response": listed})
        form = await self._form(request)
        if errors := monitor_errors(form):
            return invalid(errors)
        code = str(uuid.UUID(int=self.rng.getrandbits(128), version=1))
        monitor = Monitor(code=code, status=None, created_at=self.now(), **monitor_fields(form))
        self._add_monitor(monitor)
        return monitor_reply(monitor, "last_ping")

    async def _monitor(self, request: Request) -> Response:
        monitor = self.monitors.get(request.path_params["code"])
        if monitor is None:
            return error(404)
        if request.method == "DELETE":
            del self.monitors[monitor.code]
            return json_response({"success": True, "response": []})
        if request.method == "GET":
            return monitor_reply(monitor)
        form = await self._form(request)
        if errors := monitor_errors(form):
            return invalid(errors)
        for key, value in monitor_fields(form).items():
            setattr(monitor, key, value)
        if monitor.status != "paused":
            monitor.status = "new"
        return monitor_reply(monitor, "last_ping")

    async def _pause_monitor(self, request: Request) -> Response:
        monitor = self.monitors.get(request.path_params["code"])
        if monitor is None:
            return error(404)
        monitor.status = "paused"
        return monitor_reply(monitor, "grace_period")

    async def _resume_monitor(self, request: Request) -> Response:
        monitor = self.monitors.get(request.path_params["code"])
        if monitor is None:
            return error(404)
        monitor.status = "new"
        return monitor_reply(monitor)


def _seed_name(n: int, suffix: str = "") -> str:
    """Unique names: "warm cache", ..., then "warm cache #2"."""
    name = TASKS[n % len(TASKS)] + suffix
    return name if n < len(TASKS) else f"{name} #{n // len(TASKS) + 1}"


SIMULATOR = CronhubSim  # what providers.sim.suite looks up in this module
