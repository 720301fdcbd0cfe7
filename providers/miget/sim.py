"""A stateful simulator of Miget's REST API: apps, their cron jobs and add-ons.

Faithful to shared/providers.md §1 and §6: bare entities (no envelope), ``{"error": msg}``
errors and ``{"errors": "msg1, msg2"}`` for 422 validation; a random ``-xxxxx`` suffix on every
created name; cron jobs are add-on entities of type ``cronjob`` whose PUT changes only ``label``
and ``command``; new add-ons start ``pending``; a workspace id other than the key's gets 403.
Like the real API, responses carry passwords (``var``, ``connection_details``), so clients can be
tested for never showing them.

In order: request checks and response shapes, the demo workspace, then the state, routes,
auth and handlers.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from json import JSONDecodeError, dumps
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from providers.clock import Clock
from providers.schedule import ScheduleError, validate_cron
from providers.sim.base import SIM_KEY, Simulator, json_response, real_clock

DB_PASSWORD = "sim-miget-db-password"  # every secret the simulator hands out contains this
INTERVAL_TYPES = ("every_10_minutes", "hourly", "daily")
ADDON_VERSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "postgres": ("postgres_version", ("18", "17", "16", "15", "14", "13")),
    "mysql": ("mysql_version", ("8.2", "8.0")),
    "valkey": ("valkey_version", ("7.2", "7")),
}
ADDON_TYPES = (*ADDON_VERSIONS, "storage")
PORTS = {"postgres": 5432, "mysql": 3306, "valkey": 6379}


class Refusal(Exception):
    """A refused request: answered with ``status`` and the JSON ``body``."""

    def __init__(self, status: int, body: dict[str, str]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def not_found() -> Refusal:
    return Refusal(404, {"error": "Not found"})


def ts(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def read_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (JSONDecodeError, UnicodeDecodeError):
        raise Refusal(400, {"error": "The request body is not valid JSON"}) from None
    if not isinstance(body, dict):
        raise Refusal(400, {"error": "The request body must be a JSON object"})
    return body


def _blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def cronjob_errors(body: dict[str, Any]) -> list[str]:
    errors = ["Name can't be blank"] if _blank(body.get("name")) else []
    kind = body.get("schedule_type") or ("interval" if body.get("interval_type") else "cron")
    if kind == "cron":
        try:
            validate_cron(str(body.get("cron") or ""))
        except ScheduleError:
            errors.append("Cron can't be blank" if _blank(body.get("cron")) else "Cron is invalid")
    elif kind == "interval":
        interval = body.get("interval_type")
        if interval not in INTERVAL_TYPES:
            errors.append("Interval type is not included in the list")
        elif interval == "daily" and _blank(body.get("daily_time")):
            errors.append("Daily time can't be blank")
    else:
        errors.append("Schedule type is not included in the list")
    return errors


def check_addon(body: dict[str, Any]) -> None:
    """Grape-style 400s for bad parameters, then Rails-style 422s for missing attributes."""
    kind = body.get("type")
    if kind not in ADDON_TYPES:
        raise Refusal(400, {"error": "type does not have a valid value"})
    if _blank(body.get("name")):
        raise Refusal(400, {"error": "name is missing"})
    errors = ["Label can't be blank"] if _blank(body.get("label")) else []
    if kind in ADDON_VERSIONS:
        field, allowed = ADDON_VERSIONS[kind]
        if _blank(body.get(field)):
            errors.append(f"{field.replace('_', ' ').capitalize()} can't be blank")
        elif body[field] not in allowed:
            raise Refusal(400, {"error": f"Unsupported {kind} version: {body[field]}"})
    elif body.get("service_id") is None:
        errors += [
            f"{f.replace('_', ' ').capitalize()} can't be blank"
            for f in ("mount_point", "storage_access")
            if _blank(body.get(f))
        ]
    for size in ("ram_size", "disk_size", "cpu_size"):
        if not isinstance(body.get(size, 0), int | float):
            raise Refusal(400, {"error": f"{size} is invalid"})
    if body.get("storage_access") not in (None, "RWO", "RWX"):
        raise Refusal(400, {"error": "storage_access does not have a valid value"})
    if body.get("public_access") not in (None, "0", "1"):
        raise Refusal(400, {"error": "public_access does not have a valid value"})
    if errors:
        raise Refusal(422, {"errors": ", ".join(errors)})


# -- rendering: the secrets the real API sends along ----------------------------------------
def cronjob_out(app: str, job: dict[str, Any]) -> dict[str, Any]:
    host = f"postgres-{app[:8]}.internal"
    return {**job, "var": {"DATABASE_URL": f"postgres://app:{DB_PASSWORD}@{host}:5432/app"}}


def addon_out(addon: dict[str, Any]) -> dict[str, Any]:
    kind, name = addon["type"], addon["name"]
    if kind not in PORTS:
        return {**addon, "var": {}}
    scheme = "redis" if kind == "valkey" else kind
    url = f"{scheme}://u_{name}:{DB_PASSWORD}@{name}.internal:{PORTS[kind]}/{name}"
    alias = "REDIS_URL" if kind == "valkey" else "DATABASE_URL"
    env = name.upper().replace("-", "_")
    out = {**addon, "var": {f"{env}_URL": url, alias: url}}
    out["connection_details"] = connection_details(name, PORTS[kind], url)
    return out


def connection_details(name: str, port: int, url: str) -> dict[str, Any]:
    """The generic database block of Miget's schema (present even on a cron job's create)."""
    internal = {"hostname": f"{name}.internal", "database": name, "port": port}
    internal |= {"username": f"u_{name}", "password": DB_PASSWORD, "connection_url": url}
    external_url = url.replace(".internal", ".external")
    psql = f"PGPASSWORD={DB_PASSWORD} psql -h {name}.external -U u_{name} {name}"
    return {
        "internal": internal,
        "external": {"external_connection_url": external_url, "psql_command": psql},
    }


FAILING = ("failed", "failing", "crashloopbackoff", "problem")
APP_NAMES = (("shop-api", "Shop API"), ("billing-worker", "Billing worker"), ("www", "Website"))
# (name, label, command, schedule settings)
CRONJOBS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("db-cleanup", "DB cleanup", "rake db:cleanup", {"cron": "0 3 * * *"}),
    ("reports", "Weekday reports", "python manage.py send_reports", {"cron": "30 6 * * 1-5"}),
    ("sitemap", "Sitemap", "npm run sitemap", {"interval_type": "daily", "daily_time": "02:00"}),
    ("cache-warm", "Cache warm-up", "bin/warm-cache", {"interval_type": "every_10_minutes"}),
    ("invoices", "Monthly invoices", "rake billing:invoices", {"cron": "0 0 1 * *"}),
    ("sessions", "Prune sessions", "python -m app.prune_sessions", {"interval_type": "hourly"}),
    ("export", "Backup export", "./scripts/export.sh", {"cron": "15 2 * * *"}),
    ("reindex", "Search reindex", "bundle exec rake search:reindex", {"cron": "*/30 * * * *"}),
    ("digest", "Digest", "node jobs/digest.js", {"interval_type": "daily", "daily_time": "08:00"}),
    ("queue-metrics", "Queue metrics", "python jobs/queue_metrics.py", {"cron": "*/5 * * * *"}),
)


def seed_app(sim: MigetSim, index: int, now: datetime) -> str:
    """Add the ``index``-th app and its healthy add-ons; return its uuid."""
    name, label = APP_NAMES[index] if index < len(APP_NAMES) else (f"app{index}", f"App {index}")
    app = sim.new_uuid()
    created = ts(now - timedelta(days=90 + index))
    sim.apps[app] = {"uuid": app, "name": sim.suffixed(name), "label": label}
    sim.apps[app] |= {"state": "running", "created_at": created, "updated_at": created}
    sim.cronjobs[app], sim.addons[app] = {}, {}
    kinds = [("postgres", "16"), ("valkey", "7.2")] + ([("storage", "")] if index == 0 else [])
    for kind, version in kinds:
        sim.add_addon(app, _addon_body(kind, version), now, seeded=True)
    return app


def _addon_body(kind: str, version: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "name": kind, "label": kind.capitalize()}
    if kind in ADDON_VERSIONS:
        body[ADDON_VERSIONS[kind][0]] = version
    else:
        body |= {"mount_point": "/data", "storage_access": "RWO", "disk_size": 5}
    return body


def seed_cronjob(
    sim: MigetSim, app: str, template: tuple[str, str, str, dict[str, str]], now: datetime
) -> None:
    """Add a cron job from ``template`` to ``app``, with a log of its last run unless pending."""
    name, label, command, schedule = template
    roll = sim.rng.random()
    state = sim.rng.choice(FAILING) if roll < 0.1 else "pending" if roll < 0.12 else "running"
    kind = "interval" if "interval_type" in schedule else "cron"
    settings = {"schedule_type": kind, **schedule, "command": command}
    if daily := schedule.get("daily_time"):
        hour, minute = daily.split(":")
        settings |= {"hour": str(int(hour)), "minute": str(int(minute))}
    created = now - timedelta(days=sim.rng.randint(1, 60))
    updated = now - timedelta(minutes=sim.rng.randint(1, 600))
    job = sim.new_cronjob(app, name, label, settings, state, created, updated)
    if state != "pending":
        sim.log_run(f"{app}/{job['uuid']}", command, state == "running", updated)


DEFAULT_WORKSPACE = "3f6c2a8e-5b1d-4c7f-9e2a-8d4b6f1c0a57"
MIB = 2**20
FORBIDDEN = "The API token belongs to another workspace than X-Workspace-Id"

Handler = Callable[[Request], Awaitable[Response]]


class MigetSim(Simulator):
    slug = "miget"
    api_prefix = "/api/v1"
    demo_account = "apps"  # its account name in the demo (refs like `apps:…`)

    def __init__(
        self,
        *,
        workspace_id: str = DEFAULT_WORKSPACE,
        apps: int = 3,
        api_key: str = SIM_KEY,
        clock: Clock = real_clock,
        seed: int = 0,
        jobs: int | None = None,
    ) -> None:
        self.workspace_id = workspace_id
        self.app_count = apps
        self.apps: dict[str, dict[str, Any]] = {}
        self.cronjobs: dict[str, dict[str, dict[str, Any]]] = {}  # app -> uuid -> entity
        self.addons: dict[str, dict[str, dict[str, Any]]] = {}
        self.logs: dict[str, str] = {}  # "APP/CRONJOB" -> the last run's log
        super().__init__(api_key=api_key, clock=clock, seed=seed, jobs=jobs)

    # -- scenario API -----------------------------------------------------------------------
    def seed_jobs(self, count: int) -> None:
        for table in (self.apps, self.cronjobs, self.addons, self.logs):
            table.clear()
        now = self.now()
        apps = [seed_app(self, i, now) for i in range(self.app_count)]
        for i in range(count if apps else 0):
            seed_cronjob(self, apps[i % len(apps)], CRONJOBS[i % len(CRONJOBS)], now)

    def job_ids(self) -> list[str]:
        return [f"{app}/{cid}" for app, jobs in self.cronjobs.items() for cid in jobs]

    def run(self, job_id: str, ok: bool, *, at: datetime | None = None) -> None:
        app, _, cid = job_id.partition("/")
        job = self.cronjobs[app][cid]
        when = at or self.now()
        job["state"] = "running" if ok else "failed"
        job["updated_at"] = ts(when)
        self.log_run(job_id, job["settings"].get("command", ""), ok, when)

    def account_options(self) -> dict[str, Any]:
        return {"workspace_id": self.workspace_id}

    def fault_body(self, status: int) -> tuple[bytes, str]:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return dumps({"error": phrase}).encode(), "application/json"

    def configure(self, app: Starlette) -> None:
        async def http_error(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, HTTPException)
            return json_response({"error": exc.detail}, exc.status_code)

        app.add_exception_handler(HTTPException, http_error)

    # -- state: what seeding and the API's create calls share -------------------------------
    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffixed(self, name: str) -> str:
        return f"{name}-{''.join(self.rng.choices(string.ascii_lowercase, k=5))}"

    def new_cronjob(
        self,
        app: str,
        name: str,
        label: str,
        settings: dict[str, str],
        state: str,
        created: datetime,
        updated: datetime,
    ) -> dict[str, Any]:
        cid = self.new_uuid()
        job: dict[str, Any] = {
            "uuid": cid,
            "name": self.suffixed(name),
            "type": "cronjob",
            "label": label,
            "state": state,
            "quota": {"ram_size": 256 * MIB, "cpu_size": 0.25},
            "settings": settings,
            "created_at": ts(created),
            "updated_at": ts(updated),
        }
        self.cronjobs[app][cid] = job
        return job

    def log_run(self, job_id: str, command: str, ok: bool, when: datetime) -> None:
        end = "Job completed" if ok else "Error: command exited with status 1"
        self.logs[job_id] = f"{ts(when)} $ {command}\n{ts(when)} {end}"

    def add_addon(
        self, app: str, body: dict[str, Any], now: datetime, *, seeded: bool = False
    ) -> dict[str, Any]:
        kind = str(body["type"])
        state = ("bound" if kind == "storage" else "healthy") if seeded else "pending"
        settings = {k: body[k] for k in ("mount_point", "storage_access") if body.get(k)}
        if kind in ADDON_VERSIONS:
            settings["version"] = body[ADDON_VERSIONS[kind][0]]
        aid = self.new_uuid()
        addon: dict[str, Any] = {
            "uuid": aid,
            "name": self.suffixed(str(body["name"])),
            "type": kind,
            "label": str(body["label"]),
            "state": state,
            "quota": {
                "ram_size": int(float(body.get("ram_size") or 256) * MIB),
                "cpu_size": float(body.get("cpu_size") or 0.25),
            },
            "settings": settings,
            "created_at": ts(now),
            "updated_at": ts(now),
        }
        self.addons[app][aid] = addon
        return addon

    # -- routes -----------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        api = self._api
        return [
            Route("/apps", api(self._list_apps), methods=["GET"]),
            Route("/apps/{app}", api(self._get_app), methods=["GET"]),
            Route("/apps/{app}/cronjobs", api(self._list_cronjobs), methods=["GET"]),
            Route("/apps/{app}/cronjobs", api(self._create_cronjob), methods=["POST"]),
            Route("/apps/{app}/cronjobs/{id}", api(self._get_cronjob), methods=["GET"]),
            Route("/apps/{app}/cronjobs/{id}", api(self._update_cronjob), methods=["PUT"]),
            Route("/apps/{app}/cronjobs/{id}", api(self._delete_cronjob), methods=["DELETE"]),
            Route("/apps/{app}/cronjobs/{id}/stream_logs", api(self._logs), methods=["GET"]),
            Route("/apps/{app}/addons", api(self._list_addons), methods=["GET"]),
            Route("/apps/{app}/addons", api(self._create_addon), methods=["POST"]),
            Route("/apps/{app}/addons/{id}", api(self._get_addon), methods=["GET"]),
            Route("/apps/{app}/addons/{id}", api(self._delete_addon), methods=["DELETE"]),
        ]

    def _api(self, handler: Handler) -> Handler:
        """Bearer auth and the optional workspace header, then the handler's refusals."""

        async def endpoint(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return json_response({"error": "Unauthorized"}, 401)
            workspace = request.headers.get("x-workspace-id")
            if workspace is not None and workspace != self.workspace_id:
                return json_response({"error": FORBIDDEN}, 403)
            try:
                return await handler(request)
            except Refusal as refusal:
                return json_response(refusal.body, refusal.status)

        return endpoint

    def _app_of(self, request: Request) -> str:
        app = str(request.path_params["app"])
        if app not in self.apps:
            raise not_found()
        return app

    def _cronjob(self, request: Request) -> tuple[str, dict[str, Any]]:
        app = self._app_of(request)
        job = self.cronjobs[app].get(str(request.path_params["id"]))
        if job is None:
            raise not_found()
        return app, job

    async def _list_apps(self, request: Request) -> Response:
        return json_response(list(self.apps.values()))

    async def _get_app(self, request: Request) -> Response:
        app = self._app_of(request)
        addons = [addon_out(a) for a in self.addons[app].values()]
        cronjobs = [cronjob_out(app, j) for j in self.cronjobs[app].values()]
        return json_response({**self.apps[app], "addons": addons, "cronjobs": cronjobs})

    async def _list_cronjobs(self, request: Request) -> Response:
        app = self._app_of(request)
        return json_response([cronjob_out(app, j) for j in self.cronjobs[app].values()])

    async def _get_cronjob(self, request: Request) -> Response:
        return json_response(cronjob_out(*self._cronjob(request)))

    async def _create_cronjob(self, request: Request) -> Response:
        app = self._app_of(request)
        body = await read_body(request)
        if errors := cronjob_errors(body):
            raise Refusal(422, {"errors": ", ".join(errors)})
        keys = ("schedule_type", "cron", "interval_type", "daily_time", "minute", "hour", "command")
        settings = {k: str(body[k]) for k in keys if body.get(k) not in (None, "")}
        name = str(body["name"]).strip()
        label = str(body.get("label") or name)
        now = self.now()
        job = self.new_cronjob(app, name, label, settings, "pending", now, now)
        out = cronjob_out(app, job)
        url = f"postgres://u_db:{DB_PASSWORD}@cronjob-db.internal:5432/db"
        out["connection_details"] = connection_details("db", 5432, url)
        return json_response(out, 201)

    async def _update_cronjob(self, request: Request) -> Response:
        app, job = self._cronjob(request)
        body = await read_body(request)
        # Only label and command change; schedule fields are ignored, as by the real API.
        if isinstance(body.get("label"), str):
            job["label"] = body["label"]
        if isinstance(body.get("command"), str):
            job["settings"]["command"] = body["command"]
        job["updated_at"] = ts(self.now())
        return json_response(cronjob_out(app, job))

    async def _delete_cronjob(self, request: Request) -> Response:
        app, job = self._cronjob(request)
        del self.cronjobs[app][job["uuid"]]
        self.logs.pop(f"{app}/{job['uuid']}", None)
        return Response(status_code=204)

    async def _logs(self, request: Request) -> Response:
        app, job = self._cronjob(request)
        text = self.logs.get(f"{app}/{job['uuid']}")
        if text is None:
            raise Refusal(404, {"error": "No logs: the cron job has not run yet"})
        events = "".join(f"data: {line}\n\n" for line in text.splitlines())
        return Response(events, media_type="text/event-stream")

    async def _list_addons(self, request: Request) -> Response:
        app = self._app_of(request)
        return json_response([addon_out(a) for a in self.addons[app].values()])

    async def _get_addon(self, request: Request) -> Response:
        addon = self.addons[self._app_of(request)].get(str(request.path_params["id"]))
        if addon is None:
            raise not_found()
        return json_response(addon_out(addon))

    async def _create_addon(self, request: Request) -> Response:
        app = self._app_of(request)
        body = await read_body(request)
        check_addon(body)
        return json_response(addon_out(self.add_addon(app, body, self.now())), 201)

    async def _delete_addon(self, request: Request) -> Response:
        app = self._app_of(request)
        if self.addons[app].pop(str(request.path_params["id"]), None) is None:
            raise not_found()
        return Response(status_code=204)


SIMULATOR = MigetSim  # what providers.sim.suite looks up in this module
