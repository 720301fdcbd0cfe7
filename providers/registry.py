"""Provider slug -> client and simulator. The only place that knows every provider."""

from __future__ import annotations

from providers.base import Provider
from providers.config import AnyAccount, BuildContext
from providers.cronhub import Cronhub
from providers.cronjob_org import CronJobOrg
from providers.djinn import Djinn
from providers.miget import Miget
from providers.sim.base import Simulator
from providers.sim.cronhub import CronhubSim
from providers.sim.cronjob_org import CronJobOrgSim
from providers.sim.djinn import DjinnSim
from providers.sim.miget import MigetSim

PROVIDERS: dict[str, type[Provider]] = {
    "cronjob-org": CronJobOrg,
    "cronhub": Cronhub,
    "djinn": Djinn,
    "miget": Miget,
}

SIMULATORS: dict[str, type[Simulator]] = {
    "cronjob-org": CronJobOrgSim,
    "cronhub": CronhubSim,
    "djinn": DjinnSim,
    "miget": MigetSim,
}


def build_provider(account: AnyAccount, ctx: BuildContext) -> Provider:
    """The client for one configured account."""
    return PROVIDERS[account.provider].from_config(account, ctx)


def build_providers(accounts: list[AnyAccount], ctx: BuildContext) -> dict[str, Provider]:
    """Clients by account name, in config order."""
    return {account.name: build_provider(account, ctx) for account in accounts}
