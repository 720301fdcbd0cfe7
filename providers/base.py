"""The seam every provider client implements, and the models they return.

A client maps one service's JSON to these models and nothing else: retries and redaction live
once in :mod:`providers.http`, budgets and rate limits in :mod:`providers.budget`. A client
declares what it can do per job kind (:class:`Capability`); whatever it does not declare raises
:class:`Unsupported` with a sentence naming the provider, never a silent no-op.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from providers.errors import NotFound, Unsupported
from providers.http import ProviderHttp
from providers.schedule import Schedule

if TYPE_CHECKING:
    from providers.config import Account, BuildContext


class Capability(StrEnum):
    LIST = "list"
    GET = "get"
    HISTORY = "history"
    CREATE = "create"
    UPDATE = "update"
    RESCHEDULE = "reschedule"  # update may change the schedule
    DELETE = "delete"
    PAUSE = "pause"
    RESUME = "resume"


class JobKind(StrEnum):
    JOB = "job"  # cron-job.org
    SCHEDULER = "scheduler"  # Cronhub: calls a URL on a schedule
    MONITOR = "monitor"  # Cronhub: heartbeat / dead-man's switch
    CRON = "cron"  # Djinn CI: starts a build on a schedule
    CRONJOB = "cronjob"  # Miget: runs a command in an app


class RunResult(StrEnum):
    OK = "ok"
    FAILED = "failed"
    WARNING = "warning"  # Djinn passed_with_failures: shown, never alerted
    RUNNING = "running"  # started or queued, no result yet
    NONE = "none"  # never ran
    UNKNOWN = "unknown"  # the provider does not report results for this job


class Job(BaseModel):
    """One scheduled job as the bot shows it. Never carries a secret."""

    model_config = ConfigDict(frozen=True)

    account: str
    provider: str
    kind: JobKind
    id: str  # unique inside the account, e.g. "4242", "monitor/b5e5...", "APP/CRONJOB"
    name: str
    paused: bool = False
    schedule: Schedule | None = None
    next_runs: tuple[datetime, ...] = ()  # the provider's predictions; see upcoming()
    last_run: datetime | None = None
    last_result: RunResult = RunResult.NONE
    last_status: str | None = None  # the provider's words: "Failed (HTTP error)", "alert", ...
    last_duration_ms: int | None = None
    url: str | None = None  # the URL the job calls, credentials stripped
    http_method: str | None = None
    command: str | None = None  # Miget
    manifest: str | None = None  # Djinn CI build manifest (YAML)
    grace_period: int | None = None  # Cronhub monitor, minutes
    link: str | None = None  # the job at the provider, for people
    capabilities: frozenset[Capability] = frozenset()
    details: tuple[tuple[str, str], ...] = ()  # extra (label, value) pairs for the card

    @property
    def ref(self) -> str:
        return f"{self.account}:{self.id}"

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def upcoming(self, now: datetime, count: int = 3) -> tuple[datetime, ...]:
        """The next runs: the provider's own predictions, else worked out from the schedule.

        Worked out here, when shown, rather than by the client for every job it lists: the
        poller reads thousands of jobs a cycle and never looks at their next runs.
        """
        if self.paused:
            return ()
        if self.next_runs or self.schedule is None:
            return self.next_runs[:count]
        try:
            return tuple(self.schedule.next_runs(now, count))
        except (ValueError, KeyError):  # an expression or zone the provider takes, croniter not
            return ()

    def to_spec(self) -> JobSpec:
        """The editable fields as they are now, to fill an edit form.

        Not validated: JobSpec's limits are for what a person asks for, and a job may hold
        more than that (a 10,000-character name) — its edit form must still open.
        """
        return JobSpec.model_construct(
            kind=self.kind,
            name=self.name,
            schedule=self.schedule,
            url=self.url,
            http_method=self.http_method,
            command=self.command,
            manifest=self.manifest,
            grace_period=self.grace_period,
            enabled=not self.paused,
        )


class Execution(BaseModel):
    """One run of a job (cron-job.org history item, Djinn build, monitor state change)."""

    model_config = ConfigDict(frozen=True)

    id: str
    time: datetime
    planned: datetime | None = None
    result: RunResult
    status_text: str = ""
    http_status: int | None = None
    duration_ms: int | None = None
    url: str | None = None  # e.g. the Djinn build URL


class JobSpec(BaseModel):
    """What a person asks for on create or edit; each provider uses the fields it takes.

    On an update, ``url`` None keeps the URL the job has: the bot only ever shows URLs with
    their credentials masked (:func:`providers.redact.safe_url`), so an edit that leaves the
    URL alone must never send what it was shown.
    """

    model_config = ConfigDict(frozen=True)

    kind: JobKind
    name: str = Field(min_length=1, max_length=200)
    schedule: Schedule | None = None
    url: str | None = None
    http_method: str | None = None
    http_body: str | None = None
    command: str | None = None
    manifest: str | None = None
    grace_period: int | None = None
    enabled: bool = True
    app: str | None = None  # Miget: the application to create the cron job in


@dataclass(frozen=True, slots=True)
class Listed:
    """A job as its list shows it, read only as far as the poller needs to see it moved.

    The poller reads every job of every account each cycle and acts on the few that moved;
    ``job()`` maps the rest of the row for those. Mapping all of them (names, schedules, URLs)
    would cost most of a poll's time and memory for nothing.
    """

    id: str
    last_run: datetime | None
    last_result: RunResult
    history: bool  # the job's kind has a history to read
    build: Callable[[], Job]

    def job(self) -> Job:
        return self.build()

    @classmethod
    def of(cls, job: Job) -> Listed:
        return cls(job.id, job.last_run, job.last_result, job.can(Capability.HISTORY), lambda: job)


class AccountCheck(BaseModel):
    """What `cronops check` and `/cron status` show for one account."""

    jobs: int
    budget_limit: int | None = None
    budget_used: int | None = None


class Provider(ABC):
    """Base of the provider clients. Subclasses set the class constants and implement."""

    slug: ClassVar[str]
    label: ClassVar[str]  # the service's name for people, e.g. "cron-job.org"
    default_base_url: ClassVar[str]
    account_model: ClassVar[type[Account]]  # its entry in cronops.yml's `accounts:`
    capabilities: ClassVar[Mapping[JobKind, frozenset[Capability]]]

    def __init__(self, account: str, http: ProviderHttp) -> None:
        self.account = account
        self.http = http

    # -- what every client implements -------------------------------------------------------
    @classmethod
    @abstractmethod
    def from_config(cls, account: Any, ctx: BuildContext) -> Self:
        """Build the client for one configured account (its own account model)."""

    @abstractmethod
    async def list_jobs(self) -> list[Job]: ...

    @abstractmethod
    async def get_job(self, job_id: str) -> Job: ...

    async def list_for_poll(self) -> list[Listed]:
        """The list as the poller reads it. Clients whose rows carry results override this to
        map each row only when asked; the default maps them all."""
        return [Listed.of(job) for job in await self.list_jobs()]

    # -- optional operations: the defaults refuse, naming the provider ----------------------
    async def history(self, job_id: str, limit: int = 10) -> list[Execution]:
        raise self.unsupported(Capability.HISTORY, job_id)

    async def executions_since(
        self, job_id: str, after_id: str | None, limit: int = 25
    ) -> list[Execution]:
        """Executions newer than ``after_id`` (the poller's cursor), newest first.

        The default reads one page of history; providers that page override it to stop at
        the cursor instead of reading more.
        """
        found: list[Execution] = []
        for execution in await self.history(job_id, limit):
            if execution.id == after_id:
                break
            found.append(execution)
        return found

    async def create(self, spec: JobSpec) -> Job:
        raise self.unsupported(Capability.CREATE, None, spec.kind)

    async def update(self, job_id: str, spec: JobSpec) -> Job:
        raise self.unsupported(Capability.UPDATE, job_id)

    async def delete(self, job_id: str) -> None:
        raise self.unsupported(Capability.DELETE, job_id)

    async def pause(self, job_id: str) -> Job:
        raise self.unsupported(Capability.PAUSE, job_id)

    async def resume(self, job_id: str) -> Job:
        raise self.unsupported(Capability.RESUME, job_id)

    async def apps(self) -> list[str]:
        """Where jobs can be created, for providers that group them (Miget applications)."""
        return []

    async def check(self) -> AccountCheck:
        """One cheap authenticated call, for `cronops check`."""
        jobs = await self.list_jobs()
        used, limit = await self.http.budget_state()
        return AccountCheck(jobs=len(jobs), budget_limit=limit, budget_used=used)

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- helpers for subclasses -------------------------------------------------------------
    def kind_of(self, job_id: str) -> JobKind:
        """The kind a job id belongs to; single-kind providers need not override."""
        kinds = list(self.capabilities)
        if len(kinds) == 1:
            return kinds[0]
        raise TypeError(f"{type(self).__name__} has several job kinds and must define kind_of")

    def caps(self, kind: JobKind) -> frozenset[Capability]:
        return self.capabilities.get(kind, frozenset())

    def require(
        self, capability: Capability, job_id: str | None, kind: JobKind | None = None
    ) -> None:
        """Raise Unsupported unless the job kind declares the capability."""
        kind = kind or (self.kind_of(job_id) if job_id is not None else None)
        if kind is None or capability not in self.caps(kind):
            raise self.unsupported(capability, job_id, kind)

    def unsupported(
        self, capability: Capability, job_id: str | None, kind: JobKind | None = None
    ) -> Unsupported:
        if kind is None and job_id is not None:
            try:
                kind = self.kind_of(job_id)
            except (NotFound, TypeError):
                kind = None
        what = f"{kind.value}s" if kind else "jobs"
        sentence = UNSUPPORTED_SENTENCES.get(capability, "cannot {verb} {what}")
        verb = capability.value
        text = f"{self.label} {sentence.format(verb=verb, what=what)}."
        return Unsupported(text, account=self.account, provider=self.label)

    def error_context(self) -> dict[str, Any]:
        return {"account": self.account, "provider": self.label}


UNSUPPORTED_SENTENCES: dict[Capability, str] = {
    Capability.PAUSE: "has no pause for {what}",
    Capability.RESUME: "has no API to resume {what}",
    Capability.HISTORY: "has no execution history API for {what}",
    Capability.CREATE: "cannot create {what} through its API",
    Capability.UPDATE: "cannot edit {what} through its API",
    Capability.RESCHEDULE: "cannot change the schedule of {what} in place; delete and recreate it",
    Capability.DELETE: "cannot delete {what} through its API",
}
