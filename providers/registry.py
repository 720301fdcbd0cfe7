"""Every provider cronops knows, by slug: the one place that lists them.

Adding a provider is one folder under ``providers/`` (client and account model, wire format,
simulator in ``sim.py``) and one entry in :data:`PROVIDERS`; the accounts ``cronops.yml`` takes
(:data:`AccountConfig`) and the demo's simulators (:mod:`providers.sim.suite`) follow from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from providers.base import Provider
from providers.config import Account, BuildContext
from providers.cronhub.client import Cronhub
from providers.cronjob_org.client import CronJobOrg
from providers.djinn.client import Djinn
from providers.miget.client import Miget

PROVIDERS: dict[str, type[Provider]] = {p.slug: p for p in (CronJobOrg, Cronhub, Djinn, Miget)}

#: One account in ``accounts:``: each provider's model, told apart by ``provider``.
if TYPE_CHECKING:
    AccountConfig = Account
else:
    AccountConfig = Annotated[
        Union[tuple(p.account_model for p in PROVIDERS.values())],  # noqa: UP007
        Field(discriminator="provider"),
    ]
ACCOUNT_MODELS: dict[str, type[Account]] = {slug: p.account_model for slug, p in PROVIDERS.items()}


def build_provider(account: Account, ctx: BuildContext) -> Provider:
    """The client for one configured account."""
    return PROVIDERS[account.provider].from_config(account, ctx)


def build_providers(accounts: Sequence[Account], ctx: BuildContext) -> dict[str, Provider]:
    """Clients by account name, in config order."""
    return {account.name: build_provider(account, ctx) for account in accounts}
