"""All the simulators together: the demo's accounts, `cronops simulate`, end-to-end tests.

One simulator per provider in :data:`providers.registry.PROVIDERS`, found in the ``sim``
module of the provider's folder (its ``SIMULATOR``). They are mounted under one app at
``/<slug>`` (``/cronjob-org``, ``/cronhub/api/v1``, ``/djinn``, ``/miget/api/v1``), so one
loopback port serves every provider, and in-process each account gets an
``httpx.ASGITransport`` straight to its simulator.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import httpx
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from providers.base import Provider
from providers.clock import Clock
from providers.config import Account
from providers.registry import PROVIDERS
from providers.sim.base import SIM_KEY, Simulator, real_clock

IN_PROCESS = "http://sim.invalid"
#: For the demo, `cronops simulate` and tests that are not about limits: no quotas to starve on.
UNLIMITED: dict[str, dict[str, Any]] = {"cronjob-org": {"daily_quota": None, "rate_limits": False}}


def simulator_of(provider: type[Provider]) -> type[Simulator]:
    """A provider's simulator: ``SIMULATOR`` in the ``sim`` module beside its client."""
    package = provider.__module__.rpartition(".")[0]
    simulator: type[Simulator] = importlib.import_module(f"{package}.sim").SIMULATOR
    return simulator


#: The demo's account name per provider, as they appear in refs (`prod:4242`, `hub:monitor/…`).
DEMO_ACCOUNTS = {slug: simulator_of(p).demo_account for slug, p in PROVIDERS.items()}


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
        options = options or {}
        self.sims: dict[str, Simulator] = {
            slug: simulator_of(p)(clock=clock, seed=seed, jobs=jobs, **options.get(slug, {}))
            for slug, p in PROVIDERS.items()
        }

    def __getitem__(self, slug: str) -> Simulator:
        return self.sims[slug]

    @functools.cached_property
    def app(self) -> Starlette:
        return Starlette(routes=[Mount(f"/{slug}", app=sim.app) for slug, sim in self.sims.items()])

    def base_url(self, slug: str, root: str = IN_PROCESS) -> str:
        return f"{root.rstrip('/')}/{slug}{self.sims[slug].api_prefix}"

    def accounts(self, root: str = IN_PROCESS, *, budget: int | None = 5000) -> list[Account]:
        """The demo accounts, pointed at this suite (in-process by default, or a served root).

        ``budget`` is the daily request budget of the providers that have one by default
        (cron-job.org's quota).
        """
        accounts = []
        for slug, sim in self.sims.items():
            model = PROVIDERS[slug].account_model
            values: dict[str, Any] = {
                "name": sim.demo_account, "provider": slug, "base_url": self.base_url(slug, root),
                model.credential_key: SecretStr(SIM_KEY), **sim.account_options(),
            }  # fmt: skip
            if model.model_fields["daily_request_budget"].default is not None:
                values["daily_request_budget"] = budget
            accounts.append(model(**values))
        return accounts

    def transport_for(self, account: Account) -> httpx.AsyncBaseTransport:
        """In-process transport to the suite: the same URL layout as when served on loopback."""
        return httpx.ASGITransport(app=self.app)
