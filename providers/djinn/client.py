"""Djinn CI (djinn-ci.com): crons that submit a build manifest daily, weekly or monthly.

Quirks the client copes with (providers.md §4 and §6, Djinn's server code):

- a missing or wrong token is answered **404** ``{"message": "Not Found"}``, not 401, so a 404
  on the cron list means the token was rejected, while on one cron it means the cron is gone;
- a token short of a scope gets the same 404 (``build:read`` for a cron's builds,
  ``cron:write`` to create or update, ``cron:delete`` to delete): after a 404 the client reads
  the cron (or the list), and if that answers, raises :class:`MissingScope` naming the scope;
- every request says ``Accept: application/json``: without it, on a host other than the
  server's configured URL, a bad token is a ``303`` to the login page instead of the JSON 404;
- ``Link`` always carries both ``prev`` and ``next``, as relative URLs clamped at the ends: the
  last page's ``next`` is the last page, so paging stops when ``next`` points back;
- there is no pause: a cron can only be deleted;
- the cron list carries no build result; a cron's builds do.

The JSON it reads and the checks it makes before a request are in :mod:`providers.djinn.wire`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from typing import Any, ClassVar, Literal, Self

import httpx
from pydantic import SecretStr

from providers.base import AccountCheck, Capability, Execution, Job, JobKind, JobSpec, Provider
from providers.config import Account, BuildContext
from providers.djinn.wire import (
    PERIODS,
    details,
    djinn_error,
    execution_of,
    last_result,
    manifest_problems,
    next_page,
    parse_time,
    reached,
)
from providers.errors import (
    AuthRejected,
    InvalidInput,
    MissingScope,
    NotFound,
    ProviderError,
    Unsupported,
)
from providers.schedule import Schedule, ScheduleKind

log = logging.getLogger(__name__)

PAGE_CAP = 1000  # 25 000 items; a pager that gets further is looping
NO_BUILDS = ("Builds", "not readable: the token lacks the build:read scope")
NO_DAILY = (
    'Djinn CI cannot switch a cron to daily through its API: it reads `daily` as "no change"'
    " and would keep this cron {current}. Delete the cron and create it again as daily"
    " (it gets a new id)."
)
TOKEN_404 = (
    "Djinn CI answered 404 to the cron list, which is how it rejects a missing or wrong token"
)


class DjinnAccount(Account):
    provider: Literal["djinn"]
    token: SecretStr
    credential_key: ClassVar[str] = "token"


class Djinn(Provider):
    slug: ClassVar[str] = "djinn"
    label: ClassVar[str] = "Djinn CI"
    default_base_url: ClassVar[str] = "https://api.djinn-ci.com"
    account_model = DjinnAccount
    capabilities: ClassVar[Mapping[JobKind, frozenset[Capability]]] = {
        JobKind.CRON: frozenset(
            {
                Capability.LIST,
                Capability.GET,
                Capability.HISTORY,
                Capability.CREATE,
                Capability.UPDATE,
                Capability.RESCHEDULE,
                Capability.DELETE,
            }
        )
    }

    @classmethod
    def from_config(cls, account: DjinnAccount, ctx: BuildContext) -> Self:
        http = ctx.http(
            account,
            provider=cls.label,
            default_base_url=cls.default_base_url,
            headers={
                "Authorization": f"Bearer {account.token.get_secret_value()}",
                "Accept": "application/json",  # else a bad token may be an HTML redirect
            },
            error_hook=djinn_error,
        )
        return cls(account.name, http)

    # -- reading ---------------------------------------------------------------------------
    async def list_jobs(self, search: str | None = None) -> list[Job]:
        params = {"search": search} if search else {}
        try:
            crons = [
                c async for page in self._pages("cron", op="list", params=params) for c in page
            ]
        except NotFound:
            raise AuthRejected(TOKEN_404, **self.error_context()) from None
        return [self._job(cron) for cron in crons]

    async def get_job(self, job_id: str) -> Job:
        cron = await self._cron(job_id)
        return await self._with_latest_build(cron)

    async def history(self, job_id: str, limit: int = 10) -> list[Execution]:
        return await self.builds_since(job_id, None, limit=limit)

    async def builds_since(
        self, job_id: str, after_id: str | None, status: str | None = None, limit: int = 25
    ) -> list[Execution]:
        """The cron's builds newer than ``after_id``, newest first; stops paging at it.

        MissingScope (``build:read``) when the builds answer 404 but the cron is there.
        """
        self._check_id(job_id)
        try:
            return await self._builds(job_id, after_id, status, limit)
        except NotFound:
            await self._cron(job_id)  # NotFound again: the cron is gone
            raise MissingScope("build:read", **self.error_context()) from None

    async def _builds(
        self, job_id: str, after_id: str | None, status: str | None, limit: int
    ) -> list[Execution]:
        found: list[Execution] = []
        if limit < 1:
            return found
        pages = self._pages(f"cron/{job_id}/builds", op="history", params={"status": status})
        async with aclosing(pages) as builds:
            async for page in builds:
                for execution in self._executions(page):
                    if after_id is not None and reached(execution.id, after_id):
                        return found
                    found.append(execution)
                    if len(found) >= limit:
                        return found
        return found

    async def executions_since(
        self, job_id: str, after_id: str | None, limit: int = 25
    ) -> list[Execution]:
        return await self.builds_since(job_id, after_id, limit=limit)

    async def check(self) -> AccountCheck:
        """The crons, and one cron's builds: a token without ``build:read`` lists crons but
        cannot see a build result, so nothing it polls could ever alert."""
        jobs = await self.list_jobs()
        if jobs:
            await self.builds_since(jobs[0].id, None, limit=1)
        return AccountCheck(jobs=len(jobs))

    # -- changing --------------------------------------------------------------------------
    async def create(self, spec: JobSpec) -> Job:
        self.require(Capability.CREATE, None, spec.kind)
        body: dict[str, str] = {"name": self._valid_name(spec.name)}
        if spec.schedule is not None:
            body["schedule"] = self._valid_period(spec.schedule)
        body["manifest"] = self._valid_manifest(spec.manifest)
        try:
            response = await self.http.request("POST", "cron", op="create", json=body)
        except NotFound:
            raise await self._refused("cron:write", None) from None
        return self._job(self._object(response, "created cron"), builds=[])

    async def update(self, job_id: str, spec: JobSpec) -> Job:
        """PATCH the cron. Switching it to daily is refused first: Djinn takes ``daily`` (Go's
        zero value) as "not given" and answers 200 with the old schedule (``form.go:47-49``).

        Refused rather than recreated: a new cron has a new id, so refs, alert history and the
        link to its builds would silently change; a person can choose that knowing it.
        """
        self.require(Capability.UPDATE, job_id)
        self._check_id(job_id)
        body: dict[str, str] = {"name": self._valid_name(spec.name)}
        if spec.schedule is not None:
            body["schedule"] = self._valid_period(spec.schedule)
        if spec.manifest:  # a blank field keeps the cron's manifest (Djinn fills it in)
            body["manifest"] = self._valid_manifest(spec.manifest)
        if body.get("schedule") == "daily":
            current = str((await self._cron(job_id)).get("schedule"))
            if current != "daily":
                raise self._unsupported(NO_DAILY.format(current=current))
        try:
            response = await self.http.request("PATCH", f"cron/{job_id}", op="update", json=body)
        except NotFound:
            raise await self._refused("cron:write", job_id) from None
        cron = self._object(response, "updated cron")
        sent, kept = body.get("schedule"), cron.get("schedule")
        if sent is not None and kept != sent:  # changed by someone between our read and PATCH
            said = f"Djinn CI saved the other changes but the schedule is {kept}, not {sent}."
            why = NO_DAILY.format(current=kept) if sent == "daily" else "Try the edit again."
            raise self._unsupported(f"{said} {why}")
        return await self._with_latest_build(cron)

    async def delete(self, job_id: str) -> None:
        self.require(Capability.DELETE, job_id)
        self._check_id(job_id)
        try:
            await self.http.request("DELETE", f"cron/{job_id}", op="delete")
        except NotFound:
            raise await self._refused("cron:delete", job_id) from None

    async def _refused(self, scope: str, job_id: str | None) -> ProviderError:
        """Why a change got 404 (Djinn says it for all three): no such cron, a rejected token,
        or a token without ``scope``. One read tells them apart: the cron, or the list."""
        try:
            if job_id is None:
                await self.http.request("GET", "cron", op="list", params={"page": 1})
            else:
                await self._cron(job_id)
        except NotFound:
            if job_id is None:
                return AuthRejected(TOKEN_404, **self.error_context())
            return NotFound("HTTP 404", **self.error_context())
        return MissingScope(scope, **self.error_context())

    async def pause(self, job_id: str) -> Job:
        raise self._unsupported("Djinn CI has no pause for crons; a cron can only be deleted.")

    async def resume(self, job_id: str) -> Job:
        raise self._unsupported("Djinn CI has no pause for crons, so there is nothing to resume.")

    # -- paging ----------------------------------------------------------------------------
    async def _pages(
        self, path: str, *, op: str, params: Mapping[str, str | None] | None = None
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        """Each page's items not seen before, until ``next`` stops moving forward."""
        query = {k: v for k, v in (params or {}).items() if v}
        page = 1
        seen: set[Any] = set()
        for _ in range(PAGE_CAP):
            response = await self.http.request("GET", path, op=op, params={**query, "page": page})
            with self.http.mapping(f"{path} page"):
                fresh = [item for item in self._array(response) if item["id"] not in seen]
                seen.update(item["id"] for item in fresh)
            if not fresh:
                return
            yield fresh
            following = next_page(response.headers.get("Link"))
            if following is None or following <= page:
                return
            page = following
        log.warning("%s: stopped paging %s after %d pages", self.account, path, PAGE_CAP)

    def _array(self, response: httpx.Response) -> list[dict[str, Any]]:
        data = self.http.json_of(response)
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise TypeError("expected a JSON array of objects")
        return data

    def _object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        data = self.http.json_of(response)
        with self.http.mapping(what):
            if not isinstance(data, dict):
                raise TypeError("expected a JSON object")
        return data

    # -- mapping ---------------------------------------------------------------------------
    async def _cron(self, job_id: str) -> dict[str, Any]:
        self._check_id(job_id)
        response = await self.http.request("GET", f"cron/{job_id}", op="get")
        return self._object(response, "cron")

    async def _with_latest_build(self, cron: dict[str, Any]) -> Job:
        try:
            builds = await self._builds(str(cron.get("id")), None, None, 1)
        except NotFound:  # the cron was just read: a token without build:read
            job = self._job(cron)
            return job.model_copy(update={"details": (*job.details, NO_BUILDS)})
        return self._job(cron, builds=builds)

    def _executions(self, builds: list[dict[str, Any]]) -> list[Execution]:
        with self.http.mapping("build"):
            return [execution_of(build) for build in builds]

    def _job(self, cron: Mapping[str, Any], builds: list[Execution] | None = None) -> Job:
        """A cron as a Job; ``builds`` (newest first) when fetched, else the result is unknown."""
        with self.http.mapping("cron"):
            cron_id = str(int(cron["id"]))
            schedule = cron.get("schedule")
            next_run = parse_time(cron.get("next_run"))
            latest = builds[0] if builds else None
            return Job(
                account=self.account,
                provider=self.slug,
                kind=JobKind.CRON,
                id=cron_id,
                name=str(cron["name"]),
                schedule=Schedule.of_period(schedule, next_run) if schedule in PERIODS else None,
                next_runs=(next_run,) if next_run else (),
                last_run=parse_time(cron.get("prev_run")) or (latest.time if latest else None),
                last_result=last_result(builds),
                last_status=latest.status_text if latest else None,
                last_duration_ms=latest.duration_ms if latest else None,
                manifest=cron.get("manifest") or None,
                link=cron.get("url") or f"{self._api_root()}/cron/{cron_id}",
                capabilities=self.caps(JobKind.CRON),
                details=details(cron),
            )

    def _api_root(self) -> str:
        return str(self.http.client.base_url).rstrip("/")

    # -- local validation, before any request ---------------------------------------------
    def _check_id(self, job_id: str) -> None:
        if not (job_id.isascii() and job_id.isdigit()):
            raise NotFound("Djinn CI cron ids are whole numbers", **self.error_context())

    def _valid_name(self, name: str) -> str:
        if not name.strip():
            raise self._invalid("name", "Name is required")
        return name.strip()

    def _valid_period(self, schedule: Schedule) -> str:
        if schedule.kind is not ScheduleKind.PERIOD or schedule.period is None:
            raise self._invalid("schedule", "Djinn CI schedules are daily, weekly or monthly")
        return schedule.period

    def _valid_manifest(self, manifest: str | None) -> str:
        problems = manifest_problems(manifest)
        if problems:
            raise InvalidInput(fields={"manifest": problems}, **self.error_context())
        assert manifest is not None
        return manifest

    def _invalid(self, field: str, message: str) -> InvalidInput:
        return InvalidInput(message, fields={field: [message]}, **self.error_context())

    def _unsupported(self, sentence: str) -> Unsupported:
        return Unsupported(sentence, **self.error_context())
