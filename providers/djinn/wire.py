"""Djinn CI's JSON: builds as executions, status tables, ``Link`` paging, error bodies, manifests.

Pure functions: no I/O, no clock. :class:`providers.djinn.client.Djinn` does the requests and builds
jobs from these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, get_args
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml

from providers.base import Execution, RunResult
from providers.errors import InvalidInput, NotFound, ProviderError, ProviderUnavailable
from providers.redact import secrets
from providers.schedule import Period

PERIODS: tuple[str, ...] = get_args(Period)
#: Keys each driver type requires, as Djinn's ``manifest.Validate`` checks them.
DRIVER_KEYS: dict[str, tuple[str, ...]] = {
    "docker": ("image", "workspace"),
    "qemu": ("image",),
    "ssh": ("address",),
    "os": (),
}
STATUS_RESULTS: dict[str, RunResult] = {
    "passed": RunResult.OK,
    "passed_with_failures": RunResult.WARNING,
    "failed": RunResult.FAILED,
    "killed": RunResult.FAILED,
    "timed_out": RunResult.FAILED,
    "queued": RunResult.RUNNING,
    "running": RunResult.RUNNING,
}
_BUILD_TIMES = ("created_at", "started_at", "finished_at")
_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";,]+)"?')


def manifest_problems(text: str | None) -> list[str]:
    """Why Djinn CI would refuse this build manifest; empty when it would take it."""
    if not text or not text.strip():
        return ["Manifest is required"]
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return ["Manifest is not valid YAML"]
    driver = doc.get("driver") if isinstance(doc, dict) else None
    if not isinstance(driver, dict):
        return ["Manifest needs a driver, e.g. `driver: {type: qemu, image: centos/7}`"]
    kind = driver.get("type")
    if not isinstance(kind, str) or kind not in DRIVER_KEYS:
        return ["driver type must be docker, qemu, ssh or os"]
    return [f"driver {kind} requires {key}" for key in DRIVER_KEYS[kind] if not driver.get(key)]


def next_page(link: str | None) -> int | None:
    """The page number a ``Link`` header's ``rel="next"`` points at."""
    for target, rels in _LINK.findall(link or ""):
        if "next" in rels.split():
            pages = parse_qs(urlsplit(target).query).get("page") or [""]
            return int(pages[0]) if pages[0].isdigit() else None
    return None


def djinn_error(response: httpx.Response) -> ProviderError | None:
    """Djinn's error bodies: 400 ``{"field": ["msg", ...]}``, otherwise ``{"message": ...}``."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    said = secrets.scrub(message)[:200] if isinstance(message, str) else ""
    if status == 404:
        return NotFound("HTTP 404")
    if status == 400 and isinstance(body, dict):
        fields = {str(k): [str(m) for m in v] for k, v in body.items() if isinstance(v, list) and v}
        return InvalidInput(fields=fields) if fields else InvalidInput(said or "HTTP 400")
    if status == 422:
        return InvalidInput(said or "HTTP 422")
    if status >= 500:
        # Djinn answers 500 to unknown schedules and malformed JSON too, but the client never
        # sends either (it validates first), so a 500 is the server's trouble.
        return ProviderUnavailable(f"HTTP {status}: {said}" if said else f"HTTP {status}")
    return None


def parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    when = datetime.fromisoformat(str(value))
    if when.year <= 1:  # Go's zero time
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def execution_of(build: Mapping[str, Any]) -> Execution:
    status = str(build["status"])
    created, started, finished = (parse_time(build.get(k)) for k in _BUILD_TIMES)
    when = finished or started or created
    if when is None:
        raise ValueError("a build without any time")
    duration = None
    if started and finished:
        duration = int((finished - started).total_seconds() * 1000)
    return Execution(
        id=str(int(build["id"])),
        time=when,
        result=STATUS_RESULTS.get(status, RunResult.UNKNOWN),
        status_text=status,
        duration_ms=duration,
        url=build.get("url") or None,
    )


def reached(build_id: str, cursor: str) -> bool:
    if build_id.isdigit() and cursor.isdigit():
        return int(build_id) <= int(cursor)
    return build_id == cursor


def last_result(builds: list[Execution] | None) -> RunResult:
    if builds is None:
        return RunResult.UNKNOWN
    return builds[0].result if builds else RunResult.NONE


def details(cron: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    pairs = (
        ("Namespace", _field(cron, "namespace", "path") or _field(cron, "namespace", "name")),
        ("Author", _field(cron, "author", "username")),
    )
    return tuple((label, value) for label, value in pairs if value)


def _field(obj: Mapping[str, Any], key: str, inner: str) -> str | None:
    value = obj.get(key)
    found = value.get(inner) if isinstance(value, dict) else None
    return str(found) if found else None
