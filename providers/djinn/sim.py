"""Djinn CI simulator: crons and the builds they submit (providers.md §4 and §6).

Faithful to the server's quirks: a missing or wrong token is 404 ``{"message": "Not Found"}``;
validation errors are 400 ``{"field": [...]}``; an unknown schedule or malformed JSON is 500;
``Link`` always carries both ``prev`` and ``next`` as relative URLs, clamped at the ends; crons
list in name order, builds newest first, and ``status=passed`` also matches
``passed_with_failures``. ``run_status`` adds a build with any status for scenarios. PATCH
fills blank fields from the cron and takes ``daily`` as blank (it is Go's zero value), so a
cron cannot be switched to daily; it never recomputes ``next_run``.

Tokens carry scopes (``DjinnSim(tokens={"tok": {"cron:read"}})``; the simulator's own key has
them all): a call short of one is answered 404 like a missing cron (``server/server.go:506-511``,
``cron/http/api.go:47-50``): ``cron:read`` to list and get, ``cron:write`` to create and update,
``cron:delete`` to delete, and ``build:read`` as well for a cron's builds.

Manifests are stored as the server re-encodes them, and one Go's YAML cannot read is a 500
with a Go error chain (:mod:`providers.djinn.gomanifest`).

JSON or HTML (``server/server.go:329-340, 487-495``): the server answers JSON when ``Accept`` or
``Content-Type`` says JSON or the request names its configured URL (``api_url``; unset, every
request does). Otherwise a bad token, or a cron that is not there, is ``303 -> /login`` and a
missing scope an HTML 404 page.

In order: the records, their JSON, paging, request and error bodies; then the state, the
seeded demo crons and the routes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode, urlsplit

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from providers.clock import Clock
from providers.djinn.gomanifest import GoYamlError, decode, go_chain, server_problem, stored
from providers.djinn.wire import PERIODS
from providers.sim.base import SIM_KEY, Simulator, json_response, real_clock

T = TypeVar("T")
SCOPES = frozenset({"cron:read", "cron:write", "cron:delete", "build:read"})
NOT_FOUND_PAGE = "<!DOCTYPE html>\n<title>Not Found</title>\n<h1>404</h1><p>Not Found</p>\n"
PAGE_SIZE = 25
USERNAME = "ops"
BUILD_PARTS = ("objects", "variables", "jobs", "artifacts", "tags")


@dataclass
class SimCron:
    id: int
    name: str
    schedule: str
    manifest: str
    created_at: datetime
    next_run: datetime
    prev_run: datetime | None = None
    namespace: str | None = None


@dataclass
class SimBuild:
    id: int
    status: str
    cron: SimCron  # as it was when the build was submitted
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def namespace_json(ids: dict[str, int], path: str | None, api: str) -> dict[str, Any] | None:
    """The Namespace object; a path gets the next number in ``ids`` the first time it shows."""
    if not path:
        return None
    number = ids.setdefault(path, len(ids) + 1)
    return {
        "id": number,
        "user_id": 1,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "visibility": "private",
        "url": f"{api}/n/{USERNAME}/{path}",
    }


def cron_json(cron: SimCron, ids: dict[str, int], api: str) -> dict[str, Any]:
    namespace = namespace_json(ids, cron.namespace, api)
    body: dict[str, Any] = {
        "id": cron.id,
        "author_id": 1,
        "user_id": 1,
        "namespace_id": namespace["id"] if namespace else None,
        "name": cron.name,
        "schedule": cron.schedule,
        "manifest": cron.manifest,
        "prev_run": _ts(cron.prev_run),
        "next_run": _ts(cron.next_run),
        "created_at": _ts(cron.created_at),
        "url": f"{api}/cron/{cron.id}",
        "author": _user(),
        "user": _user(),
    }
    if namespace:
        body["namespace"] = namespace
    return body


def build_json(build: SimBuild, ids: dict[str, int], api: str) -> dict[str, Any]:
    cron = build.cron
    namespace = namespace_json(ids, cron.namespace, api)
    url = f"{api}/b/{USERNAME}/{build.id}"  # one user: the per-user number follows the id
    user = _user()
    return {
        "id": build.id,
        "user_id": 1,
        "namespace_id": namespace["id"] if namespace else None,
        "number": build.id,
        "manifest": cron.manifest,
        "status": build.status,
        "output": None,
        "tags": [_tag(cron)],
        "pinned": False,
        "created_at": _ts(build.created_at),
        "started_at": _ts(build.started_at),
        "finished_at": _ts(build.finished_at),
        "url": url,
        **{f"{part}_url": f"{url}/{part}" for part in BUILD_PARTS},
        "trigger": {
            "type": "schedule",
            "comment": f"{cron.name}: Scheduled build",
            "data": {"email": user["email"], "username": USERNAME},
        },
        "user": user,
        "namespace": namespace,
    }


def paged(request: Request, items: Sequence[T], render: Callable[[T], dict[str, Any]]) -> Response:
    """One page of 25, with Djinn's ``Link``: relative, both rels always, clamped at the ends."""
    raw = request.query_params.get("page", "1")
    page = max(1, int(raw)) if raw.isdigit() else 1
    last = max(1, -(-len(items) // PAGE_SIZE))
    chunk = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    others = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]

    def href(number: int) -> str:
        return f"{request.url.path}?{urlencode([*others, ('page', str(number))])}"

    prev, following = href(min(max(1, page - 1), last)), href(min(page + 1, last))
    response = json_response([render(item) for item in chunk])
    response.headers["Link"] = f'<{prev}>; rel="prev", <{following}>; rel="next"'
    return response


async def json_body(request: Request) -> dict[str, Any] | Response:
    """The JSON body; Djinn answers 500 to malformed JSON and unknown schedules."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return error("Failed to decode request body", 500)
    if not isinstance(body, dict) or any(
        not isinstance(body.get(key) or "", str) for key in ("name", "schedule", "manifest")
    ):
        return error("Failed to decode request body", 500)
    if body.get("schedule") and body["schedule"] not in PERIODS:
        return error(f"unknown schedule: {body['schedule']}", 500)
    return body


def matches(build: SimBuild, request: Request) -> bool:
    """Djinn's build filters; ``status=passed`` also matches ``passed_with_failures``."""
    status, tag = request.query_params.get("status"), request.query_params.get("tag")
    statuses = {status, "passed_with_failures"} if status == "passed" else {status}
    search = request.query_params.get("search", "").lower()
    return (
        (not status or build.status in statuses)
        and (not tag or tag == _tag(build.cron))
        and search in _tag(build.cron).lower()
    )


def _tag(cron: SimCron) -> str:
    return f"cron:{cron.schedule} {cron.name}"


def error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    response = json_response({"message": message}, status)
    response.headers.update(headers or {})
    return response


def api_root(request: Request) -> str:
    """The API's root URL, including the prefix the simulator is mounted under."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{root}"


def _ts(when: datetime | None) -> str | None:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def _user() -> dict[str, Any]:
    created = "2020-01-02T15:04:05Z"
    return {"id": 1, "email": "ops@example.com", "username": USERNAME, "created_at": created}


def namespace_of(manifest: str) -> str | None:
    """The manifest's ``namespace:`` key, where newer Djinn takes a cron's namespace from."""
    try:
        doc = yaml.safe_load(manifest)
    except yaml.YAMLError:
        return None
    namespace = doc.get("namespace") if isinstance(doc, dict) else None
    return namespace if isinstance(namespace, str) and namespace else None


FAILED = ("failed", "killed", "timed_out")
UNFINISHED = ("queued", "running")
OLDER, OLDER_WEIGHTS = ("passed", "passed_with_failures", *FAILED), (70, 10, 12, 4, 4)
QUEUED_FOR = timedelta(seconds=2)
PERIOD_DAYS = {"daily": 1, "weekly": 7, "monthly": 30}
PROJECTS = ("api", "web", "billing", "search", "mobile", "infra", "docs", "etl", "ledger")
TASKS = (
    *(("daily", t) for t in ("nightly-tests", "integration-suite", "fuzz", "db-migration-check")),
    *(("weekly", t) for t in ("weekly-image-rebuild", "dependency-audit", "security-scan")),
    *(("monthly", t) for t in ("base-image-refresh", "license-scan")),
)
DRIVERS = (
    "driver:\n  type: docker\n  image: golang:1.21\n  workspace: /go",
    "driver:\n  type: qemu\n  image: debian/oldstable",
    "driver:\n  type: qemu\n  image: centos/7",
    "driver:\n  type: os",
)


class DjinnSim(Simulator):
    slug = "djinn"
    api_prefix = ""
    demo_account = "ci"  # its account name in the demo (refs like `ci:…`)

    def __init__(
        self,
        *,
        api_key: str = SIM_KEY,
        clock: Clock = real_clock,
        seed: int = 0,
        jobs: int | None = None,
        tokens: Mapping[str, Iterable[str]] | None = None,
        api_url: str | None = None,
    ) -> None:
        self.tokens = {api_key: SCOPES, **{t: frozenset(s) for t, s in (tokens or {}).items()}}
        self.api_url = api_url  # DJINN_API_SERVER; None: whatever host the request names
        self.crons: dict[int, SimCron] = {}
        self.builds: dict[int, list[SimBuild]] = {}  # per cron, oldest first
        self._last_cron = self._last_build = 0
        self._namespace_ids: dict[str, int] = {}
        self._by_name: list[SimCron] | None = None
        super().__init__(api_key=api_key, clock=clock, seed=seed, jobs=jobs)

    # -- scenario controls ---------------------------------------------------------------
    def job_ids(self) -> list[str]:
        return [str(cron_id) for cron_id in self.crons]

    def run(self, job_id: str, ok: bool, *, at: datetime | None = None) -> None:
        self.run_status(job_id, "passed" if ok else "failed", at=at)

    def run_status(self, job_id: str, status: str, *, at: datetime | None = None) -> SimBuild:
        """A scheduled build with any Djinn status, done (or started, or queued) at ``at``."""
        cron = self.crons[int(job_id)]
        when = (at or self.now()).astimezone(UTC)
        took = timedelta(seconds=self.rng.randint(40, 900))
        created = when - QUEUED_FOR - (took if status not in UNFINISHED else timedelta())
        build = self._add_build(cron, status, created, took)
        cron.prev_run = created
        cron.next_run = _next_run(cron.schedule, when)
        return build

    def seed_jobs(self, count: int) -> None:
        now = self.now().astimezone(UTC)
        builds = (3, 6) if count <= 500 else (1, 2)
        names, uses = {cron.name for cron in self.crons.values()}, Counter[str]()
        failing = set(self.rng.sample(range(count), round(count / 10))) if count else set()
        for index in range(count):
            project, (schedule, task) = self.rng.choice(PROJECTS), self.rng.choice(TASKS)
            name = base = f"{project}-{task}"
            while name in names:
                uses[base] += 1
                name = f"{base}-{uses[base] + 1}"
            names.add(name)
            namespace = project if self.rng.random() < 0.3 else None
            manifest = stored(_manifest(self.rng.choice(DRIVERS), namespace))
            cron = self._new_cron(name, schedule, manifest, namespace)
            cron.created_at = now - timedelta(days=self.rng.randint(40, 400))
            self._seed_builds(cron, now, self.rng.randint(*builds), index in failing)

    def _seed_builds(self, cron: SimCron, now: datetime, count: int, failing: bool) -> None:
        """The cron's last ``count`` runs, on the days the server's schedule chain gives."""
        days = PERIOD_DAYS[cron.schedule] * (count + 1) + self.rng.randint(0, 6)
        fired, at = [], _next_run(cron.schedule, now - timedelta(days=days))
        while at <= now:
            fired.append(at)
            at = _next_run(cron.schedule, at)
        latest = self.rng.choice(FAILED) if failing else "passed"
        runs = fired[-count:]
        for number, when in enumerate(runs, 1):  # oldest first: build ids grow with time
            last = number == len(runs)
            status = latest if last else self.rng.choices(OLDER, OLDER_WEIGHTS)[0]
            created = when + timedelta(seconds=self.rng.randint(1, 30))
            took = timedelta(seconds=self.rng.randint(40, 1800))
            if created + QUEUED_FOR + took > now:
                status = "running"
            self._add_build(cron, status, created, took)
        cron.prev_run, cron.next_run = fired[-1], at

    def _new_cron(self, name: str, schedule: str, manifest: str, namespace: str | None) -> SimCron:
        now = self.now().astimezone(UTC)
        self._last_cron += 1
        cron = SimCron(self._last_cron, name, schedule, manifest, now, _next_run(schedule, now))
        cron.namespace = namespace
        self.crons[cron.id] = cron
        self.builds[cron.id] = []
        self._by_name = None
        return cron

    def _add_build(
        self, cron: SimCron, status: str, created: datetime, took: timedelta
    ) -> SimBuild:
        self._last_build += 1
        started = None if status == "queued" else created + QUEUED_FOR
        finished = started + took if started and status not in UNFINISHED else None
        build = SimBuild(self._last_build, status, replace(cron), created, started, finished)
        self.builds[cron.id].append(build)
        return build

    # -- the API -------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [
            Route("/cron", self._crons, methods=["GET", "POST"]),
            Route("/cron/{cron:int}", self._cron, methods=["GET", "PATCH", "DELETE"]),
            Route("/cron/{cron:int}/builds", self._builds, methods=["GET"]),
        ]

    def configure(self, app: Starlette) -> None:
        async def status_only(request: Request, exc: Exception) -> Response:
            status = int(getattr(exc, "status_code", 500))
            headers = getattr(exc, "headers", None)
            return error(HTTPStatus(status).phrase, status, headers)

        app.add_exception_handler(404, status_only)
        app.add_exception_handler(405, status_only)

    def fault_body(self, status: int) -> tuple[bytes, str]:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return json.dumps({"message": phrase}).encode(), "application/json"

    async def _crons(self, request: Request) -> Response:
        store = request.method == "POST"
        refused = self._refusal(request, {"cron:write"} if store else {"cron:read"})
        if refused is not None:
            return refused
        if store:
            return await self._store(request)
        crons = self._sorted()
        search = request.query_params.get("search", "").lower()
        if search:
            crons = [cron for cron in crons if search in cron.name.lower()]
        api = self._api(request)
        return paged(request, crons, lambda cron: cron_json(cron, self._namespace_ids, api))

    async def _cron(self, request: Request) -> Response:
        cron = self.crons.get(request.path_params["cron"])
        needs = {"PATCH": "cron:write", "DELETE": "cron:delete"}.get(request.method, "cron:read")
        refused = self._refusal(request, {needs}, cron)
        if refused is not None:
            return refused
        assert cron is not None
        if request.method == "PATCH":
            return await self._update(request, cron)
        if request.method == "DELETE":
            del self.crons[cron.id], self.builds[cron.id]
            self._by_name = None
            return Response(status_code=204)
        return json_response(cron_json(cron, self._namespace_ids, self._api(request)))

    async def _builds(self, request: Request) -> Response:
        cron = self.crons.get(request.path_params["cron"])
        refused = self._refusal(request, {"cron:read", "build:read"}, cron)
        if refused is not None:
            return refused
        assert cron is not None
        builds = [b for b in reversed(self.builds[cron.id]) if matches(b, request)]
        api = self._api(request)
        return paged(request, builds, lambda build: build_json(build, self._namespace_ids, api))

    async def _store(self, request: Request) -> Response:
        body = await json_body(request)
        if isinstance(body, Response):
            return body
        manifest = self._read_manifest(body.get("manifest") or "", "Store")
        if isinstance(manifest, Response):
            return manifest
        name = body.get("name") or ""
        problems = self._problems(name, manifest, None)
        if problems:
            return json_response(problems, 400)
        schedule = body.get("schedule") or "daily"
        cron = self._new_cron(name, schedule, manifest, namespace_of(manifest))
        return json_response(cron_json(cron, self._namespace_ids, self._api(request)), 201)

    async def _update(self, request: Request, cron: SimCron) -> Response:
        body = await json_body(request)
        if isinstance(body, Response):
            return body
        manifest = self._read_manifest(body.get("manifest") or "", "Update")
        if isinstance(manifest, Response):
            return manifest
        name = body.get("name") or cron.name
        manifest = manifest or cron.manifest  # blank (or nothing Djinn knows): kept
        problems = self._problems(name, manifest, cron)
        if problems:
            return json_response(problems, 400)
        # daily is the zero value, so it reads as "not given" (cron/http/form.go:47-49), and
        # next_run stays as it was whatever the schedule (cron/http/handler.go:123-127)
        schedule = body.get("schedule") or "daily"
        if schedule == "daily":
            schedule = cron.schedule
        cron.name, cron.schedule, cron.manifest = name, schedule, manifest
        cron.namespace = namespace_of(manifest)
        self._by_name = None
        return json_response(cron_json(cron, self._namespace_ids, self._api(request)))

    def _problems(self, name: str, manifest: str, current: SimCron | None) -> dict[str, list[str]]:
        problems: dict[str, list[str]] = {}
        if not name:
            problems["name"] = ["Name is required"]
        elif any(c.name == name and c is not current for c in self.crons.values()):
            problems["name"] = ["Name already exists"]
        refusal = server_problem(decode(manifest)) if manifest else "Manifest is required"
        if refusal:
            problems["manifest"] = [refusal]
        return problems

    def _read_manifest(self, text: str, handler: str) -> str | Response:
        """The manifest as the server stores it, or the 500 it answers when Go's YAML cannot
        read it (decoded before any validation, so even a blank name gets this 500)."""
        try:
            return stored(text) if text else ""
        except GoYamlError as refused:
            return error(go_chain(handler, str(refused)), 500)

    # -- who may do what, and how a refusal looks ------------------------------------------
    def _refusal(
        self, request: Request, needs: set[str], cron: SimCron | Literal[False] | None = False
    ) -> Response | None:
        """The server's answer to a call the token may not make, or None to serve it.

        ``cron`` is the cron the route names (None: not there; False: the route names none).
        A bad token or a missing cron is an auth failure; a missing scope is a plain 404.
        """
        header = request.headers.get("authorization", "")
        scopes = self.tokens.get(header[7:]) if header.startswith("Bearer ") else None
        if scopes is None or cron is None:
            if self._expects_json(request):
                return error("Not Found", 404)
            return Response(status_code=303, headers={"Location": "/login"})
        if needs <= scopes:
            return None
        if self._expects_json(request):
            return error("Not Found", 404)
        return Response(NOT_FOUND_PAGE, status_code=404, media_type="text/html")

    def _expects_json(self, request: Request) -> bool:
        """``server.ExpectsJSON``: JSON asked for, JSON sent, or the configured API URL named."""
        asked = request.headers.get("accept", "").startswith("application/json")
        sent = request.headers.get("content-type", "").startswith("application/json")
        return asked or sent or self._names_api(request)

    def _names_api(self, request: Request) -> bool:
        if self.api_url is None:
            return True
        api = urlsplit(self.api_url)
        host = request.headers.get("host", request.url.netloc)
        named = (request.url.scheme, host) == (api.scheme, api.netloc)
        return named and request.url.path.startswith(api.path)

    def _api(self, request: Request) -> str:
        """The API URL the server puts in ``url`` fields: the configured one if set."""
        return self.api_url.rstrip("/") if self.api_url else api_root(request)

    def _sorted(self) -> list[SimCron]:
        if self._by_name is None:
            self._by_name = sorted(self.crons.values(), key=lambda cron: (cron.name, cron.id))
        return self._by_name


def _next_run(period: str, now: datetime) -> datetime:
    """``Schedule.Next`` (``cron/cron.go:45-60``), from ``now``'s date: daily tomorrow, weekly
    today + (weekday + 1) days with Sunday 0, monthly ``time.Date(y, m+1, d)``, which lets the
    day run over the month (31 January -> 3 March), all at 00:00 UTC."""
    today = now.astimezone(UTC)
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
    if period == "weekly":
        return midnight + timedelta(days=today.isoweekday() % 7 + 1)
    if period == "monthly":
        year, month = divmod(today.year * 12 + today.month, 12)  # the next month, 0-based
        return datetime(year, month + 1, 1, tzinfo=UTC) + timedelta(days=today.day - 1)
    return midnight + timedelta(days=1)


def _manifest(driver: str, namespace: str | None) -> str:
    head = f"namespace: {namespace}\n" if namespace else ""
    return f"{head}{driver}\nstages:\n- test\njobs:\n- stage: test\n  commands:\n  - make test"


SIMULATOR = DjinnSim  # what providers.sim.suite looks up in this module
