"""Errors raised by provider clients.

Every failure a provider call can end in is one of these, so callers never see httpx or
JSON exceptions::

    ProviderError                 any provider failure; .user_message is safe to show in Slack
     ├── AuthRejected             401/403, or Djinn's 404-for-bad-token      permanent
     │    └── MissingScope        the token works but lacks .scope            permanent
     ├── NotFound                 the job (or route) does not exist           permanent
     ├── InvalidInput             the provider refused the data; .fields      permanent
     ├── Unsupported              the provider has no API for this action     permanent
     ├── BudgetExhausted          our daily request budget is spent           transient (UTC day)
     │    └── FairShareSpent      one person's hourly share of it is spent    transient (the hour)
     ├── RateLimited              429, or held back by our own rate limits;    transient
     │                            .retry_after in seconds if known
     ├── ProviderUnavailable      5xx, timeout, connection refused             transient
     │    ├── PartialListing      the provider listed only some jobs; .jobs    transient
     │    └── JobUnreadable       a job the provider could not read just now   transient
     └── BadResponse              a 2xx we cannot parse                        transient

``permanent`` tells the caller whether trying the same call again later can help; the
poller uses it to tell an account outage (transient, or auth) from a job problem.
Messages never contain secrets: they are built from status codes and field names only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.base import Job


class ProviderError(Exception):
    """Base of every provider failure."""

    permanent: bool = False
    summary: str = "the provider call failed"

    def __init__(self, detail: str = "", *, account: str = "", provider: str = "") -> None:
        self.detail = detail
        self.account = account
        self.provider = provider
        super().__init__(self.user_message)

    @property
    def user_message(self) -> str:
        """One sentence for a person: who failed, what happened, what to do."""
        who = self.provider_label
        text = f"{who}: {self.summary}" if who else self.summary[0].upper() + self.summary[1:]
        if self.detail:
            text += f" ({self.detail})"
        return text

    @property
    def provider_label(self) -> str:
        if self.account and self.provider:
            return f"{self.provider} account `{self.account}`"
        return self.provider or self.account

    def bind(self, *, account: str, provider: str) -> ProviderError:
        """Fill in which account failed, if the raiser did not know."""
        self.account = self.account or account
        self.provider = self.provider or provider
        self.args = (self.user_message,)
        return self


class AuthRejected(ProviderError):
    permanent = True
    summary = "the API key was rejected; check the key in cronops.yml"


class MissingScope(AuthRejected):
    """The token is accepted but lacks a scope the call needs: ``scope`` names it, e.g.
    ``build:read``. Djinn CI answers such a call 404, like a missing cron; the client tells
    them apart by reading the cron.

    Contract for callers: the whole account's token is short of the scope, so every cron gets
    the same answer; it is a configuration problem (permanent), not a job that is gone.
    """

    def __init__(self, scope: str, *, account: str = "", provider: str = "") -> None:
        self.scope = scope
        self.summary = (
            f"the token lacks the {scope} scope; give it that scope (or make a new token) "
            "and put it in cronops.yml"
        )
        super().__init__(account=account, provider=provider)


class NotFound(ProviderError):
    permanent = True
    summary = "no such job"


class InvalidInput(ProviderError):
    permanent = True
    summary = "the provider refused the input"

    def __init__(
        self,
        detail: str = "",
        *,
        fields: dict[str, list[str]] | None = None,
        account: str = "",
        provider: str = "",
    ) -> None:
        self.fields = dict(fields or {})
        if not detail and self.fields:
            detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in self.fields.items())
        super().__init__(detail, account=account, provider=provider)


class Unsupported(ProviderError):
    """The provider has no API for the action. ``detail`` is the whole sentence."""

    permanent = True
    summary = "not supported"

    @property
    def user_message(self) -> str:
        return self.detail or f"{self.provider or 'This provider'} does not support that."


class BudgetExhausted(ProviderError):
    permanent = False
    summary = "today's request budget is used up; it resets at 00:00 UTC"


class FairShareSpent(BudgetExhausted):
    """One person spent their share of an account's requests for this hour; ``retry_at``
    (aware UTC) is when they may ask again."""

    def __init__(self, share: int, retry_at: datetime) -> None:
        self.retry_at = retry_at
        self.summary = (
            f"you have used your share of this account's requests for this hour ({share}); "
            f"try again at {retry_at:%H:%M} UTC — the rest of today's budget is kept for the "
            "alerts and for others"
        )
        super().__init__()


class RateLimited(ProviderError):
    permanent = False
    summary = "rate limited by the provider; try again shortly"

    def __init__(
        self,
        detail: str = "",
        *,
        retry_after: float | None = None,
        not_sent: bool = False,
        account: str = "",
        provider: str = "",
    ) -> None:
        self.retry_after = retry_after
        self.not_sent = not_sent  # held back by cronops' own limits: waiting is the caller's call
        super().__init__(detail, account=account, provider=provider)

    @property
    def user_message(self) -> str:
        if not (self.not_sent and self.detail):
            return super().user_message
        who = self.provider_label
        return f"{who}: {self.detail}" if who else self.detail


class ProviderUnavailable(ProviderError):
    permanent = False
    summary = "the provider is unreachable or failing; try again later"

    def __init__(
        self, detail: str = "", *, not_sent: bool = False, account: str = "", provider: str = ""
    ) -> None:
        self.not_sent = not_sent  # the request never left (connection refused): safe to resend
        super().__init__(detail, account=account, provider=provider)


class PartialListing(ProviderUnavailable):
    """The provider answered a list but said it is incomplete (cron-job.org ``someFailed``: a
    server holding some of the account's jobs is down).

    Contract for callers: the list is a failed read, never a complete one. ``jobs`` holds the
    jobs that *were* listed, to show with a warning; the ones missing are not gone. Nothing may
    be concluded from their absence: no poll cursor moves, no job is taken as deleted or
    recovered, and the account counts as failing to poll (an outage once it lasts). Raised by
    ``list_jobs``, ``list_for_poll`` and ``check``.
    """

    summary = "some jobs could not be read (one of its servers is down); try again later"

    def __init__(
        self, jobs: Sequence[Job] = (), *, detail: str = "", account: str = "", provider: str = ""
    ) -> None:
        self.jobs: tuple[Job, ...] = tuple(jobs)
        super().__init__(detail, account=account, provider=provider)


class JobUnreadable(ProviderUnavailable):
    """A job the provider answered 404 for while its last list was partial: its server is
    down, so the job could not be read; it is not known to be gone (``detail`` names it)."""

    summary = "a job could not be read (one of its servers is down); try again later"


class BadResponse(ProviderError):
    permanent = False
    summary = "the provider sent a response cronops could not read"
