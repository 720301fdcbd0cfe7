"""The daily request budget lives in the bot's database, so a restart does not reset it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.store import Store
from providers.config import BuildContext
from providers.cronjob_org.client import CronJobOrg, CronJobOrgAccount
from providers.cronjob_org.sim import CronJobOrgSim
from providers.errors import BudgetExhausted
from providers.sim.base import SIM_KEY


async def test_a_spent_budget_stays_spent_across_a_restart(tmp_path: Path) -> None:
    sim = CronJobOrgSim(jobs=5, rate_limits=False, daily_quota=None)
    account = CronJobOrgAccount(
        name="prod", provider="cronjob-org", api_key=SecretStr(SIM_KEY),
        base_url="http://sim.invalid", daily_request_budget=3,
    )  # fmt: skip
    url = f"sqlite:///{tmp_path}/cronops.db"

    def context(store: Store) -> BuildContext:
        return BuildContext(
            ledger=store.budget,
            transport_for=lambda a: httpx.ASGITransport(app=sim.app),
            budget_reserve=0,
            budget_poll_share=0,  # all three for these commands
        )

    async with await Store.open(url) as store:
        client = CronJobOrg.from_config(account, context(store))
        for _ in range(3):
            await client.list_jobs()
        await client.aclose()

    async with await Store.open(url) as store:  # a new process: new store, new client
        client = CronJobOrg.from_config(account, context(store))
        with pytest.raises(BudgetExhausted, match="3 per day") as spent:
            await client.list_jobs()
        await client.aclose()
    assert "00:00 UTC" in spent.value.user_message
    assert sim.total_requests == 3
