"""The Djinn simulator's records and how they look on the wire (providers.md §4.3 and §6).

:class:`SimCron` and :class:`SimBuild` rendered as Djinn's Cron and Build objects, one page of a
list with Djinn's ``Link`` header, the JSON body of a write, the build filters and the
``{"message": ...}`` error body. No state of its own: namespaces are numbered in the ``ids`` the
simulator passes in. :class:`providers.sim.djinn.DjinnSim` keeps the records and serves them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import yaml
from starlette.requests import Request
from starlette.responses import Response

from providers.djinn_wire import PERIODS
from providers.sim.base import json_response

T = TypeVar("T")
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
