"""A cron-job.org API simulator, faithful to ``shared/providers.md`` §2 and §6.

Bare-status errors; routing before auth (unknown path or method: 404, never 405); bodies read
only with ``Content-Type`` exactly ``application/json`` or ``text/json``; fixed-window limits
per method and a daily quota per UTC day, refused calls not counted, no ``Retry-After``; the
server's create defaults and PATCH-what-is-given; predictions the server's way: a day of month
and a weekday both restricted match when either does, as in cron
(``api/lib/ExecutionPredictor.php:227``).

A create body that leaves out a key the server reads unguarded (``saveResponses``, ``auth``,
``notification``, ``extendedData``, ...; ``Job.php:207-253``) still creates the job, but first
prints PHP's warnings, as a server with ``display_errors`` on does: the 200 body is warning
lines, then the JSON (:data:`UNGUARDED_READS`).

A server (node) holding some jobs can be taken down: ``sim.down(job_ids)`` / ``sim.up()``, or
``POST /_sim/down {"jobs": [...]}`` / ``POST /_sim/up``. While it is down, ``GET /jobs`` leaves
its jobs out and says ``"someFailed": true`` (``Job.php:418-446``), and their details, history,
PATCH and DELETE answer a bare 404 (``Job.php:537-546``).

In order: what the server makes of a request (bodies, job fields, predictions), the demo
jobs, then the routes, auth, limits, handlers and executions.
"""

from __future__ import annotations

import json
import random
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from providers.clock import Clock
from providers.cronjob_org.schedule import php_timezones
from providers.sim.base import SIM_KEY, Simulator, json_response, real_clock

ARRAYS = ("minutes", "hours", "mdays", "months", "wdays")  # cron field order
RANGES = {"minutes": (0, 59), "hours": (0, 23), "mdays": (1, 31), "months": (1, 12),
          "wdays": (0, 6)}  # fmt: skip
PRIVATE = ("auth", "notification", "extendedData")
EDITABLE = ("enabled", "title", "saveResponses", "url", "requestTimeout", "redirectSuccess",
            "folderId", "requestMethod")  # fmt: skip


@dataclass(frozen=True)
class Printed:
    """An answer with text PHP printed before its JSON (warnings, with display_errors on)."""

    text: str
    data: Any


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


def apply_job(job: dict[str, Any], given: dict[str, Any], timezones: frozenset[str]) -> None:
    """Copy the known keys that are present and not null, as the server does; a timezone only
    if it is in ``timezones`` (PHP's list)."""
    try:
        _copy(job, given, EDITABLE)
        for group in PRIVATE:
            part = given.get(group)
            if isinstance(part, dict):
                _copy(job[group], part, [key for key in job[group] if key != "headers"])
                if isinstance(part.get("headers"), dict) and group == "extendedData":
                    job[group]["headers"] = _headers(part["headers"])
        if isinstance(given.get("schedule"), dict):
            _apply_schedule(job["schedule"], given["schedule"], timezones)
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


def _apply_schedule(
    schedule: dict[str, Any], given: dict[str, Any], timezones: frozenset[str]
) -> None:
    timezone = str(given.get("timezone") or "").strip()
    if timezone in timezones:  # others are ignored: UTC on create, unchanged on PATCH
        schedule["timezone"] = timezone
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


#: What ``Job::updateFromRequest`` reads from a create body without ``isset``, by line of
#: ``api/resources/Job.php``: each one missing is a PHP warning.
UNGUARDED_READS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (207, ("enabled",)), (209, ("saveResponses",)),
    (223, ("auth", "enable")), (224, ("auth", "user")), (225, ("auth", "password")),
    (227, ("notification", "onFailure")), (231, ("notification", "onSuccess")),
    (232, ("notification", "onDisable")), (233, ("notification", "onSslCertExpiry")),
    (239, ("requestMethod",)), (241, ("extendedData", "body")),
    (244, ("extendedData", "headers")), (253, ("schedule", "timezone")),
)  # fmt: skip
JOB_PHP = "/var/www/html/resources/Job.php"  # where the api/ Dockerfile copies it


def php_warnings(given: dict[str, Any]) -> list[str]:
    """The warnings PHP 8 prints reading a create body (display_errors on, text format)."""
    lines = []
    for line, path in UNGUARDED_READS:
        value: Any = given
        for key in path:
            if isinstance(value, dict) and key in value:
                value = value[key]
                continue
            if isinstance(value, dict):
                message = f"Undefined property: stdClass::${key}"
            else:
                message = f'Attempt to read property "{key}" on {_php_type(value)}'
            lines.append(f"\nWarning: {message} in {JOB_PHP} on line {line}\n")
            value = None
    return lines


def _php_type(value: Any) -> str:
    kinds = {type(None): "null", bool: "bool", int: "int", float: "float", str: "string"}
    return kinds.get(type(value), "array")


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
    it = croniter(expr, start)  # day of month OR weekday when both are restricted, as cron
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


SIM_JOB_PASSWORD = "hunter2-sim-password"  # basic-auth password of some seeded jobs
SIM_HEADER_SECRET = "sim-header-secret-7c1f"  # a custom header value of some seeded jobs
SIM_URL_PASSWORD = "sim-url-password"  # user:password inside one seeded job's URL

TEMPLATES = (
    ("Nightly database backup", "https://ops.{d}/hooks/backup"),
    ("Weekly sales report", "https://reports.{d}/api/weekly"),
    ("Status page monitor", "https://www.{d}/"),
    ("Warm product cache", "https://www.{d}/cache/warm"),
    ("Deploy preview cleanup", "https://deploy:" + SIM_URL_PASSWORD + "@hooks.{d}/cleanup"),
    ("Stripe webhook replay", "https://api.{d}/webhooks/stripe/replay"),
    ("Sitemap rebuild", "https://www.{d}/sitemap/rebuild"),
    ("Expire sessions", "https://app.{d}/internal/sessions/expire"),
    ("Sync CRM contacts", "https://crm.{d}/sync?token=sim-query-token"),
    ("Send digest emails", "https://mail.{d}/digest/send"),
    ("Invoice run", "https://billing.{d}/invoices/run"),
    ("Refresh exchange rates", "https://api.{d}/fx/refresh"),
)
DOMAINS = ("acme.io", "example.com", "shop.example.org", "widgets.dev")
EVERY = [-1]
SCHEDULES: tuple[tuple[list[int], ...], ...] = (  # minutes, hours, mdays, months, wdays
    ([0], [3], EVERY, EVERY, EVERY),
    ([30], [7], EVERY, EVERY, [1]),
    (EVERY, EVERY, EVERY, EVERY, EVERY),
    (list(range(0, 60, 15)), EVERY, EVERY, EVERY, EVERY),
    ([0], [2], [1], EVERY, EVERY),
    ([5], list(range(0, 24, 6)), EVERY, EVERY, EVERY),
    ([0], [4], EVERY, EVERY, [0]),
    (list(range(0, 60, 5)), list(range(8, 19)), EVERY, EVERY, [1, 2, 3, 4, 5]),
    ([45], [6, 18], EVERY, EVERY, EVERY),
    ([0], [0], [1], [1, 4, 7, 10], EVERY),
)
TIMEZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/London")


def seeded_job(rng: random.Random, i: int, job_id: int) -> dict[str, Any]:
    """The ``i``-th demo job, with id ``job_id``; job 2 is a monitoring job."""
    title, url = TEMPLATES[i % len(TEMPLATES)]
    lap = i // len(TEMPLATES)
    job = blank_job(job_id)
    schedule = SCHEDULES[rng.randrange(len(SCHEDULES))]
    job.update(
        enabled=i % 7 != 5 and rng.random() > 0.05,
        title=f"{title} {lap + 1}" if lap else title,
        url=url.format(d=DOMAINS[(i + lap) % len(DOMAINS)]),
        type=1 if i == 2 else 0,
        requestMethod=1 if "webhook" in url or "hooks" in url else 0,
        saveResponses=i % 4 == 0,
    )
    job["schedule"] = {
        "timezone": TIMEZONES[rng.randrange(len(TIMEZONES))],
        "expiresAt": 0,
        **dict(zip(ARRAYS, map(list, schedule), strict=True)),
    }
    if i % 5 == 0:
        job["auth"] = {"enable": True, "user": "backup-bot", "password": SIM_JOB_PASSWORD}
    if i % 6 == 3:
        job["extendedData"]["headers"] = {"X-Api-Token": SIM_HEADER_SECRET}
    return job


LIMITS: dict[str, tuple[tuple[int, int], ...]] = {"create": ((1, 1), (5, 60))}
DEFAULT_LIMITS = ((5, 1),)
HISTORY_SIZE = 50
_IDENTIFIER = re.compile(r"[0-9-]+")

Handler = Callable[[dict[str, Any], dict[str, Any]], Any]

FAILURES = {  # JobStatus -> (HTTP status, status text)
    2: (0, "Could not resolve host"), 3: (0, "Connection refused"),
    4: (500, "Internal Server Error"), 5: (0, "Timeout"), 6: (200, "Response data too big"),
    7: (0, "Invalid URL"), 8: (0, "Internal error"), 9: (0, "Unknown error"),
}  # fmt: skip


class CronJobOrgSim(Simulator):
    slug = "cronjob-org"
    api_prefix = ""
    demo_account = "prod"  # its account name in the demo (refs like `prod:…`)

    def __init__(
        self,
        *,
        api_key: str = SIM_KEY,
        clock: Clock = real_clock,
        seed: int = 0,
        jobs: int | None = None,
        daily_quota: int | None = 100,
        rate_limits: bool = True,
        timezones: Iterable[str] | None = None,
    ) -> None:
        self.daily_quota = daily_quota  # None: no quota (demo, benchmarks)
        self.rate_limits = rate_limits
        # PHP's DateTimeZone::listIdentifiers() on the server: tzdata's today; pass an older
        # list to play a server whose PHP predates a rename (Europe/Kyiv came in 2022b).
        self.timezones = frozenset(timezones) if timezones is not None else php_timezones()
        self.jobs: dict[int, dict[str, Any]] = {}
        self.history: dict[int, deque[dict[str, Any]]] = {}
        self.unreachable: set[int] = set()  # jobs on a node that is down
        self.php_warnings = 0  # warnings printed before a JSON body, all told
        self._next_id = 4242
        self._next_log_id = 90_000
        self._windows: dict[tuple[str, int], tuple[int, int]] = {}  # (op, period) -> (slot, n)
        self._memo: dict[tuple[Any, ...], list[int]] = {}
        super().__init__(api_key=api_key, clock=clock, seed=seed, jobs=jobs)

    # -- routes -------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        job = "/jobs/{job_id:int}"
        item = self._endpoint("history_item", self._history_item)
        return [
            Route("/jobs", self._endpoint("list", self._list), methods=["GET"]),
            Route("/jobs", self._endpoint("create", self._create), methods=["PUT"]),
            Route(job, self._endpoint("get", self._get), methods=["GET"]),
            Route(job, self._endpoint("patch", self._patch), methods=["PATCH"]),
            Route(job, self._endpoint("delete", self._delete), methods=["DELETE"]),
            Route(f"{job}/history", self._endpoint("history", self._history), methods=["GET"]),
            Route(f"{job}/history/{{identifier}}", item, methods=["GET"]),
            Route("/{path:path}", _options, methods=["OPTIONS"]),
        ]

    def configure(self, app: Starlette) -> None:
        app.add_exception_handler(404, _bare_404)
        app.add_exception_handler(405, _bare_404)  # no 405: unknown method is an unknown route

    def _endpoint(self, op: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                self._authenticate(request)
                self._admit(op)
                answer = handler(request.path_params, await read_body(request))
            except Refused as refused:
                return Response(status_code=refused.status)
            if isinstance(answer, Printed):  # output before the JSON: still 200, still JSON's type
                body = answer.text.encode() + json_response(answer.data).body
                return Response(body, media_type="application/json")
            return json_response(answer)

        return endpoint

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if header[:7].lower() != "bearer " or header[7:].strip() != self.api_key:
            raise Refused(401)

    def _admit(self, op: str) -> None:
        """Rate limits, then the daily quota; a refused call is not counted (RateLimiter.php)."""
        now = self.now_ts()
        for count, period in LIMITS.get(op, DEFAULT_LIMITS) if self.rate_limits else ():
            self._take(op, count, period, now)
        if self.daily_quota is not None:
            self._take("quota", self.daily_quota, 86400, now)  # per UTC day

    def _take(self, name: str, count: int, period: int, now: int) -> None:
        """Count one call in a fixed window, or refuse it with 429 when the window is full."""
        slot, used = self._windows.get((name, period), (now // period, 0))
        used = used if slot == now // period else 0
        if used >= count:
            raise Refused(429)
        self._windows[(name, period)] = (now // period, used + 1)

    def requests_today(self) -> int:
        """Calls counted against today's quota."""
        slot, used = self._windows.get(("quota", 86400), (0, 0))
        return used if slot == self.now_ts() // 86400 else 0

    # -- handlers -------------------------------------------------------------------------------
    def _list(self, params: dict[str, Any], body: dict[str, Any]) -> Any:
        reachable = [job for job in self.jobs.values() if job["jobId"] not in self.unreachable]
        items = [self._shown(job, details=False) for job in reachable]
        items.sort(key=lambda job: (not job["enabled"], job["lastStatus"], job["url"]))
        return {"jobs": items, "someFailed": bool(self.unreachable)}

    def _get(self, params: dict[str, Any], body: dict[str, Any]) -> Any:
        return {"jobDetails": self._shown(self._job(params), details=True)}

    def _create(self, params: dict[str, Any], body: dict[str, Any]) -> Any:
        given = body.get("job")
        if not isinstance(given, dict) or not str(given.get("url") or "").strip():
            raise Refused(400)
        schedule = given.get("schedule")
        if not isinstance(schedule, dict) or any(
            not isinstance(schedule.get(key), list) for key in ARRAYS
        ):
            raise Refused(500)  # the server copies each array unchecked and fails (§2.5)
        job = blank_job(self._next_id)
        apply_job(job, given, self.timezones)
        warnings = php_warnings(given)
        self.php_warnings += len(warnings)
        created = {"jobId": self._add(job)}
        return Printed("".join(warnings), created) if warnings else created

    def _patch(self, params: dict[str, Any], body: dict[str, Any]) -> Any:
        job = self._job(params)
        given = body.get("job")
        if not isinstance(given, dict):
            raise Refused(400)
        updated = json.loads(json.dumps(job))
        apply_job(updated, given, self.timezones)
        self.jobs[job["jobId"]] = updated
        return {}

    def _delete(self, params: dict[str, Any], body: dict[str, Any]) -> Any:
        job = self._job(params)
        if job["type"] == 1:
            raise Refused(400)  # monitoring jobs belong to a status page
        del self.jobs[job["jobId"]]
        del self.history[job["jobId"]]
        return {}

    def _history(self, params: dict[str, Any], body: dict[str, Any]) -> Any:
        job = self._job(params)
        items = [{**item, "headers": False, "body": False} for item in self.history[job["jobId"]]]
        predictions = self._predict(job["schedule"], 3) if job["enabled"] else []
        return {"history": items, "predictions": predictions}

    def _history_item(self, params: dict[str, Any], body: dict[str, Any]) -> Any:
        identifier = str(params["identifier"])
        parts = identifier.split("-")
        if not _IDENTIFIER.fullmatch(identifier) or len(parts) != 4:
            raise Refused(400)
        job = self._job(params)
        for item in self.history[job["jobId"]]:
            if item["identifier"] == identifier:
                shown = {k: (False if item[k] is None else item[k]) for k in ("headers", "body")}
                return {"jobHistoryDetails": {**item, **shown}}
        raise Refused(404)

    def _job(self, params: dict[str, Any]) -> dict[str, Any]:
        job_id = int(params["job_id"])
        job = self.jobs.get(job_id)
        if job is None or job_id in self.unreachable:  # its node is down: as if it were not
            raise Refused(404)
        return job

    def _shown(self, job: dict[str, Any], *, details: bool) -> dict[str, Any]:
        shown = {k: v for k, v in job.items() if details or k not in PRIVATE}
        upcoming = self._predict(job["schedule"], 1)
        shown["nextExecution"] = upcoming[0] if upcoming else None
        return shown

    def _predict(self, schedule: dict[str, Any], count: int) -> list[int]:
        """The server's predictions, memoised per schedule and minute (big seeds share few)."""
        now = self.now_ts()
        arrays = tuple(tuple(schedule[key]) for key in ARRAYS)
        key = (arrays, schedule["timezone"], now // 60, count)
        if key not in self._memo:
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[key] = predict(arrays, schedule["timezone"], now, count)
        return self._memo[key]

    # -- scenarios ------------------------------------------------------------------------------
    def job_ids(self) -> list[str]:
        return [str(job_id) for job_id in self.jobs]

    def down(self, job_ids: Iterable[str]) -> None:
        """The node holding these jobs goes down (until :meth:`up`)."""
        self.unreachable.update(int(job_id) for job_id in job_ids)

    def up(self) -> None:
        """Every node is back."""
        self.unreachable.clear()

    def controls(self) -> list[BaseRoute]:
        return [
            Route("/_sim/down", self._control_down, methods=["POST"]),
            Route("/_sim/up", self._control_up, methods=["POST"]),
        ]

    async def _control_down(self, request: Request) -> Response:
        self.down(str(job_id) for job_id in (await request.json())["jobs"])
        return self._nodes()

    async def _control_up(self, request: Request) -> Response:
        self.up()
        return self._nodes()

    def _nodes(self) -> Response:
        return json_response({"down": [str(job_id) for job_id in sorted(self.unreachable)]})

    def run(self, job_id: str, ok: bool, *, at: datetime | None = None) -> None:
        when = int((at or self.now()).timestamp())
        self._record(self.jobs[int(job_id)], when, 1 if ok else 4)

    def _add(self, job: dict[str, Any]) -> int:
        self._next_id = max(self._next_id, job["jobId"]) + 1
        self.jobs[job["jobId"]] = job
        self.history[job["jobId"]] = deque(maxlen=HISTORY_SIZE)
        return int(job["jobId"])

    def _record(self, job: dict[str, Any], when: int, status: int) -> None:
        """One execution: a history item and the job's last* fields."""
        http, text = FAILURES[status] if status != 1 else (200, "OK")
        duration = self.rng.randint(80, 900) if status == 1 else self.rng.randint(200, 3000)
        job.update(lastStatus=status, lastExecution=when, lastDuration=duration)
        self._next_log_id += 1
        day = datetime.fromtimestamp(when, UTC)
        saved = job["saveResponses"]
        log_id = self._next_log_id
        self.history[job["jobId"]].appendleft({
            "jobLogId": log_id, "jobId": job["jobId"],
            "identifier": f"{job['jobId']}-{day.day}-{day.month}-{log_id}",
            "date": when, "datePlanned": when - when % 60, "jitter": self.rng.randint(5, 900),
            "url": job["url"], "duration": duration, "status": status, "statusText": text,
            "httpStatus": http,
            "headers": "HTTP/1.1 200 OK\r\nContent-Type: text/plain" if saved else None,
            "body": text if saved else None,
            "stats": {"nameLookup": 900, "connect": 2100, "appConnect": 0, "total": duration},
        })  # fmt: skip

    def seed_jobs(self, count: int) -> None:
        runs = 3 if count <= 200 else 1  # big seeds keep history small
        for i in range(count):
            job = seeded_job(self.rng, i, self._next_id)
            self._add(job)
            if i % 11 != 10:  # a few have never run
                failing = i == 1 or self.rng.random() < 0.09
                when = self.now_ts() - self.rng.randint(60, 3600)
                for n in range(runs, 0, -1):  # oldest first: the last one is the newest
                    status = self.rng.randint(2, 9) if failing and n == 1 else 1
                    self._record(job, when - (n - 1) * 3600, status)


async def _options(request: Request) -> Response:
    return Response(
        status_code=204, headers={"Access-Control-Allow-Methods": "GET, PUT, PATCH, DELETE"}
    )


async def _bare_404(request: Request, exc: Exception) -> Response:
    return Response(status_code=404)


SIMULATOR = CronJobOrgSim  # what providers.sim.suite looks up in this module
