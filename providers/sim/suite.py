"""All four simulators together: the demo's accounts, `cronops simulate`, end-to-end tests.

Mounted under one app at ``/<slug>`` (``/cronjob-org``, ``/cronhub/api/v1``, ``/djinn``,
``/miget/api/v1``), so one loopback port serves every provider, and in-process each account
gets an ``httpx.ASGITransport`` straight to its simulator.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from providers.clock import Clock
from providers.config import (
    AnyAccount,
    CronhubAccount,
    CronJobOrgAccount,
    DjinnAccount,
    MigetAccount,
)
from providers.sim.base import SIM_KEY, Simulator, real_clock

#: The demo's account name per provider, as they appear in refs (`prod:4242`, `hub:monitor/…`).
DEMO_ACCOUNTS = {"cronjob-org": "prod", "cronhub": "hub", "djinn": "ci", "miget": "apps"}
IN_PROCESS = "http://sim.invalid"
#: For the demo, `cronops simulate` and tests that are not about limits: no quotas to starve on.
UNLIMITED: dict[str, dict[str, Any]] = {"cronjob-org": {"daily_quota": None, "rate_limits": False}}


class SimSuite:
    """One simulator per provider, sharing a clock and a seed."""

    def __init__(
        self,
        *,
        clock: Clock = real_clock,
        seed: int = 7,
        jobs: int | None = None,
        options: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        from providers.registry import SIMULATORS  # the registry imports this package

        options = options or {}
        self.sims: dict[str, Simulator] = {
            slug: cls(clock=clock, seed=seed, jobs=jobs, **options.get(slug, {}))
            for slug, cls in SIMULATORS.items()
        }

    def __getitem__(self, slug: str) -> Simulator:
        return self.sims[slug]

    @functools.cached_property
    def app(self) -> Starlette:
        return Starlette(routes=[Mount(f"/{slug}", app=sim.app) for slug, sim in self.sims.items()])

    def base_url(self, slug: str, root: str = IN_PROCESS) -> str:
        return f"{root.rstrip('/')}/{slug}{self.sims[slug].api_prefix}"

    def accounts(self, root: str = IN_PROCESS, *, budget: int | None = 5000) -> list[AnyAccount]:
        """The demo accounts, pointed at this suite (in-process by default, or a served root)."""
        key = SecretStr(SIM_KEY)
        miget = self.sims["miget"]
        return [
            CronJobOrgAccount(
                name=DEMO_ACCOUNTS["cronjob-org"], provider="cronjob-org", api_key=key,
                base_url=self.base_url("cronjob-org", root), daily_request_budget=budget,
            ),
            CronhubAccount(
                name=DEMO_ACCOUNTS["cronhub"], provider="cronhub", api_key=key,
                base_url=self.base_url("cronhub", root),
            ),
            DjinnAccount(
                name=DEMO_ACCOUNTS["djinn"], provider="djinn", token=key,
                base_url=self.base_url("djinn", root),
            ),
            MigetAccount(
                name=DEMO_ACCOUNTS["miget"], provider="miget", api_key=key,
                base_url=self.base_url("miget", root),
                workspace_id=getattr(miget, "workspace_id", None),
            ),
        ]  # fmt: skip

    def transport_for(self, account: AnyAccount) -> httpx.AsyncBaseTransport:
        """In-process transport to the suite: the same URL layout as when served on loopback."""
        return httpx.ASGITransport(app=self.app)
