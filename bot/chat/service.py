"""What the bot does, independent of Slack: list, resolve, show, change jobs across accounts.

Provider calls fan out with ``asyncio.gather`` under a per-account limit; one account failing
never hides the others. Listings are cached briefly per account: a list within ``cache_ttl`` is
served from memory, and when an account refuses (budget spent, outage) the last listing is
served with its age rather than nothing.

Djinn CI lists its crons without their builds; the poller reads each cron's builds every cycle
and remembers the newest in its cursor. :func:`with_polled_results` fills a listing's unknown
results from those cursors, so `/cron list failing` finds a failing Djinn cron without a
builds request per cron for every list.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, cast

from bot.store import Store
from providers.base import Capability, Execution, Job, JobSpec, Provider, RunResult
from providers.clock import Clock, utcnow
from providers.errors import NotFound, PartialListing, ProviderError

_OWN_WORDS = frozenset(RunResult) - {RunResult.UNKNOWN}


async def with_polled_results(store: Store | None, jobs: Sequence[Job]) -> list[Job]:
    """``jobs`` with every unknown last result the poller has seen filled in."""
    unknown = {job.account for job in jobs if job.last_result is RunResult.UNKNOWN}
    if store is None or not unknown:
        return list(jobs)
    cursors = {account: await store.cursors.of(account) for account in sorted(unknown)}
    filled = []
    for job in jobs:
        cursor = cursors.get(job.account, {}).get(job.id)
        if job.last_result is RunResult.UNKNOWN and cursor and cursor.last_result in _OWN_WORDS:
            job = job.model_copy(
                update={
                    "last_result": RunResult(cursor.last_result),
                    "last_run": cursor.last_run or job.last_run,
                }
            )
        filled.append(job)
    return filled


T = TypeVar("T")
StatusFilter = Literal["failing", "paused", "active"]
READ_TTL = timedelta(minutes=1)  # a job's card or history is read again after this
READS_KEPT = 1024  # cards and histories kept
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass(frozen=True)
class AccountFailure:
    account: str
    provider: str
    message: str


@dataclass(frozen=True)
class Listing:
    jobs: list[Job]
    failures: list[AccountFailure]
    as_of: datetime | None = None  # set when any part came from the cache
    # Which reads of each account this listing is made of: equal stamps, equal listings (so
    # three hundred people asking at once get one rendering).
    stamp: tuple[object, ...] = ()


class RefError(Exception):
    """A ref or name that does not lead to exactly one job.

    ``message`` is a plain sentence (logs, the store); Slack renders the data the subclasses
    keep (:mod:`bot.slack.render.problems`), escaped.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class NoMatch(RefError):
    def __init__(
        self, text: str, closest: Sequence[str] = (), *, account: str | None = None
    ) -> None:
        self.text, self.account = text, account
        self.closest = list(closest)
        hint = f" Closest: {', '.join(self.closest)}." if self.closest else ""
        # a ref names its account: list that; a name is a search
        look = f"/cron list {account}" if account else f"/cron list {text}"
        super().__init__(f"No job matches `{text}`.{hint} Try `{look}`.")


class Ambiguous(RefError):
    def __init__(self, text: str, candidates: Sequence[Job]) -> None:
        self.text = text
        self.candidates = list(candidates)
        picks = "\n".join(f"• `{j.ref}` {j.name}" for j in self.candidates[:8])
        more = f"\n…and {len(candidates) - 8} more" if len(candidates) > 8 else ""
        super().__init__(f"{len(candidates)} jobs match `{text}`; use a ref:\n{picks}{more}")


@dataclass
class _Cached:
    jobs: list[Job]
    at: datetime
    read: int = 0  # which read of the account filled it (counts up per service)


@dataclass(frozen=True)
class Known:
    """An account's jobs as last listed (at ``at``), with the changes made through the bot
    since applied: what can be shown without a request, however old."""

    jobs: list[Job]
    at: datetime


class CronService:
    """The operations behind `/cron`, over every configured account."""

    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        clock: Clock = utcnow,
        cache_ttl: timedelta = timedelta(seconds=30),
        per_account: int = 4,
    ) -> None:
        self.providers = dict(providers)
        self.clock = clock
        self.cache_ttl = cache_ttl
        self._cache: dict[str, _Cached] = {}
        self._known: dict[str, Known] = {}  # kept through changes, unlike the cache
        self._reads = 0
        self._listing: dict[str, asyncio.Future[list[Job]]] = {}
        self._changes: dict[str, int] = {}  # per account, counts changes made through the bot
        # A job's card and history as last read, by (account, job id, what): repeated reads
        # within READ_TTL come from here (each costs a request of a budget people share).
        self._job_reads: dict[tuple[str, str, str], tuple[datetime, asyncio.Future[Any]]] = {}
        self._limits = {name: asyncio.Semaphore(per_account) for name in self.providers}

    @property
    def accounts(self) -> list[str]:
        return list(self.providers)

    def provider(self, account: str) -> Provider:
        try:
            return self.providers[account]
        except KeyError:
            known = ", ".join(f"`{a}`" for a in self.providers) or "none configured"
            raise RefError(f"There is no account `{account}`; accounts: {known}.") from None

    def capabilities_of(self, account: str, job_id: str) -> frozenset[Capability]:
        """What a job can do, from its id alone (no request)."""
        provider = self.provider(account)
        try:
            return provider.caps(provider.kind_of(job_id))
        except (NotFound, TypeError):
            return frozenset()

    async def call(self, account: str, operation: Callable[[Provider], Awaitable[T]]) -> T:
        """Run one provider operation under the account's concurrency limit."""
        async with self._limits[account]:
            return await operation(self.provider(account))

    # -- reading --------------------------------------------------------------------------
    async def listing(
        self, account: str | None = None, *, fresh: bool = False, max_age: timedelta | None = None
    ) -> Listing:
        """Every job (of ``account``), from a cached listing younger than ``max_age`` (default
        ``cache_ttl``) or read again."""
        names = [self.provider(account).account] if account else self.accounts
        age = max_age if max_age is not None else self.cache_ttl
        results = await asyncio.gather(*(self._account_jobs(name, fresh, age) for name in names))
        jobs = [job for part, _, _ in results for job in part]
        failures = [failure for _, failure, _ in results if failure]
        ages = [at for _, _, at in results if at is not None]
        stamp = tuple(
            (name, cached.read if (cached := self._cache.get(name)) else None, failure)
            for name, (_, failure, _) in zip(names, results, strict=True)
        )
        return Listing(jobs, failures, min(ages) if ages else None, stamp)

    async def _account_jobs(
        self, account: str, fresh: bool, max_age: timedelta
    ) -> tuple[list[Job], AccountFailure | None, datetime | None]:
        cached = self._cache.get(account)
        if cached and not fresh and self.clock() - cached.at < max_age:
            return cached.jobs, None, cached.at if max_age > self.cache_ttl else None
        try:
            jobs = await asyncio.shield(self._listing_task(account))
        except PartialListing as partial:  # what was listed, and that some could not be
            failure = AccountFailure(account, self.providers[account].label, partial.user_message)
            return list(partial.jobs), failure, None
        except ProviderError as error:
            failure = AccountFailure(account, self.providers[account].label, error.user_message)
            if cached:
                return cached.jobs, failure, cached.at
            return [], failure, None
        return jobs, None, None

    def _listing_task(self, account: str) -> asyncio.Future[list[Job]]:
        """One list request per account at a time: concurrent askers share it (single flight)."""
        task = self._listing.get(account)
        if task is None:
            started, changes = self.clock(), self._changes.get(account, 0)
            task = asyncio.ensure_future(self.call(account, lambda p: p.list_jobs()))
            self._listing[account] = task
            task.add_done_callback(lambda done: self._settled(account, done, started, changes))
        return task

    def _settled(
        self, account: str, task: asyncio.Future[list[Job]], started: datetime, changes: int
    ) -> None:
        if self._listing.get(account) is task:
            self._listing.pop(account)
        if task.cancelled() or task.exception() is not None:
            return  # the exception is retrieved: a read whose askers all left must not warn
        if self._changes.get(account, 0) == changes:  # a change since makes this read stale
            self._reads += 1
            self._cache[account] = _Cached(task.result(), started, self._reads)
            self._known[account] = Known(task.result(), started)

    def known(self, account: str) -> Known | None:
        """The account's jobs as last listed, changes made since included; no request (None
        if it was never listed by this process)."""
        return self._known.get(account)

    async def resolve(self, text: str) -> Job:
        """The one job a ref (``prod:4242``, a unique id prefix) or a name points at."""
        text = text.strip()
        account, _, job_id = text.partition(":")
        if job_id and account in self.providers:  # copied from a list: `hub:monitor/b5e5e820…`
            return await self._resolve_ref(account, job_id.removesuffix("…"), text)
        listing = await self.listing()
        named = [j for j in listing.jobs if j.name.casefold() == text.casefold()]
        by_id = [j for j in listing.jobs if j.id == text]
        matches = named or by_id
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise Ambiguous(text, matches)
        names = sorted({j.name for j in listing.jobs})
        closest = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
        closest += [n for n in names if text.casefold() in n.casefold() and n not in closest]
        raise NoMatch(text, closest[:5])

    async def _resolve_ref(self, account: str, job_id: str, text: str) -> Job:
        listing = await self.listing(account)
        exact = [j for j in listing.jobs if j.id == job_id]
        if exact:
            return exact[0]
        prefixed = [j for j in listing.jobs if j.id.startswith(job_id) and _prefix_ok(j.id, job_id)]
        if len(prefixed) == 1:
            return prefixed[0]
        if prefixed:
            raise Ambiguous(text, prefixed)
        try:  # the listing may be stale or partial: ask the provider itself
            return await self.call(account, lambda p: p.get_job(job_id))
        except NotFound:
            raise NoMatch(text, account=account) from None

    async def show(self, job: Job) -> Job:
        """The job as the provider has it (read at most once a minute per job)."""
        return cast(Job, await self._read(job, "show", lambda p: p.get_job(job.id)))

    async def history(self, job: Job, limit: int = 10) -> list[Execution]:
        """The job's last ``limit`` runs (read at most once a minute per job and length)."""
        return await self._read(job, f"history:{limit}", lambda p: p.history(job.id, limit))

    async def _read(self, job: Job, what: str, read: Callable[[Provider], Awaitable[T]]) -> T:
        """One read of a job's ``what`` per READ_TTL: askers meanwhile share it (even while it
        is under way); a failed read is not kept."""
        key = (job.account, job.id, what)
        kept = self._job_reads.get(key)
        if kept is None or self.clock() - kept[0] >= READ_TTL:
            if len(self._job_reads) >= READS_KEPT:
                del self._job_reads[next(iter(self._job_reads))]  # the oldest
            kept = (self.clock(), asyncio.ensure_future(self.call(job.account, read)))
            self._job_reads[key] = kept
            kept[1].add_done_callback(lambda done: self._forget_failed_read(key, done))
        return cast(T, await asyncio.shield(kept[1]))

    def _forget_failed_read(self, key: tuple[str, str, str], done: asyncio.Future[Any]) -> None:
        failed = done.cancelled() or done.exception() is not None
        kept = self._job_reads.get(key)
        if failed and kept is not None and kept[1] is done:
            del self._job_reads[key]

    # -- changing -------------------------------------------------------------------------
    async def pause(self, job: Job) -> Job:
        return self._changed(await self.call(job.account, lambda p: p.pause(job.id)))

    async def resume(self, job: Job) -> Job:
        return self._changed(await self.call(job.account, lambda p: p.resume(job.id)))

    async def create(self, account: str, spec: JobSpec) -> Job:
        return self._changed(await self.call(account, lambda p: p.create(spec)))

    async def update(self, job: Job, spec: JobSpec) -> Job:
        return self._changed(await self.call(job.account, lambda p: p.update(job.id, spec)))

    async def delete(self, job: Job) -> None:
        await self.call(job.account, lambda p: p.delete(job.id))
        self._forget(job.account)
        self._keep(job, deleted=True)

    def _changed(self, job: Job) -> Job:
        self._forget(job.account)
        self._keep(job)
        return job

    def _keep(self, job: Job, *, deleted: bool = False) -> None:
        """Apply a change to the account's last known listing (created, changed or gone)."""
        known = self._known.get(job.account)
        if known is None:
            return
        jobs = [j for j in known.jobs if j.id != job.id]
        if not deleted:
            at = next((n for n, j in enumerate(known.jobs) if j.id == job.id), len(jobs))
            jobs.insert(at, job)
        self._known[job.account] = Known(jobs, known.at)

    def _forget(self, account: str) -> None:
        """After a change the cached listing, and any read begun before it, are stale."""
        self._changes[account] = self._changes.get(account, 0) + 1
        self._cache.pop(account, None)
        self._listing.pop(account, None)  # the next asker starts a new read
        for key in [k for k in self._job_reads if k[0] == account]:
            del self._job_reads[key]


def filter_jobs(jobs: Sequence[Job], status: StatusFilter | None, text: str | None) -> list[Job]:
    """The jobs a `/cron list` filter keeps, failing first, then by name."""
    kept = [j for j in jobs if _status_matches(j, status)]
    if text:
        needle = text.casefold()
        kept = [j for j in kept if needle in j.name.casefold() or needle in j.ref.casefold()]
    return sorted(kept, key=lambda j: (j.last_result is not RunResult.FAILED, j.name.casefold()))


def _status_matches(job: Job, status: StatusFilter | None) -> bool:
    if status == "failing":
        return job.last_result is RunResult.FAILED
    if status == "paused":
        return job.paused
    if status == "active":
        return not job.paused
    return True


def _prefix_ok(full_id: str, typed: str) -> bool:
    """Prefixes are for long ids: the UUID part must be typed to 8+ characters."""
    full_last, typed_last = full_id.rsplit("/", 1)[-1], typed.rsplit("/", 1)[-1]
    return bool(_UUID.match(full_last)) and len(typed_last) >= 8
