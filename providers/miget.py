"""Miget (app.miget.com): the cron jobs of apps, and the apps' add-ons.

Facts from shared/providers.md §1 and §6. Miget has no pause, no run history and cannot change
a cron job's schedule in place; this client declares exactly that. A cron job is an add-on
entity of type ``cronjob``; its id here is ``APP/CRONJOB``. Responses may carry passwords
(``connection_details``, ``var``): they never reach a model, and bodies are logged scrubbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict

from providers.base import Capability, Job, JobKind, JobSpec, Listed, Provider, RunResult
from providers.config import BuildContext, MigetAccount
from providers.errors import (
    AuthRejected,
    InvalidInput,
    NotFound,
    ProviderError,
    ProviderUnavailable,
    Unsupported,
)
from providers.http import Clock, ProviderHttp, utcnow
from providers.redact import scrub_payload, secrets
from providers.schedule import IntervalUnit, Schedule, ScheduleError, ScheduleKind, validate_cron

log = logging.getLogger(__name__)

APP_LINK = "https://app.miget.com/apps/{app}"
FANOUT = 4  # concurrent per-app requests of one account
# SPEC counts degraded as failing, though the vendor guide calls it a replica catching up.
FAILING_STATES = frozenset(
    {"failed", "failing", "problem", "degraded", "degradated", "crashloopbackoff"}
)
OK_STATES = frozenset({"running", "healthy", "succeeded", "completed", "active", "bound"})
# Lifecycle states while Miget provisions something: set up, never ran.
SETUP_STATES = frozenset(
    {"pending", "processing", "creating", "assigned", "deploying", "started", "cloning"}
)
INTERVALS: dict[str, tuple[int, IntervalUnit]] = {
    "every_10_minutes": (10, "minutes"),
    "hourly": (1, "hours"),
    "daily": (1, "days"),
}
_INTERVAL_BY_MINUTES = {10: "every_10_minutes", 60: "hourly", 1440: "daily"}
_UNIT_MINUTES = {"minutes": 1, "hours": 60, "days": 1440}
UTC_NAMES = frozenset({"UTC", "ETC/UTC"})
CRONJOB_CAPABILITIES = frozenset(
    {Capability.LIST, Capability.GET, Capability.CREATE, Capability.UPDATE, Capability.DELETE}
)
RESCHEDULE_REFUSAL = (
    "Miget cannot change a cron job's schedule in place; "
    "delete it and create a new one with the new schedule."
)
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


# -- models ---------------------------------------------------------------------------------
class Addon(BaseModel):
    """An app's add-on as the bot shows it. Miget's connection details are never copied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uuid: str
    app: str
    name: str  # server-suffixed: the real identifier
    type: str
    label: str
    state: str | None = None
    ram_mib: int | None = None
    cpu: float | None = None
    created_at: datetime | None = None


class AddonSpec(BaseModel):
    """What a person asks for when creating an add-on (``POST /apps/{uuid}/addons``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str  # postgres | mysql | valkey | storage
    name: str
    label: str | None = None
    ram_size: float | None = None  # MiB
    disk_size: float | None = None  # GiB
    cpu_size: float | None = None  # cores
    postgres_version: str | None = None
    mysql_version: str | None = None
    valkey_version: str | None = None
    public_access: str | None = None  # "0" | "1", postgres only
    service_id: int | None = None  # attach a shared storage service instead of a new volume
    mount_point: str | None = None
    storage_access: str | None = None  # RWO | RWX

    @classmethod
    def make(cls, type: str, name: str, *, version: str | None = None, **fields: Any) -> Self:
        """A spec from a form's one ``version`` answer, put in the field the type takes."""
        if version is not None and type in VERSIONS:
            fields[VERSIONS[type][0]] = version
        return cls(type=type, name=name, **fields)


ADDON_TYPES = ("postgres", "mysql", "valkey", "storage")
VERSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "postgres": ("postgres_version", ("18", "17", "16", "15", "14", "13")),
    "mysql": ("mysql_version", ("8.2", "8.0")),  # the vendor guide; the seed said 8.0, 8.4
    "valkey": ("valkey_version", ("7.2", "7")),
}


# -- mapping --------------------------------------------------------------------------------
def result_of(state: str | None) -> RunResult:
    """Miget documents no cron-job states; read them as the add-on states they share."""
    state = (state or "").lower()
    if state in FAILING_STATES:
        return RunResult.FAILED
    if state in OK_STATES:
        return RunResult.OK
    return RunResult.NONE if state in SETUP_STATES else RunResult.UNKNOWN


def schedule_of(settings: Mapping[str, Any]) -> Schedule | None:
    """The schedule in a cron job's ``settings``; None when it cannot be read."""
    interval = settings.get("interval_type")
    kind = settings.get("schedule_type") or ("interval" if interval else "cron")
    if kind == "interval" and interval in INTERVALS:
        every, unit = INTERVALS[interval]
        at = _daily_time(settings) if interval == "daily" else None
        return Schedule.interval(every, unit, at=at)
    if kind != "cron" or not settings.get("cron"):
        return None
    try:
        return Schedule.from_cron(str(settings["cron"]), "UTC")
    except ScheduleError:
        return None


def _daily_time(settings: Mapping[str, Any]) -> str | None:
    text = str(settings.get("daily_time") or "")
    if _HHMM.fullmatch(text):
        return text
    hour, minute = settings.get("hour"), settings.get("minute")
    if str(hour).isdigit() and str(minute).isdigit():
        return f"{int(str(hour)):02d}:{int(str(minute)):02d}"
    return None


def schedule_payload(schedule: Schedule | None) -> dict[str, str]:
    """The create-body fields for a schedule; ScheduleError says why Miget cannot take it."""
    if schedule is None:
        raise ScheduleError(
            "a schedule is required: a 5-field cron expression in UTC, "
            "or every 10 minutes, every hour or every day at HH:MM"
        )
    if schedule.timezone.upper() not in UTC_NAMES:
        raise ScheduleError(
            f"Miget runs cron jobs in UTC; `{schedule.timezone}` is not supported, "
            "so give the times in UTC"
        )
    if schedule.kind is ScheduleKind.CRON:
        return {"schedule_type": "cron", "cron": validate_cron(schedule.cron or "")}
    if schedule.kind is ScheduleKind.INTERVAL:
        return _interval_payload(schedule)
    raise ScheduleError("Miget has no daily/weekly/monthly periods; use a cron expression")


def _interval_payload(schedule: Schedule) -> dict[str, str]:
    minutes = (schedule.every or 0) * _UNIT_MINUTES[schedule.unit or "minutes"]
    name = _INTERVAL_BY_MINUTES.get(minutes)
    if name is None:
        raise ScheduleError(
            f"Miget intervals are every 10 minutes, every hour or every day at HH:MM; "
            f"`{schedule.describe()}` is not one of them, so use a cron expression"
        )
    if name != "daily":
        if schedule.at:
            raise ScheduleError("only a daily Miget interval takes a time of day")
        return {"schedule_type": "interval", "interval_type": name}
    if not schedule.at or not _HHMM.fullmatch(schedule.at):
        raise ScheduleError("a daily Miget interval needs a UTC time of day as HH:MM, e.g. 03:30")
    return {"schedule_type": "interval", "interval_type": "daily", "daily_time": schedule.at}


def schedule_key(schedule: Schedule | None) -> tuple[tuple[str, str], ...]:
    """What Miget would store for a schedule, so equal schedules compare equal."""
    if schedule is None:
        return ()
    try:
        return tuple(sorted(schedule_payload(schedule).items()))
    except ScheduleError:
        return (("unusable", schedule.model_dump_json()),)


def addon_of(app: str, entity: Mapping[str, Any]) -> Addon:
    quota = entity.get("quota") or {}
    ram, cpu = quota.get("ram_size"), quota.get("cpu_size")
    return Addon(
        uuid=_uuid(entity),
        app=app,
        name=str(entity["name"]),
        type=str(entity["type"]),
        label=str(entity.get("label") or entity["name"]),
        state=_str(entity.get("state")),
        ram_mib=int(ram) // 2**20 if isinstance(ram, int | float) else None,
        cpu=float(cpu) if isinstance(cpu, int | float) else None,
        created_at=_time(entity.get("created_at")),
    )


def _uuid(entity: Mapping[str, Any]) -> str:
    return str(entity["uuid"] if entity.get("uuid") else entity["id"])


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _time(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _unwrap(body: Any) -> Any:
    """The docs' intro claims a ``{"data": ...}`` envelope; the endpoints send bare entities."""
    if isinstance(body, dict) and "data" in body and "uuid" not in body:
        return body["data"]
    return body


def _items(body: Any, key: str) -> list[Mapping[str, Any]]:
    body = _unwrap(body)
    if isinstance(body, dict) and isinstance(body.get(key), list):
        body = body[key]
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise TypeError(f"expected a list of {key}")
    return body


def _entity(body: Any) -> Mapping[str, Any]:
    body = _unwrap(body)
    if not isinstance(body, dict):
        raise TypeError("expected an object")
    return body


def _remember_secrets(value: Any) -> None:
    """Register passwords Miget echoes back, so no log line can ever carry them.

    A walk with a stack rather than a call per value: a list of thousands of cron jobs, each
    with its app's variables, passes through here on every poll.
    """
    stack: list[Any] = [value] if isinstance(value, dict | list) else [[value]]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in pairs:
            if isinstance(item, str):
                if isinstance(key, str) and key.lower() == "password":
                    secrets.add(item)
                elif "://" in item and "@" in item:  # credentials in a URL need the @
                    with contextlib.suppress(ValueError):
                        secrets.add(urlsplit(item).password)
            elif isinstance(item, dict | list):
                stack.append(item)


# -- errors ---------------------------------------------------------------------------------
_FIELDS = sorted(
    {*AddonSpec.model_fields, "command", "cron", "schedule_type", "interval_type", "daily_time"},
    key=len,
    reverse=True,
)


def error_messages(response: httpx.Response) -> list[str]:
    """``{"error": msg}``, or for 422 ``{"errors": "msg1, msg2"}``: one comma-joined string."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    raw = body.get("errors", body.get("error", body.get("message")))
    if isinstance(raw, str):
        parts = raw.split(", ") if "errors" in body else [raw]
    elif isinstance(raw, list):
        parts = [str(part) for part in raw]
    else:
        return []
    return [secrets.scrub(part.strip())[:300] for part in parts if part.strip()]


def field_of(message: str) -> str:
    """The field a Rails-style message is about ("Name can't be blank" -> name), else "_"."""
    text = message.lower().replace("_", " ")
    for name in _FIELDS:
        words = name.replace("_", " ")
        if text == words or text.startswith(words + " "):
            return name
    return "_"


def miget_error(response: httpx.Response) -> ProviderError | None:
    status = response.status_code
    messages = error_messages(response)
    detail = "; ".join(messages) or f"HTTP {status}"
    if status == 401:
        return AuthRejected(detail)
    if status == 403:
        return AuthRejected(f"{detail}; check `workspace_id` and the token's permissions")
    if status == 404:
        return NotFound(detail)
    if status in (400, 409, 422):
        fields: dict[str, list[str]] = {}
        for message in messages:
            fields.setdefault(field_of(message), []).append(message)
        return InvalidInput(detail, fields=fields)
    if status >= 500:
        return ProviderUnavailable(detail)
    return None


# -- local validation -----------------------------------------------------------------------
def name_problem(name: str) -> str | None:
    if not name:
        return "a name is required"
    if not _NAME.fullmatch(name):
        return (
            f"`{name}` is not a valid Miget name: use lowercase letters, digits and dashes, "
            "e.g. `nightly-cleanup` (Miget appends a random suffix)"
        )
    return None


def cronjob_problems(spec: JobSpec) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The create body for a cron job, or what is wrong with the spec (field -> messages)."""
    problems: dict[str, list[str]] = {}
    name = spec.name.strip()
    if problem := name_problem(name):
        problems["name"] = [problem]
    payload: dict[str, str] = {"name": name, "label": name}
    try:
        payload |= schedule_payload(spec.schedule)
    except ScheduleError as error:
        problems["schedule"] = [str(error)]
    if command := (spec.command or "").strip():
        payload["command"] = command
    else:
        problems["command"] = ["a command is required, e.g. `rake db:cleanup`"]
    return payload, problems


def addon_problems(spec: AddonSpec) -> dict[str, list[str]]:
    """What Miget would refuse in an add-on spec, per field; empty when it is fine."""
    problems: dict[str, list[str]] = {}
    if spec.type not in ADDON_TYPES:
        problems["type"] = [
            f"`{spec.type}` is not an add-on type; choose postgres, mysql, valkey or storage "
            "(cron jobs are created with `/cron create`)"
        ]
    if problem := name_problem(spec.name.strip()):
        problems["name"] = [problem]
    if not (spec.label or "").strip():
        problems["label"] = ["a label is required; Miget refuses add-ons without one"]
    for field in ("ram_size", "disk_size", "cpu_size"):
        value = getattr(spec, field)
        if value is not None and value <= 0:
            problems[field] = [f"{field} must be a positive number"]
    if spec.public_access is not None and (
        spec.type != "postgres" or spec.public_access not in ("0", "1")
    ):
        problems["public_access"] = ['public_access is "0" or "1", for postgres add-ons only']
    return problems | _version_problems(spec) | _storage_problems(spec)


def _version_problems(spec: AddonSpec) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for kind, (field, allowed) in VERSIONS.items():
        value = getattr(spec, field)
        if kind != spec.type:
            if value is not None:
                problems[field] = [f"{field} applies only to {kind} add-ons"]
        elif not value:
            problems[field] = [f"{kind} add-ons need {field}: one of {', '.join(allowed)}"]
        elif value not in allowed:
            problems[field] = [f"Miget offers {kind} {', '.join(allowed)}, not `{value}`"]
    return problems


def _storage_problems(spec: AddonSpec) -> dict[str, list[str]]:
    given = {
        "mount_point": spec.mount_point,
        "storage_access": spec.storage_access,
        "service_id": spec.service_id,
    }
    if spec.type != "storage":
        return {f: [f"{f} applies only to storage add-ons"] for f, v in given.items() if v}
    problems: dict[str, list[str]] = {}
    if spec.storage_access is not None and spec.storage_access not in ("RWO", "RWX"):
        problems["storage_access"] = ["storage_access is RWO (one node) or RWX (many nodes)"]
    if spec.service_id is None:
        if not (spec.mount_point or "").startswith("/"):
            problems["mount_point"] = ["a storage add-on needs a mount point such as /data"]
        if not spec.storage_access:
            problems.setdefault("storage_access", ["a storage add-on needs RWO or RWX access"])
    return problems


# -- the client -----------------------------------------------------------------------------
class Miget(Provider):
    slug = "miget"
    label = "Miget"
    default_base_url = "https://app.miget.com/api/v1"
    capabilities: ClassVar[Mapping[JobKind, frozenset[Capability]]] = {
        JobKind.CRONJOB: CRONJOB_CAPABILITIES  # no pause, history or reschedule: no API
    }

    def __init__(
        self, account: str, http: ProviderHttp, *, apps: Sequence[str] = (), clock: Clock = utcnow
    ) -> None:
        super().__init__(account, http)
        self.configured_apps = tuple(apps)
        self.clock = clock
        self._discovered: tuple[str, ...] | None = None
        self._discovery = asyncio.Lock()
        self._fanout = asyncio.Semaphore(FANOUT)

    @classmethod
    def from_config(cls, account: MigetAccount, ctx: BuildContext) -> Self:
        headers = {"Authorization": f"Bearer {account.credential()}", "Accept": "application/json"}
        if account.workspace_id:
            headers["X-Workspace-Id"] = account.workspace_id
        http = ctx.http(
            account,
            provider=cls.label,
            default_base_url=cls.default_base_url,
            headers=headers,
            error_hook=miget_error,
        )
        return cls(account.name, http, apps=account.apps, clock=ctx.clock)

    # -- apps -------------------------------------------------------------------------------
    async def apps(self) -> list[str]:
        """The configured apps, else every app the key sees (asked once per client)."""
        if self.configured_apps:
            return list(self.configured_apps)
        async with self._discovery:
            if self._discovered is None:
                body = await self._get("/apps", op="apps")
                with self.http.mapping("app list"):
                    self._discovered = tuple(_uuid(app) for app in _items(body, "apps"))
            return list(self._discovered)

    async def pick_app(self, app: str | None) -> str:
        """The app to create in: the one named, or the account's only app."""
        apps = await self.apps()
        if app is not None and app not in apps:
            raise self._invalid("app", f"`{app}` is not one of this account's apps: {_list(apps)}")
        if app is not None:
            return app
        if len(apps) == 1:
            return apps[0]
        if not apps:
            raise self._invalid("app", "no Miget apps are visible to this API key")
        raise self._invalid("app", f"this account has {len(apps)} apps; name one: {_list(apps)}")

    # -- cron jobs --------------------------------------------------------------------------
    async def list_jobs(self) -> list[Job]:
        per_app = await asyncio.gather(*(self._app_jobs(app) for app in await self.apps()))
        return [job for jobs in per_app for job in jobs]

    async def list_for_poll(self) -> list[Listed]:
        apps = await self.apps()
        per_app = await asyncio.gather(*(self._app_rows(app) for app in apps))
        listed: list[Listed] = []
        with self.http.mapping("cron job list"):
            for app, rows in zip(apps, per_app, strict=True):
                for entity in rows:
                    result = result_of(_str(entity.get("state")))
                    ran = _time(entity.get("updated_at")) if result in _RAN else None
                    build = partial(self._listed_job, app, entity)
                    listed.append(Listed(f"{app}/{_uuid(entity)}", ran, result, False, build))
        return listed

    def _listed_job(self, app: str, entity: Mapping[str, Any]) -> Job:
        with self.http.mapping("cron job list"):
            return self._job(app, entity)

    async def get_job(self, job_id: str) -> Job:
        app, cronjob = self._split(job_id)
        body = await self._get(f"/apps/{app}/cronjobs/{cronjob}", op="get")
        with self.http.mapping("cron job"):
            return self._job(app, _entity(body))

    async def create(self, spec: JobSpec, app: str | None = None) -> Job:
        self.require(Capability.CREATE, None, spec.kind)
        payload, problems = cronjob_problems(spec)
        if problems:
            raise InvalidInput(fields=problems, **self._who())
        target = await self.pick_app(app or spec.app)
        response = await self.http.request(
            "POST", f"/apps/{target}/cronjobs", op="create", json=payload
        )
        body = self._read(response, "create")
        with self.http.mapping("created cron job"):
            return self._job(target, _entity(body))

    async def update(self, job_id: str, spec: JobSpec) -> Job:
        """Change the label (the spec's name) and command; the schedule cannot change."""
        app, cronjob = self._split(job_id)
        label = spec.name.strip()
        if not label:
            raise self._invalid("name", "a name is required")
        if spec.command is not None and not spec.command.strip():
            raise self._invalid("command", "the command cannot be empty")
        current = await self.get_job(job_id)
        if spec.schedule is not None and schedule_key(spec.schedule) != schedule_key(
            current.schedule
        ):
            raise Unsupported(RESCHEDULE_REFUSAL, **self._who())
        payload = {"label": label}
        if command := (spec.command or current.command or "").strip():
            payload["command"] = command
        path = f"/apps/{app}/cronjobs/{cronjob}"
        response = await self.http.request("PUT", path, op="update", json=payload)
        if not response.content:
            return await self.get_job(job_id)
        body = self._read(response, "update")
        with self.http.mapping("updated cron job"):
            return self._job(app, _entity(body))

    async def delete(self, job_id: str) -> None:
        app, cronjob = self._split(job_id)
        await self.http.request("DELETE", f"/apps/{app}/cronjobs/{cronjob}", op="delete")

    # -- add-ons ----------------------------------------------------------------------------
    async def list_addons(self, app: str | None = None) -> list[Addon]:
        apps = (await self._known_app(app),) if app else await self.apps()
        per_app = await asyncio.gather(*(self._app_addons(one) for one in apps))
        return [addon for addons in per_app for addon in addons]

    async def create_addon(self, spec: AddonSpec, app: str | None = None) -> Addon:
        if problems := addon_problems(spec):
            raise InvalidInput(fields=problems, **self._who())
        target = await self.pick_app(app)
        payload = spec.model_dump(exclude_none=True)
        payload |= {"name": spec.name.strip(), "label": (spec.label or "").strip()}
        response = await self.http.request(
            "POST", f"/apps/{target}/addons", op="create_addon", json=payload
        )
        body = self._read(response, "create_addon")
        with self.http.mapping("created add-on"):
            return addon_of(target, _entity(body))

    # -- helpers ----------------------------------------------------------------------------
    async def _app_jobs(self, app: str) -> list[Job]:
        rows = await self._app_rows(app)
        with self.http.mapping("cron job list"):
            return [self._job(app, e) for e in rows]

    async def _app_rows(self, app: str) -> list[Mapping[str, Any]]:
        async with self._fanout:
            body = await self._get(f"/apps/{app}/cronjobs", op="list")
        with self.http.mapping("cron job list"):
            items = _items(body, "cronjobs")
            return [e for e in items if e.get("type", "cronjob") == "cronjob"]

    async def _app_addons(self, app: str) -> list[Addon]:
        async with self._fanout:
            body = await self._get(f"/apps/{app}/addons", op="addons")
        with self.http.mapping("add-on list"):
            items = _items(body, "addons")
            return [addon_of(app, e) for e in items if e.get("type") != "cronjob"]

    async def _known_app(self, app: str) -> str:
        if app not in await self.apps():
            raise self._invalid("app", f"`{app}` is not one of this account's apps")
        return app

    def _job(self, app: str, entity: Mapping[str, Any]) -> Job:
        settings = entity.get("settings") or {}
        state = _str(entity.get("state"))
        result = result_of(state)
        schedule = schedule_of(settings)
        name = str(entity["name"])
        return Job(
            account=self.account,
            provider=self.slug,
            kind=JobKind.CRONJOB,
            id=f"{app}/{_uuid(entity)}",
            name=str(entity.get("label") or name),
            schedule=schedule,
            # Miget exposes no run time: updated_at (the state's last change) is the best proxy.
            last_run=_time(entity.get("updated_at")) if result in _RAN else None,
            last_result=result,
            last_status=state,
            command=_str(settings.get("command")),
            link=APP_LINK.format(app=app),
            capabilities=self.caps(JobKind.CRONJOB),
            details=(("Miget name", name), ("App", app)),
        )

    def _split(self, job_id: str) -> tuple[str, str]:
        app, _, cronjob = job_id.partition("/")
        if not app or not cronjob or "/" in cronjob:
            raise NotFound(f"`{job_id}` is not a Miget job id (APP/CRONJOB)", **self._who())
        if self.configured_apps and app not in self.configured_apps:
            raise NotFound(f"app `{app}` is not configured for this account", **self._who())
        return app, cronjob

    async def _get(self, path: str, *, op: str) -> Any:
        return self._read(await self.http.request("GET", path, op=op), op)

    def _read(self, response: httpx.Response, op: str) -> Any:
        body = self.http.json_of(response)
        _remember_secrets(body)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s", self.account, op, scrub_payload(body))
        return body

    def _invalid(self, field: str, message: str) -> InvalidInput:
        return InvalidInput(fields={field: [message]}, **self._who())

    def _who(self) -> dict[str, str]:
        return {"account": self.account, "provider": self.label}


_RAN = frozenset({RunResult.OK, RunResult.FAILED})


def _list(apps: Sequence[str]) -> str:
    return ", ".join(f"`{app}`" for app in apps)
