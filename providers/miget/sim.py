"""A stateful simulator of Miget's REST API: apps, their cron jobs and add-ons.

Faithful to shared/providers.md §1 and §6: bare entities (no envelope), ``{"error": msg}``
errors and ``{"errors": "msg1, msg2"}`` for 422 validation; a random ``-xxxxx`` suffix on every
created name; cron jobs are add-on entities of type ``cronjob`` whose PUT changes only ``label``
and ``command``; new add-ons start ``pending``; a workspace id other than the key's gets 403.
Like the real API, responses carry passwords (``var``, ``connection_details``), so clients can be
tested for never showing them.

Here: the state, routes, auth and handlers. Request checks and response shapes are in
:mod:`providers.sim.miget_wire`; the demo workspace is in :mod:`providers.sim.miget_seed`.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from http import HTTPStatus
from json import dumps
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from providers.clock import Clock
from providers.sim.base import SIM_KEY, Simulator, json_response, real_clock
from providers.sim.miget_seed import CRONJOBS, seed_app, seed_cronjob
from providers.sim.miget_wire import (
    ADDON_VERSIONS,
    DB_PASSWORD,
    Refusal,
    addon_out,
    check_addon,
    connection_details,
    cronjob_errors,
    cronjob_out,
    not_found,
    read_body,
    ts,
)

DEFAULT_WORKSPACE = "3f6c2a8e-5b1d-4c7f-9e2a-8d4b6f1c0a57"
MIB = 2**20
FORBIDDEN = "The API token belongs to another workspace than X-Workspace-Id"

Handler = Callable[[Request], Awaitable[Response]]


class MigetSim(Simulator):
    slug = "miget"
    api_prefix = "/api/v1"

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
