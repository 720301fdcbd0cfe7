"""`/cron status`: each account's reachability, key, request budget and polling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import Block

from bot.chat.durations import humanize
from bot.slack.render.messages import help_blocks
from bot.slack.render.text import inline, slack_date

TEXT = "Account status"


@dataclass(frozen=True)
class AccountStatus:
    account: str
    provider_label: str
    failure: str | None  # why the account could not be listed (a provider's sentence)
    used: int | None
    limit: int | None  # the daily request budget, if any
    last_poll: datetime | None
    every: timedelta  # how often the poller reads it now
    polled_by: str | None = None  # the process polling it, when several share the database


def status_blocks(accounts: Sequence[AccountStatus]) -> list[Block]:
    return help_blocks([_line(status) for status in accounts], title="Accounts")


def _line(status: AccountStatus) -> str:
    if status.failure is not None:
        state = f"⚠️ {inline(status.failure, 300)}"
    else:
        state = "✅ reachable, key accepted"
    budget = (
        f"{status.used} / {status.limit} requests today" if status.limit else "no request budget"
    )
    last = slack_date(status.last_poll) if status.last_poll else "not yet"
    by = f" by `{inline(status.polled_by, 80)}`" if status.polled_by else ""
    return (
        f"*{inline(status.account, 100)}* ({inline(status.provider_label, 100)}) — {state} — "
        f"{budget} — "
        f"last poll {last}, polling every {humanize(status.every)}{by}"
    )
