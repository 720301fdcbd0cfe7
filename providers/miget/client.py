"""Miget (app.miget.com): the cron jobs of apps, and the apps' add-ons.

Facts from shared/providers.md §1 and §6. Miget has no pause, no run history and cannot change
a cron job's schedule in place; this client declares exactly that. A cron job is an add-on
entity of type ``cronjob``; its id here is ``APP/CRONJOB``. Responses may carry passwords
(``connection_details``, ``var``): they never reach a model, and bodies are logged scrubbed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Annotated, Any, ClassVar, Literal, Self

import httpx
from pydantic import Field, SecretStr

from providers.base import Capability, Job, JobKind, JobSpec, Listed, Provider, RunResult
from providers.clock import Clock, utcnow
from providers.config import Account, BuildContext
from providers.errors import InvalidInput, NotFound, Unsupported
from providers.http import ProviderHttp
from providers.miget.addons import Addon, AddonSpec
from providers.miget.checks import addon_problems, cronjob_problems
from providers.miget.wire import (
    addon_of,
    entity_of,
    items_of,
    miget_error,
    remember_secrets,
    result_of,
    schedule_key,
    schedule_of,
    str_of,
    time_of,
    uuid_of,
)
from providers.redact import scrub_payload

log = logging.getLogger(__name__)
_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z-]{0,99}")  # Miget's ids are UUIDs

APP_LINK = "https://app.miget.com/apps/{app}"
FANOUT = 4  # concurrent per-app requests of one account
CRONJOB_CAPABILITIES = frozenset(
    {Capability.LIST, Capability.GET, Capability.CREATE, Capability.UPDATE, Capability.DELETE}
)
RESCHEDULE_REFUSAL = (
    "Miget cannot change a cron job's schedule in place; "
    "delete it and create a new one with the new schedule."
)


class MigetAccount(Account):
    provider: Literal["miget"]
    api_key: SecretStr
    workspace_id: str | None = None
    # empty: every app the key can see
    apps: list[Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z-]{0,99}$")]] = Field(
        default_factory=list
    )


class Miget(Provider):
    slug = "miget"
    label = "Miget"
    default_base_url = "https://app.miget.com/api/v1"
    account_model = MigetAccount
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
                    found = [uuid_of(app) for app in items_of(body, "apps")]
                self._discovered = tuple(app for app in found if _ID.fullmatch(app))
                if len(self._discovered) < len(found):  # never let one reach a request path
                    log.warning("%s: ignored app ids that are not ids", self.account)
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
                    result = result_of(str_of(entity.get("state")))
                    ran = time_of(entity.get("updated_at")) if result in _RAN else None
                    build = partial(self._listed_job, app, entity)
                    listed.append(Listed(f"{app}/{uuid_of(entity)}", ran, result, False, build))
        return listed

    def _listed_job(self, app: str, entity: Mapping[str, Any]) -> Job:
        with self.http.mapping("cron job list"):
            return self._job(app, entity)

    async def get_job(self, job_id: str) -> Job:
        app, cronjob = self._split(job_id)
        body = await self._get(f"/apps/{app}/cronjobs/{cronjob}", op="get")
        with self.http.mapping("cron job"):
            return self._job(app, entity_of(body))

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
            return self._job(target, entity_of(body))

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
            return self._job(app, entity_of(body))

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
            return addon_of(target, entity_of(body))

    # -- helpers ----------------------------------------------------------------------------
    async def _app_jobs(self, app: str) -> list[Job]:
        rows = await self._app_rows(app)
        with self.http.mapping("cron job list"):
            return [self._job(app, e) for e in rows]

    async def _app_rows(self, app: str) -> list[Mapping[str, Any]]:
        async with self._fanout:
            body = await self._get(f"/apps/{app}/cronjobs", op="list")
        with self.http.mapping("cron job list"):
            items = items_of(body, "cronjobs")
            return [e for e in items if e.get("type", "cronjob") == "cronjob"]

    async def _app_addons(self, app: str) -> list[Addon]:
        async with self._fanout:
            body = await self._get(f"/apps/{app}/addons", op="addons")
        with self.http.mapping("add-on list"):
            items = items_of(body, "addons")
            return [addon_of(app, e) for e in items if e.get("type") != "cronjob"]

    async def _known_app(self, app: str) -> str:
        if app not in await self.apps():
            raise self._invalid("app", f"`{app}` is not one of this account's apps")
        return app

    def _job(self, app: str, entity: Mapping[str, Any]) -> Job:
        settings = entity.get("settings") or {}
        state = str_of(entity.get("state"))
        result = result_of(state)
        schedule = schedule_of(settings)
        name = str(entity["name"])
        return Job(
            account=self.account,
            provider=self.slug,
            kind=JobKind.CRONJOB,
            id=f"{app}/{uuid_of(entity)}",
            name=str(entity.get("label") or name),
            schedule=schedule,
            # Miget exposes no run time: updated_at (the state's last change) is the best proxy.
            last_run=time_of(entity.get("updated_at")) if result in _RAN else None,
            last_result=result,
            last_status=state,
            command=str_of(settings.get("command")),
            link=APP_LINK.format(app=app),
            capabilities=self.caps(JobKind.CRONJOB),
            details=(("Miget name", name), ("App", app)),
        )

    def _split(self, job_id: str) -> tuple[str, str]:
        """APP/CRONJOB, each an id Miget could have made (UUID-like): nothing else reaches a
        request path (``..``, ``?``, ``#`` or ``%`` would change what the URL means)."""
        app, _, cronjob = job_id.partition("/")
        if not _ID.fullmatch(app) or not _ID.fullmatch(cronjob):
            raise NotFound(f"`{job_id}` is not a Miget job id (APP/CRONJOB)", **self._who())
        if self.configured_apps and app not in self.configured_apps:
            raise NotFound(f"app `{app}` is not configured for this account", **self._who())
        return app, cronjob

    async def _get(self, path: str, *, op: str) -> Any:
        return self._read(await self.http.request("GET", path, op=op), op)

    def _read(self, response: httpx.Response, op: str) -> Any:
        body = self.http.json_of(response)
        remember_secrets(body)
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
