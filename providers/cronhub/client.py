"""Cronhub (cronhub.io): schedulers call a URL on a schedule, monitors wait for pings.

Job ids are ``scheduler/{id}`` and ``monitor/{uuid}``. Facts and quirks are in
``shared/providers.md`` section 3; the ones this module copes with:

- every write body is form-encoded (all examples use ``curl -d``);
- a scheduler is created at ``POST /schedulers/create`` with ``interval_value``/``interval_rate``
  but answers with ``interval_schedule_value``/``interval_schedule_rate``;
- schedulers run in UTC only; monitors take any timezone and a grace period of 1-60 minutes;
- monitor timestamps come as ISO-8601 strings (docs) or PHP DateTime objects (live clients);
- there is no documented way to resume a monitor, and no execution history at all.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar, Literal, Self

from pydantic import SecretStr

from providers.base import Capability, Job, JobKind, JobSpec, Listed, Provider, RunResult
from providers.clock import Clock, utcnow
from providers.config import Account, BuildContext
from providers.cronhub.wire import (
    Errors,
    Raw,
    cronhub_error,
    monitor_details,
    monitor_form,
    monitor_result,
    monitor_schedule,
    parse_time,
    readable,
    scheduler_form,
    scheduler_schedule,
)
from providers.errors import BadResponse, InvalidInput, NotFound, Unsupported
from providers.http import ProviderHttp
from providers.redact import safe_url
from providers.schedule import Schedule

C = Capability
_BOTH = frozenset({C.LIST, C.GET, C.CREATE, C.UPDATE, C.RESCHEDULE, C.DELETE, C.PAUSE})
_SCHEDULER_ID = re.compile(r"scheduler/([0-9]+)")
_MONITOR_ID = re.compile(r"monitor/([0-9A-Za-z-]+)")
NO_MONITOR_RESUME = "Cronhub has no API to resume a monitor; resume it in the Cronhub dashboard."


class CronhubAccount(Account):
    provider: Literal["cronhub"]
    api_key: SecretStr


class Cronhub(Provider):
    slug = "cronhub"
    label = "Cronhub"
    default_base_url = "https://cronhub.io/api/v1"
    account_model = CronhubAccount
    capabilities: ClassVar[Mapping[JobKind, frozenset[Capability]]] = {
        JobKind.SCHEDULER: _BOTH | {C.RESUME},
        JobKind.MONITOR: _BOTH,  # resume is undocumented: tried, never promised
    }

    def __init__(self, account: str, http: ProviderHttp, clock: Clock = utcnow) -> None:
        super().__init__(account, http)
        self.clock = clock

    @classmethod
    def from_config(cls, account: CronhubAccount, ctx: BuildContext) -> Self:
        http = ctx.http(
            account,
            provider=cls.label,
            default_base_url=cls.default_base_url,
            headers={"X-Api-Key": account.credential()},
            error_hook=cronhub_error,
        )
        return cls(account.name, http, ctx.clock)

    # -- ids ------------------------------------------------------------------------------
    def kind_of(self, job_id: str) -> JobKind:
        return self._split(job_id)[0]

    def _split(self, job_id: str) -> tuple[JobKind, str]:
        if match := _SCHEDULER_ID.fullmatch(job_id):
            return JobKind.SCHEDULER, match[1]
        if match := _MONITOR_ID.fullmatch(job_id):
            return JobKind.MONITOR, match[1]
        raise NotFound(
            f"`{job_id}` is not a Cronhub job id; expected scheduler/NUMBER or monitor/UUID",
            **self.error_context(),
        )

    # -- reading --------------------------------------------------------------------------
    async def list_jobs(self) -> list[Job]:
        schedulers, monitors = await self._lists()
        with self.http.mapping("scheduler list"):
            jobs = [self._scheduler(raw) for raw in schedulers]
        with self.http.mapping("monitor list"):
            jobs += [self._monitor(raw) for raw in monitors]
        return jobs

    async def list_for_poll(self) -> list[Listed]:
        schedulers, monitors = await self._lists()
        with self.http.mapping("scheduler list"):  # the API reports no scheduler results
            listed = [
                Listed(f"scheduler/{int(raw['id'])}", None, RunResult.UNKNOWN, False,
                       partial(self._mapped, "scheduler list", self._scheduler, raw))
                for raw in schedulers
            ]  # fmt: skip
        with self.http.mapping("monitor list"):
            for raw in monitors:
                last_ping, status = parse_time(raw.get("last_ping")), raw.get("status")
                result = monitor_result(str(status).lower() if status else None, last_ping)
                listed.append(
                    Listed(f"monitor/{raw['code']}", last_ping, result, False,
                           partial(self._mapped, "monitor list", self._monitor, raw))
                )  # fmt: skip
        return listed

    async def _lists(self) -> tuple[list[Raw], list[Raw]]:
        schedulers, monitors = await asyncio.gather(
            self._call("GET", "schedulers", "list"), self._call("GET", "monitors", "list")
        )
        with self.http.mapping("scheduler list"):
            scheduler_rows = list(schedulers["schedulers"])
        with self.http.mapping("monitor list"):
            monitor_rows = list(self._monitor_body(monitors))
        return scheduler_rows, monitor_rows

    def _mapped(self, what: str, mapper: Callable[[Raw], Job], raw: Raw) -> Job:
        with self.http.mapping(what):
            return mapper(raw)

    async def get_job(self, job_id: str) -> Job:
        return await self._act(job_id, "GET", "", "get")

    # -- changing -------------------------------------------------------------------------
    async def create(self, spec: JobSpec) -> Job:
        self.require(C.CREATE, None, spec.kind)
        path = "schedulers/create" if spec.kind is JobKind.SCHEDULER else "monitors"
        job = await self._send(spec.kind, "POST", path, "create", self._form(spec, {}))
        return job if spec.enabled else await self.pause(job.id)

    async def update(self, job_id: str, spec: JobSpec) -> Job:
        """PUT every field; fields a JobSpec cannot carry are kept from the current record."""
        kind, key = self._split(job_id)
        self.require(C.UPDATE, job_id)
        if spec.kind is not kind:
            raise self._invalid({"kind": [f"a {kind.value} cannot become a {spec.kind.value}"]})
        self._form(spec, None)  # refuse bad input before any request
        form = self._form(spec, await self._raw(kind, key))
        return await self._act(job_id, "PUT", "", "update", form)

    async def delete(self, job_id: str) -> None:
        kind, key = self._split(job_id)
        body = await self._call("DELETE", f"{_path(kind)}/{key}", "delete")
        confirmed = body.get("deleted") if kind is JobKind.SCHEDULER else body.get("success")
        if confirmed is not True:
            raise BadResponse("the delete was not confirmed", **self.error_context())

    async def pause(self, job_id: str) -> Job:
        return await self._act(job_id, "PUT", "/pause", "pause")

    async def resume(self, job_id: str) -> Job:
        try:
            return await self._act(job_id, "PUT", "/resume", "resume")
        except NotFound:
            if self.kind_of(job_id) is JobKind.SCHEDULER:
                raise
            await self.get_job(job_id)  # a monitor that is gone stays NotFound
        raise Unsupported(NO_MONITOR_RESUME, **self.error_context())

    # -- plumbing -------------------------------------------------------------------------
    async def _call(
        self, method: str, path: str, op: str, form: Mapping[str, str] | None = None
    ) -> Any:
        response = await self.http.request(method, path, op=op, data=form)
        body = self.http.json_of(response)
        if not isinstance(body, dict):
            raise BadResponse(f"{op} answered {type(body).__name__}", **self.error_context())
        return body

    async def _raw(self, kind: JobKind, key: str) -> Raw:
        body = await self._call("GET", f"{_path(kind)}/{key}", "get")
        with self.http.mapping(kind.value):
            raw = body["scheduler"] if kind is JobKind.SCHEDULER else self._monitor_body(body)
            return dict(raw)

    async def _act(
        self, job_id: str, method: str, suffix: str, op: str, form: Mapping[str, str] | None = None
    ) -> Job:
        kind, key = self._split(job_id)
        return await self._send(kind, method, f"{_path(kind)}/{key}{suffix}", op, form)

    async def _send(
        self, kind: JobKind, method: str, path: str, op: str, form: Mapping[str, str] | None
    ) -> Job:
        """Call a route that answers with one job; scheduler envelopes are named per action."""
        body = await self._call(method, path, op, form)
        with self.http.mapping(f"{kind.value} after {op}"):
            if kind is JobKind.MONITOR:
                return self._monitor(self._monitor_body(body))
            return self._scheduler(body["scheduler" if op == "get" else f"{op}d"])

    def _monitor_body(self, body: Raw) -> Any:
        if body.get("success") is False:
            raise BadResponse("the monitor API answered success: false", **self.error_context())
        return body["response"]

    def _invalid(self, errors: Errors) -> InvalidInput:
        return InvalidInput(fields=errors, **self.error_context())

    # -- JSON -> Job ------------------------------------------------------------------------
    def _scheduler(self, raw: Raw) -> Job:
        details = [("Type", str(raw.get("type") or "?"))]
        if raw.get("description"):
            details.append(("Description", str(raw["description"])))
        return self._job(
            JobKind.SCHEDULER,
            str(int(raw["id"])),
            raw,
            readable(scheduler_schedule, raw),
            last_result=RunResult.UNKNOWN,  # the API reports no scheduler results
            url=safe_url(raw.get("url")),
            http_method=str(raw.get("http_method") or "").upper() or None,
            details=tuple(details),
        )

    def _monitor(self, raw: Raw) -> Job:
        last_ping = parse_time(raw.get("last_ping"))
        status = raw.get("status")
        grace = raw.get("grace_period")  # absent after a pause (docs example)
        return self._job(
            JobKind.MONITOR,
            str(raw["code"]),
            raw,
            readable(monitor_schedule, raw),
            last_run=last_ping,
            last_result=monitor_result(str(status).lower() if status else None, last_ping),
            grace_period=int(grace) if grace is not None else None,
            details=monitor_details(raw),
        )

    def _job(
        self, kind: JobKind, key: str, raw: Raw, schedule: Schedule | None, **fields: Any
    ) -> Job:
        status = str(raw.get("status") or "").lower() or None
        paused = status == "paused"
        return Job(
            account=self.account,
            provider=self.slug,
            kind=kind,
            id=f"{kind.value}/{key}",
            name=str(raw["name"]),
            paused=paused,
            schedule=schedule,
            last_status=status,
            link=f"https://cronhub.io/{kind.value}s/{key}",
            capabilities=self.caps(kind),
            **fields,
        )

    # -- JobSpec -> form ------------------------------------------------------------------
    def _form(self, spec: JobSpec, current: Raw | None) -> dict[str, str]:
        """The form for ``spec``; what it leaves out comes from ``current`` (None: not read
        yet, so only what ``spec`` carries is checked)."""
        errors: Errors = {}
        write = scheduler_form if spec.kind is JobKind.SCHEDULER else monitor_form
        form = write(spec, current, errors)
        if errors:
            raise self._invalid(errors)
        return form


def _path(kind: JobKind) -> str:
    return "schedulers" if kind is JobKind.SCHEDULER else "monitors"
