"""Publishing each person's Home tab: at once when they look, debounced and paced otherwise.

- **Opened** (``app_home_opened``) or **a button pressed on it**: published at once; the
  person is looking.
- **An incident opened or resolved** (or an account went down or came back): the Home of
  everyone who opened it in the last :data:`RECENT` is refreshed by the process whose poll saw
  it, in the background. Each person's Home is published at most once per ``debounce``
  (coalesced: a burst of incidents is one publish, made after the last of them), decided in
  the database (:meth:`bot.store.home.HomeViewers.claim`), so several processes sharing it do
  not publish the same Home twice; ``views.publish`` replaces the whole view, so a publish
  that races another is harmless anyway.
- **Paced:** every publish takes a token from one bucket, :data:`RATE` a second sustained
  (half of the 100 a minute of ``views.publish``'s Tier 4) with bursts of :data:`BURST`;
  background refreshes leave :data:`RESERVE` tokens for people who are looking. Slack's
  ``ratelimited`` answer holds the bucket for its ``Retry-After`` and queues the Home again.

What a person's last button did is said at the top of their Home for :data:`NOTICE_FOR`
(kept in this process: a refresh published by another process leaves it out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.deps import Deps
from bot.slack.home.content import home_content
from bot.slack.home.members import ChannelMembers
from bot.slack.render.home import home_view

log = logging.getLogger(__name__)

DEBOUNCE = timedelta(seconds=30)  # one background publish per person at most this often
RECENT = timedelta(days=7)  # whose Home is refreshed: who opened it this recently
RECENT_MAX = 1000  # at most this many of them, the latest first
NOTICE_FOR = timedelta(minutes=10)
RATE = 50 / 60  # publishes a second, sustained
BURST = 20
RESERVE = 5


@dataclass
class Bucket:
    """A token bucket in real time: ``rate`` tokens a second, at most ``burst`` saved."""

    rate: float = RATE
    burst: int = BURST
    _tokens: float = field(default=float(BURST), init=False)
    _at: float = field(default_factory=time.monotonic, init=False)
    _held_until: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)

    async def take(self, reserve: int = 0) -> None:
        """Wait for a token, leaving ``reserve`` of them to others."""
        while True:
            now = time.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now
            if now >= self._held_until and self._tokens >= 1 + reserve:
                self._tokens -= 1
                return
            short = (1 + reserve - self._tokens) / self.rate
            await asyncio.sleep(max(self._held_until - now, short, 0.01))

    def hold(self, seconds: float) -> None:
        """Slack said to wait: no token for ``seconds``."""
        self._held_until = max(self._held_until, time.monotonic() + seconds)
        self._tokens = 0.0


class HomeTab:
    """Publishes the Home tab of the people who look at it."""

    def __init__(
        self,
        deps: Deps,
        client: AsyncWebClient,
        *,
        debounce: timedelta = DEBOUNCE,
        bucket: Bucket | None = None,
    ) -> None:
        self.deps, self.client = deps, client
        self.debounce = debounce
        self.bucket = bucket or Bucket()
        self.members = ChannelMembers(client)
        self._notices: dict[str, tuple[str, datetime]] = {}
        self._asked: dict[str, datetime] = {}  # person -> the latest refresh asked for
        self._due: dict[str, datetime] = {}  # person -> not before
        self._failed: set[str] = set()  # whose last publish Slack refused to take yet
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    # -- at once --------------------------------------------------------------------------
    async def opened(self, user: str) -> None:
        """``user`` opened the Home tab: remember them, and publish it now."""
        now = self.deps.clock()
        await self.deps.store.home.opened(user, now)
        self._notices.pop(user, None)  # seen
        await self._publish(user, now, fresh=True)

    async def show(self, user: str, notice: str | None = None) -> None:
        """Publish ``user``'s Home now (they pressed a button on it); ``notice`` (mrkdwn)
        says at its top what the button did."""
        now = self.deps.clock()
        if notice:
            self._notices[user] = (notice, now)
        await self.deps.store.home.published(user, now)
        await self._publish(user, now, fresh=False)

    # -- later ----------------------------------------------------------------------------
    async def refresh_recent(self) -> int:
        """An incident opened or resolved: refresh the Home of everyone who opened it lately,
        in the background; how many are queued."""
        now = self.deps.clock()
        users = await self.deps.store.home.recent(now - RECENT, RECENT_MAX)
        for user in users:
            self._queue(user, now)
        return len(users)

    @property
    def queued(self) -> int:
        return len(self._asked)

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def _work(self) -> None:
        while self._asked:
            now = self.deps.clock()
            ready = [user for user, due in self._due.items() if due <= now]
            if not ready:
                self._wake.clear()
                wait = (min(self._due.values()) - now).total_seconds()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(wait, 0.01))
                continue
            user = min(ready, key=lambda u: self._due[u])
            asked = self._asked.pop(user)
            del self._due[user]
            try:
                await self._refresh(user, asked)
            except Exception:  # one person's Home never stops the others'
                log.exception("could not refresh the Home tab of %s", user)

    async def _refresh(self, user: str, asked: datetime) -> None:
        """Publish unless a publish since ``asked`` covers it; if one was published too
        recently, once ``debounce`` has passed."""
        store, now = self.deps.store, self.deps.clock()
        if user in self._failed:  # claimed before, but not published: publish it now
            self._failed.discard(user)
            await store.home.published(user, now)
            await self._publish(user, now, fresh=False, reserve=RESERVE)
            return
        if await store.home.claim(user, now, self.debounce):
            await self._publish(user, now, fresh=False, reserve=RESERVE)
            return
        last = await store.home.published_at(user)
        if last is None or last >= asked:
            return  # gone, or published (with what was asked for) since
        self._asked[user] = max(asked, self._asked.get(user, asked))
        self._due[user] = min(last + self.debounce, self._due.get(user, last + self.debounce))

    # -- publishing -----------------------------------------------------------------------
    async def _publish(self, user: str, now: datetime, *, fresh: bool, reserve: int = 0) -> None:
        content = await home_content(
            self.deps, self.members, user, now, fresh=fresh, notice=self._notice(user, now)
        )
        view = home_view(content, now=now)
        await self.bucket.take(reserve)
        try:
            await self.client.views_publish(user_id=user, view=view)
        except SlackApiError as error:
            if error.response.status_code != 429:
                raise
            retry = float(error.response.headers.get("Retry-After") or 1)
            log.info("views.publish is rate limited: waiting %.0f s", retry)
            self.bucket.hold(retry)
            self._later(user, now)

    def _later(self, user: str, now: datetime) -> None:
        """Publish ``user``'s Home again once the bucket allows."""
        self._failed.add(user)
        self._queue(user, now)

    def _queue(self, user: str, now: datetime) -> None:
        self._asked[user] = now
        self._due.setdefault(user, now)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())
        self._wake.set()

    def _notice(self, user: str, now: datetime) -> tuple[str, datetime] | None:
        notice = self._notices.get(user)
        if notice is not None and now - notice[1] >= NOTICE_FOR:
            del self._notices[user]
            return None
        return notice
