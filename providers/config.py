"""Account configuration (the ``accounts:`` section of cronops.yml) and how clients are built.

:class:`Account` holds what every account has; each provider's folder adds a model of its own,
told apart by ``provider`` (:data:`providers.registry.AccountConfig`), so a key that provider
does not take (``apps`` on a Cronhub account, say) is reported with its path instead of being
ignored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, PositiveFloat, PositiveInt, SecretStr

from providers.budget import BudgetLedger, DailyBudget, MemoryLedger, RateSpec, Sleep
from providers.clock import Clock, utcnow
from providers.http import ErrorHook, Observer, ProviderHttp, RetryPolicy, make_http

AccountName = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=1, max_length=40)]


class Account(BaseModel):
    """What every account in ``accounts:`` has. Each provider's folder defines its own model
    (``provider: Literal["<slug>"]``, its credential and any keys of its own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    credential_key: ClassVar[str] = "api_key"  # the field holding the credential

    name: AccountName
    provider: str
    base_url: HttpUrl | None = None
    timeout: PositiveFloat = 10.0
    daily_request_budget: PositiveInt | None = None

    def credential(self) -> str:
        secret: SecretStr = getattr(self, self.credential_key)
        return secret.get_secret_value()


TransportFor = Callable[[Account], httpx.AsyncBaseTransport | None]


@dataclass
class BuildContext:
    """What a client needs from outside: where counts live, how to reach the wire, a clock."""

    ledger: BudgetLedger = field(default_factory=MemoryLedger)
    transport_for: TransportFor | None = None  # in-process simulators for tests and the demo
    observer: Observer | None = None
    clock: Clock = utcnow
    retry: RetryPolicy | None = None
    budget_reserve: int | None = None  # kept for people (default: a fifth of the budget)
    budget_poll_share: int | None = None  # held for polling (default: half the budget)
    sleep: Sleep = asyncio.sleep  # how rate limits wait: tests pass one that moves their clock

    def http(
        self,
        account: Account,
        *,
        provider: str,
        default_base_url: str,
        headers: Mapping[str, str],
        rate_limits: RateSpec | None = None,
        error_hook: ErrorHook | None = None,
        extra_credentials: Sequence[str | None] = (),
    ) -> ProviderHttp:
        budget = None
        if account.daily_request_budget:
            budget = DailyBudget(
                account=account.name,
                limit=account.daily_request_budget,
                ledger=self.ledger,
                reserve=self.budget_reserve,
                poll_share=self.budget_poll_share,
                clock=self.clock,
            )
        return make_http(
            account=account.name,
            provider=provider,
            base_url=str(account.base_url) if account.base_url else default_base_url,
            headers=headers,
            credentials=[account.credential(), *extra_credentials],
            transport=self.transport_for(account) if self.transport_for else None,
            timeout=account.timeout,
            rate_limits=rate_limits,
            budget=budget,
            retry=self.retry,
            error_hook=error_hook,
            observer=self.observer,
            clock=self.clock,
            sleep=self.sleep,
        )
