"""What the Miget simulator reads and writes: request checks, refusals and response shapes.

The simulator's half of ``shared/providers.md`` §1 that does not route: bodies that must be JSON
objects, Rails-style 422s (``{"errors": "msg1, msg2"}``) and Grape-style 400s for cron jobs and
add-ons, ``{"error": msg}`` refusals, timestamps as the API writes them, and the secrets the
real API sends along with each entity (``var``, ``connection_details``). The simulator
(:mod:`providers.sim.miget`) routes, authenticates and keeps the state.
"""

from __future__ import annotations

from datetime import UTC, datetime
from json import JSONDecodeError
from typing import Any

from starlette.requests import Request

from providers.schedule import ScheduleError, validate_cron

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
