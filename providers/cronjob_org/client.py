"""cron-job.org (https://api.cron-job.org): jobs that call a URL on a schedule.

API facts and quirks are in ``shared/providers.md`` §2 and §6. The ones this client is shaped by:

- 100 requests per day per API key by default, so no call is spent that can be avoided: after a
  pause, resume or edit the job is rebuilt from what the client last read, not fetched again.
- Schedules are five arrays, not cron text (see :mod:`providers.cronjob_org.schedule`).
- Errors are a bare status line; :func:`providers.cronjob_org.wire.error_for` turns each
  into a sentence.
- A server (node) holding some jobs can be down: the list then says ``someFailed`` and leaves
  them out, and they answer 404. A partial list raises :class:`PartialListing` (never taken as
  complete), and until a complete one, a 404 for a job it left out is :class:`JobUnreadable`.
- Job basic-auth passwords and custom header values come back in job details; they are dropped
  the moment a response is read and never reach a model, a cache or a log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar, Literal

from pydantic import PositiveInt, SecretStr

from providers.base import Capability, Execution, Job, JobKind, JobSpec, Listed, Provider
from providers.budget import RateSpec
from providers.config import Account, BuildContext
from providers.cronjob_org.schedule import job_schedule, schedule_body
from providers.cronjob_org.wire import (
    CREATE_DEFAULTS,
    METHODS,
    MONITORING,
    PRIVATE_KEYS,
    STATUS_WORDS,
    as_int,
    as_list,
    error_for,
    execution,
    run_result,
    when,
    without_php_messages,
)
from providers.errors import (
    InvalidInput,
    JobUnreadable,
    NotFound,
    PartialListing,
    ProviderError,
)
from providers.http import ProviderHttp
from providers.redact import safe_url
from providers.schedule import ScheduleError

log = logging.getLogger(__name__)

#: Per API method; job create is also 5 per minute (providers.md §2.2).
RATES: RateSpec = {"*": [(5, 1.0)], "create": [(1, 1.0), (5, 60.0)]}
CONSOLE = "https://console.cron-job.org/jobs/{id}"

_JOB_ID = re.compile(r"[0-9]+")


class CronJobOrgAccount(Account):
    provider: Literal["cronjob-org"]
    api_key: SecretStr
    daily_request_budget: PositiveInt | None = 100  # cron-job.org's default quota


class CronJobOrg(Provider):
    slug = "cronjob-org"
    label = "cron-job.org"
    default_base_url = "https://api.cron-job.org"
    account_model = CronJobOrgAccount
    capabilities: ClassVar[Mapping[JobKind, frozenset[Capability]]] = {
        JobKind.JOB: frozenset(
            {
                Capability.LIST,
                Capability.GET,
                Capability.HISTORY,
                Capability.CREATE,
                Capability.UPDATE,
                Capability.RESCHEDULE,
                Capability.DELETE,
                Capability.PAUSE,
                Capability.RESUME,
            }
        )
    }

    def __init__(self, account: str, http: ProviderHttp) -> None:
        super().__init__(account, http)
        # The last job JSON read per id, private keys removed: lets pause/resume/update
        # answer with a Job without spending a GET of the daily quota on it.
        self._seen: dict[str, dict[str, Any]] = {}
        # Predicted run times from the last history call (the job list gives only the next one).
        self._predictions: dict[str, tuple[int, ...]] = {}
        # The ids the last job list held, when it was partial (a server was down); None when
        # it was complete. A 404 for a job outside it is a job that could not be read.
        self._partial: frozenset[str] | None = None

    @classmethod
    def from_config(cls, account: CronJobOrgAccount, ctx: BuildContext) -> CronJobOrg:
        key = account.credential()
        http = ctx.http(
            account,
            provider=cls.label,
            default_base_url=cls.default_base_url,
            headers={"Authorization": f"Bearer {key}"},
            rate_limits=RATES,
            error_hook=error_for,
        )
        return cls(account.name, http)

    # -- reading ------------------------------------------------------------------------------
    async def list_jobs(self) -> list[Job]:
        rows = await self._rows()
        with self.http.mapping("job list"):
            return [self._remember(raw) for raw in rows]

    async def list_for_poll(self) -> list[Listed]:
        rows = await self._rows()
        with self.http.mapping("job list"):
            return [self._listed(raw) for raw in rows]

    def _listed(self, raw: dict[str, Any]) -> Listed:
        last_run, result = when(raw.get("lastExecution")), run_result(as_int(raw.get("lastStatus")))
        return Listed(str(int(raw["jobId"])), last_run, result, True, partial(self._built, raw))

    async def _rows(self) -> list[dict[str, Any]]:
        """The list's rows; PartialListing (with the jobs it did list) when ``someFailed``."""
        data = await self._json("GET", "/jobs", op="list")
        with self.http.mapping("job list"):
            rows = as_list(data["jobs"])
            if not data.get("someFailed"):
                self._partial = None
                self._keep_only({str(int(raw["jobId"])) for raw in rows})
                return rows
            self._partial = frozenset(str(int(raw["jobId"])) for raw in rows)
            jobs = [self._remember(raw) for raw in rows]
        log.warning("%s: cron-job.org could not read some jobs; list incomplete", self.account)
        raise PartialListing(jobs, **self.error_context())

    def _keep_only(self, listed: set[str]) -> None:
        """Forget what was remembered of jobs a complete list no longer holds (deleted
        elsewhere), so the per-job memory never outgrows the account."""
        for gone in [i for i in self._seen if i not in listed]:
            del self._seen[gone]
        for gone in [i for i in self._predictions if i not in listed]:
            del self._predictions[gone]

    @contextmanager
    def _readable(self, job_id: str) -> Iterator[None]:
        """A 404 for a job the last list left out while it was partial: its server is down."""
        try:
            yield
        except NotFound:
            if self._partial is None or job_id in self._partial:
                raise
            raise JobUnreadable(f"job {job_id}", **self.error_context()) from None

    def _built(self, raw: dict[str, Any]) -> Job:
        with self.http.mapping("job list"):
            return self._remember(raw)

    async def get_job(self, job_id: str) -> Job:
        path = f"/jobs/{self._path_id(job_id)}"
        with self._readable(job_id):
            data = await self._json("GET", path, op="get")
        with self.http.mapping("job details"):
            return self._remember(dict(data["jobDetails"]))

    async def history(self, job_id: str, limit: int = 10) -> list[Execution]:
        path = f"/jobs/{self._path_id(job_id)}/history"
        with self._readable(job_id):
            data = await self._json("GET", path, op="history")
        with self.http.mapping("job history"):
            self._predictions[job_id] = tuple(
                int(t) for t in as_list(data.get("predictions") or [])
            )
            runs = [execution(item) for item in as_list(data["history"])]
        runs.sort(key=lambda run: run.time, reverse=True)
        return runs[: max(limit, 0)]

    # -- changing -----------------------------------------------------------------------------
    async def create(self, spec: JobSpec) -> Job:
        self.require(Capability.CREATE, None, spec.kind)
        body = self._job_body(spec, creating=True)
        extended = {**CREATE_DEFAULTS["extendedData"], **body.get("extendedData", {})}
        # Every key the server reads, and enabled (it defaults to off).
        job = {**CREATE_DEFAULTS, **body, "extendedData": extended, "enabled": spec.enabled}
        # A create is never resent: a retry after a lost answer would make a second job.
        data = await self._json("PUT", "/jobs", op="create", json={"job": job}, idempotent=False)
        with self.http.mapping("created job"):
            job_id = str(int(data["jobId"]))
        sent = {**job, "jobId": job_id, "type": 0, "lastStatus": 0}
        return await self._stored(job_id, job["schedule"]["timezone"], sent)

    async def update(self, job_id: str, spec: JobSpec) -> Job:
        """Send every editable key (no GET to diff against: the quota is small).

        ``enabled`` is left alone: pausing and resuming are their own actions, and an edit
        form that forgets the field must not resume a paused job. A new timezone is read back
        (one GET), since the server keeps the old one if it does not know the new one.
        """
        self.require(Capability.UPDATE, job_id)
        changes = self._job_body(spec, creating=False)
        await self._patch(job_id, changes)
        timezone = changes["schedule"]["timezone"]
        seen = self._seen.get(job_id)
        if seen is None or (seen.get("schedule") or {}).get("timezone") != timezone:
            return await self._stored(job_id, timezone, None)
        return await self._after_change(job_id, changes)

    async def delete(self, job_id: str) -> None:
        self.require(Capability.DELETE, job_id)
        path = f"/jobs/{self._path_id(job_id)}"
        if self._seen.get(job_id, {}).get("type") == MONITORING:
            raise self._monitoring_refusal(job_id)
        try:
            with self._readable(job_id):
                await self.http.request("DELETE", path, op="delete")
        except InvalidInput:
            # The id is numeric, so the only 400 DELETE gives is for a monitoring job (§2.2).
            raise self._monitoring_refusal(job_id) from None
        self._forget(job_id)

    async def pause(self, job_id: str) -> Job:
        self.require(Capability.PAUSE, job_id)
        return await self._set_enabled(job_id, False)

    async def resume(self, job_id: str) -> Job:
        self.require(Capability.RESUME, job_id)
        return await self._set_enabled(job_id, True)

    async def _set_enabled(self, job_id: str, enabled: bool) -> Job:
        await self._patch(job_id, {"enabled": enabled})
        return await self._after_change(job_id, {"enabled": enabled})

    async def _patch(self, job_id: str, changes: dict[str, Any]) -> None:
        path = f"/jobs/{self._path_id(job_id)}"
        # Absolute values only, so sending the PATCH twice is harmless.
        with self._readable(job_id):
            body = {"job": changes}
            await self.http.request("PATCH", path, op="patch", json=body, idempotent=True)
        self._predictions.pop(job_id, None)

    async def _stored(self, job_id: str, timezone: str, sent: dict[str, Any] | None) -> Job:
        """The job as the server stored it, noting a timezone it did not keep (one GET).

        The change went through already: if that read fails, the job as sent stands in for it
        (a create must never read as failed, or the person makes it again).
        """
        try:
            job = await self.get_job(job_id)
        except ProviderError as error:
            if sent is None:
                raise
            log.info("%s: created job %s not read back: %s", self.account, job_id, error)
            return self._remember(sent)
        stored = job.schedule.timezone if job.schedule else timezone
        if stored == timezone:
            return job
        note = ("Timezone", f"cron-job.org kept {stored}: it does not know {timezone}")
        return job.model_copy(update={"details": (*job.details, note)})

    async def _after_change(self, job_id: str, changes: dict[str, Any]) -> Job:
        """The job as it is now: what we last read plus our change, or one GET if never read."""
        seen = self._seen.get(job_id)
        if seen is None:
            return await self.get_job(job_id)
        merged = {**seen, **changes}
        if "schedule" in changes:  # PATCH applies schedule sub-keys one by one (§2.5)
            merged["schedule"] = {**(seen.get("schedule") or {}), **changes["schedule"]}
        return self._remember(merged)

    # -- mapping ------------------------------------------------------------------------------
    def _job_body(self, spec: JobSpec, *, creating: bool) -> dict[str, Any]:
        """The editable keys of a job for ``spec``; InvalidInput before any request if wrong.

        An update without a URL leaves the job's URL as it is (PATCH changes only what it is
        given), credentials included.
        """
        try:
            schedule = schedule_body(spec.schedule)
        except ScheduleError as error:
            raise InvalidInput(str(error), **self.error_context()) from None
        if (creating or spec.url is not None) and not (spec.url or "").strip():
            raise InvalidInput("cron-job.org jobs need a URL to call", **self.error_context())
        method = (spec.http_method or "GET").strip().upper()
        if method not in METHODS:
            allowed = ", ".join(METHODS)
            raise InvalidInput(f"HTTP method must be one of {allowed}", **self.error_context())
        body: dict[str, Any] = {
            "title": spec.name.strip(),
            "requestMethod": METHODS.index(method),
            "schedule": schedule,
        }
        if spec.url is not None:
            body["url"] = spec.url.strip()
        if spec.http_body is not None:
            body["extendedData"] = {"body": spec.http_body}
        return body

    def _remember(self, raw: dict[str, Any]) -> Job:
        public = {k: v for k, v in raw.items() if k not in PRIVATE_KEYS}
        job = self._to_job(public)
        self._seen[job.id] = public
        return job

    def _to_job(self, raw: dict[str, Any]) -> Job:
        job_id = str(int(raw["jobId"]))
        enabled = bool(raw.get("enabled"))
        status = as_int(raw.get("lastStatus"))
        caps = self.caps(JobKind.JOB)
        details: list[tuple[str, str]] = []
        if raw.get("type") == MONITORING:
            caps -= {Capability.DELETE}
            details.append(("Type", "Monitoring job (used by a status page)"))
        schedule = raw.get("schedule") or {}
        method = as_int(raw.get("requestMethod"))
        return Job(
            account=self.account,
            provider=self.slug,
            kind=JobKind.JOB,
            id=job_id,
            name=str(raw.get("title") or "").strip() or safe_url(raw.get("url")) or job_id,
            paused=not enabled,
            schedule=job_schedule(schedule),
            next_runs=self._next_runs(job_id, raw) if enabled else (),
            last_run=when(raw.get("lastExecution")),
            last_result=run_result(status),
            last_status=STATUS_WORDS.get(status),
            last_duration_ms=as_int(raw.get("lastDuration")) or None,
            url=safe_url(raw.get("url")),
            http_method=METHODS[method] if 0 <= method < len(METHODS) else None,
            link=CONSOLE.format(id=job_id),
            capabilities=caps,
            details=tuple(details),
        )

    def _next_runs(self, job_id: str, raw: dict[str, Any]) -> tuple[datetime, ...]:
        first = as_int(raw.get("nextExecution"))
        if not first:
            return ()
        later = {t for t in self._predictions.get(job_id, ()) if t > first}
        return tuple(datetime.fromtimestamp(t, UTC) for t in sorted({first, *later}))

    # -- plumbing -----------------------------------------------------------------------------
    async def _json(self, method: str, path: str, *, op: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.request(method, path, op=op, **kwargs)
        content, printed = without_php_messages(response.content)
        if printed:  # the call went through (200); a create must not read as failed
            log.warning("%s: cron-job.org printed %d PHP warnings (%s)", self.account, printed, op)
        data = self.http.json_of(response, content)
        with self.http.mapping(f"answer to {op}"):
            if not isinstance(data, dict):
                raise TypeError("not an object")
            return data

    def _path_id(self, job_id: str) -> str:
        if not _JOB_ID.fullmatch(job_id):
            raise NotFound(f"`{job_id}` is not a cron-job.org job id", **self.error_context())
        return job_id

    def _monitoring_refusal(self, job_id: str) -> InvalidInput:
        return InvalidInput(
            f"`{job_id}` is a monitoring job used by a status page; cron-job.org does not let "
            "the API delete it (remove it from the status page in the console)",
            **self.error_context(),
        )

    def _forget(self, job_id: str) -> None:
        self._seen.pop(job_id, None)
        self._predictions.pop(job_id, None)
