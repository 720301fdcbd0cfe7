"""Djinn CI's JSON: builds as executions, status tables, ``Link`` paging, error bodies, manifests.

Pure functions: no I/O, no clock. :class:`providers.djinn.client.Djinn` does the requests and builds
jobs from these.
"""

from __future__ import annotations

import difflib
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
#: Keys a driver reads besides those (``driver/*/driver.go``: qemu's arch, which the server
#: sets to x86_64; ssh's addr, which it reads although Validate asks for address).
DRIVER_EXTRA_KEYS: dict[str, tuple[str, ...]] = {"qemu": ("arch",), "ssh": ("addr",)}
#: A manifest's keys and a job's, in the order of ``manifest.Manifest`` and ``manifest.Job``
#: (``manifest/manifest.go``): the server drops any other without a word.
MANIFEST_KEYS = ("namespace", "driver", "env", "objects", "sources", "stages", "allow_failures",
                 "jobs")  # fmt: skip
JOB_KEYS = ("stage", "name", "commands", "artifacts")
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
    """Why Djinn CI would refuse this build manifest, or silently drop part of it (a key it
    does not know, such as ``job:`` for ``jobs:``); empty when it would take it whole."""
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
    problems = [f"driver {kind} requires {key}" for key in DRIVER_KEYS[kind] if not driver.get(key)]
    driver_keys = ("type", *DRIVER_KEYS[kind], *DRIVER_EXTRA_KEYS.get(kind, ()))
    problems += _unknown(
        driver, driver_keys, f"driver: `{{}}` is not a {kind} driver key", "ignore"
    )
    problems += _unknown(doc, MANIFEST_KEYS, "`{}` is not a manifest key", "drop")
    jobs = doc.get("jobs")
    for number, job in enumerate(jobs if isinstance(jobs, list) else [], 1):
        if isinstance(job, dict):
            problems += _unknown(job, JOB_KEYS, f"job {number}: `{{}}` is not a job key", "drop")
    return problems


def _unknown(given: dict[Any, Any], known: tuple[str, ...], what: str, fate: str) -> list[str]:
    problems = []
    for key in given:
        if str(key) in known:
            continue
        near = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean `{near[0]}`?" if near else f"it takes {', '.join(known)}"
        problems.append(f"{what.format(key)}, so Djinn CI would {fate} it; {hint}")
    return problems


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
        return server_error(status, secrets.scrub(message) if isinstance(message, str) else "")
    return None


def server_error(status: int, message: str) -> ProviderError:
    """A 5xx. Djinn's message is often a Go error chain (``pkg.Func - /path/file.go:86: ...``)
    with the server's file names: never shown. A chain about the manifest's YAML is a refusal
    of the manifest (create and update answer 500 to one Go's YAML cannot read), permanent; any
    other 5xx is the server's trouble (unknown schedules and malformed JSON also get 500, but
    the client never sends either)."""
    plain = _GO_FRAME.sub("", message).strip()[:300]
    if plain.startswith("yaml:"):
        reasons = yaml_reasons(plain)
        detail = "Djinn CI refused the manifest: " + "; ".join(reasons)
        return InvalidInput(detail, fields={"manifest": reasons})
    return ProviderUnavailable(f"HTTP {status}: {plain}" if plain else f"HTTP {status}")


def yaml_reasons(message: str) -> list[str]:
    """Go's YAML errors in words: ``line 3: cannot unmarshal !!str `hello` into
    []manifest.Job`` reads ``line 3: text (`hello`) where Djinn CI expects a list of jobs``."""
    lines = [line.strip() for line in message.removeprefix("yaml:").splitlines()]
    found = []
    for line in lines:
        if not line or line == "unmarshal errors:":
            continue
        match = _UNMARSHAL.fullmatch(line)
        if match is None:
            found.append(line)
            continue
        number, tag, value, into = match.groups()
        what = GO_TAGS.get(tag, "a value") + (f" (`{value}`)" if value else "")
        found.append(f"line {number}: {what} where Djinn CI expects {GO_TYPES.get(into, into)}")
    return found or ["its YAML does not fit Djinn CI's manifest format"]


_GO_FRAME = re.compile(r"\S+ - \S+\.go:\d+: ")
_UNMARSHAL = re.compile(r"line (\d+): cannot unmarshal !!(\w+)(?: `(.*)`)? into (\S+)")
GO_TAGS = {"str": "text", "int": "a number", "float": "a number", "bool": "true/false",
           "null": "nothing", "seq": "a list", "map": "a mapping"}  # fmt: skip
GO_TYPES = {
    "[]manifest.Job": "a list of jobs",
    "manifest.Job": "a job (a mapping of stage, name, commands, artifacts)",
    "[]manifest.Source": "a list of sources (`url [ref] [=> dir]`)",
    "[]string": "a list",
    "string": "a single value",
    "map[string]string": "a mapping of names to values",
    "manifest.Manifest": "a manifest (a mapping of namespace, driver, jobs, ...)",
}


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
