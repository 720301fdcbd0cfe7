"""The daily digest: due at its local time, posted once a day whatever the processes, restarts
and daylight saving time, telling the day from the database (and one listing)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.digest import Digest, digest_key, for_monitor
from bot.alerts.scheduler import build_scheduler
from bot.chat.service import CronService
from bot.config.settings import DigestConfig
from bot.demo.fakeslack import Call, FakeSlack
from bot.inflight import Inflight
from bot.slack.delivery import Delivery
from bot.store import Store
from providers.config import BuildContext
from providers.registry import build_providers
from providers.sim.serve import LoopbackServer
from providers.sim.suite import UNLIMITED, SimSuite
from tests.alerts.world import Clock, World, healthy
from tests.slack.blockkit import assert_pings_nobody, assert_valid_message
from tests.store.stores import OpenStore

CHANNEL = "CDIGEST01"
BERLIN = "Europe/Berlin"


def _posts(fake: FakeSlack) -> list[Call]:
    return [
        c for c in fake.of("chat.postMessage")
        if c.body.get("channel") == CHANNEL and "_failed" not in c.body
    ]  # fmt: skip


async def _digest(world: World, at: str = "11:00", timezone: str = BERLIN) -> Digest:
    """A fresh process's digest (its own store connection, same database)."""
    config = DigestConfig(channel=CHANNEL, at=at, timezone=timezone)
    digest = for_monitor(await world.monitor(digest=config))
    assert digest is not None
    return digest


def _at(world: World, when: datetime) -> None:
    world.clock.now = when


async def test_the_digest_is_posted_once_a_day_once_its_local_time_has_come(world: World) -> None:
    digest = await _digest(world, at="11:00")  # 10:00 UTC in November (CET, UTC+1)
    _at(world, datetime(2026, 11, 23, 9, 59, tzinfo=UTC))
    assert await digest.run() is False
    _at(world, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert await digest.run() is True
    for minutes in (1, 2, 600):  # the rest of the day: already queued, nothing more
        world.clock.tick(minutes=minutes)
        assert await digest.run() is False
    assert len(_posts(world.fake)) == 1
    _at(world, datetime(2026, 11, 24, 9, 59, tzinfo=UTC))
    assert await digest.run() is False
    _at(world, datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert await digest.run() is True
    assert len(_posts(world.fake)) == 2
    store = digest.store
    assert await store.outbox.queued_at(digest_key(datetime(2026, 11, 24).date())) is not None


async def test_a_process_down_at_the_hour_posts_the_digest_when_it_is_back_that_day(
    world: World,
) -> None:
    digest = await _digest(world, at="11:00")
    _at(world, datetime(2026, 11, 23, 22, 30, tzinfo=UTC))  # 23:30 in Berlin: down till now
    assert await digest.run() is True
    assert len(_posts(world.fake)) == 1
    _at(world, datetime(2026, 11, 23, 23, 30, tzinfo=UTC))  # past local midnight: a new day,
    assert await digest.run() is False  # whose digest waits for its own 11:00
    assert len(_posts(world.fake)) == 1


async def test_two_processes_and_a_restart_post_one_digest(world: World) -> None:
    first, second = await _digest(world), await _digest(world)
    _at(world, datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC))
    queued = await asyncio.gather(first.run(), second.run())
    assert sorted(queued) == [False, True]
    world.clock.tick(minutes=1)
    assert await asyncio.gather(first.run(), second.run()) == [False, False]
    restarted = await _digest(world)  # a third process, later the same day
    world.clock.tick(hours=5)
    assert await restarted.run() is False
    assert len(_posts(world.fake)) == 1
    await world.fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == CHANNEL)


async def test_a_process_that_died_gathering_leaves_the_digest_to_another(world: World) -> None:
    dying, other = await _digest(world), await _digest(world)
    _at(world, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    day = dying.due(world.clock())
    assert day is not None
    # `dying` took the lease and was killed before it queued anything
    assert await dying.store.leases.take(
        digest_key(day), "dead", world.clock(), timedelta(minutes=5)
    )
    assert await other.run() is False  # it waits for the lease...
    world.clock.tick(minutes=6)
    assert await other.run() is True  # ...and takes over once it expired
    assert len(_posts(world.fake)) == 1


@pytest.mark.parametrize(
    ("at", "before", "due"),
    [
        # spring forward, 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:30 never happens,
        # so the digest is due when the clock jumps
        (
            "02:30",
            datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        ),
        # summer: 09:00 in Berlin is 07:00 UTC
        ("09:00", datetime(2026, 7, 1, 6, 59, tzinfo=UTC), datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),
        # winter: 09:00 in Berlin is 08:00 UTC
        (
            "09:00",
            datetime(2026, 12, 1, 7, 59, tzinfo=UTC),
            datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        ),
    ],
)
async def test_the_digest_follows_the_wall_clock_of_its_timezone(
    world: World, at: str, before: datetime, due: datetime
) -> None:
    digest = await _digest(world, at=at)
    _at(world, before)
    assert await digest.run() is False
    _at(world, due)
    assert await digest.run() is True
    assert len(_posts(world.fake)) == 1


async def test_a_time_that_happens_twice_when_the_clocks_go_back_posts_once(world: World) -> None:
    # fall back, 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 happens twice
    digest = await _digest(world, at="02:30")
    _at(world, datetime(2026, 10, 25, 0, 29, tzinfo=UTC))  # 02:29 CEST
    assert await digest.run() is False
    _at(world, datetime(2026, 10, 25, 0, 30, tzinfo=UTC))  # 02:30 CEST
    assert await digest.run() is True
    _at(world, datetime(2026, 10, 25, 1, 30, tzinfo=UTC))  # 02:30 CET, the second time
    assert await digest.run() is False
    _at(world, datetime(2026, 10, 25, 22, 59, tzinfo=UTC))  # 23:59 CET, the day's last minute
    assert await digest.run() is False
    _at(world, datetime(2026, 10, 26, 1, 30, tzinfo=UTC))  # the next day, 02:30 CET
    assert await digest.run() is True
    assert len(_posts(world.fake)) == 2


async def test_the_digest_tells_the_day(world: World) -> None:
    digest = await _digest(world, at="14:00")  # 13:00 UTC
    monitor = world.monitors[-1]
    await monitor.poll("prod")
    sim: Any = world.suite["cronjob-org"]
    for job_id, job in sim.jobs.items():
        job["enabled"] = job_id % 5 != 0  # some paused, the rest running
    recovered = healthy(world)
    world.run("cronjob-org", recovered, ok=False)
    await monitor.poll("prod")
    world.clock.tick(hours=2, minutes=13)
    world.run("cronjob-org", recovered, ok=True)
    await monitor.poll("prod")
    still = next(j for j in sim.job_ids() if j != recovered and sim.jobs[int(j)]["enabled"]
                 and sim.jobs[int(j)]["lastStatus"] in (0, 1))  # fmt: skip
    world.run("cronjob-org", still, ok=False)
    await monitor.poll("prod")
    muted = next(j for j in sim.job_ids() if j not in (recovered, still))
    await digest.store.mutes.set(f"prod:{muted}", None, "UONCALL", world.clock())
    _at(world, datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    assert await digest.run() is True
    (post,) = _posts(world.fake)
    assert_valid_message(post.body)
    assert_pings_nobody([post.body])
    body = json.dumps(post.body["blocks"], ensure_ascii=False)
    title = sim.jobs[int(recovered)]["title"]
    assert "*2 opened · 1 resolved* · longest downtime 2 h 14 min" in body
    assert f"`prod:{recovered}`" in body
    assert title.replace("&", "&amp;") in body
    assert f"*🔴 Still failing (1)*\\n• `prod:{still}`" in body
    assert "— failing for 1 h 44 min" in body
    paused = sum(1 for job in sim.jobs.values() if not job["enabled"])
    assert f"*⏸️ Paused ({paused})*" in body
    assert f"• `prod:{muted}`" in body
    assert "until it recovers, by <@UONCALL>" in body
    assert "(cron-job.org): 0 of 5000 requests yesterday (UTC)" in body
    assert post.body["text"].startswith("cronops daily digest: 2 opened, 1 resolved, 1 failing")


async def test_a_quiet_day_is_one_line(world: World) -> None:
    digest = await _digest(world, at="11:00")
    sim: Any = world.suite["cronjob-org"]
    for job in sim.jobs.values():
        job["enabled"] = True
    _at(world, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert await digest.run() is True
    (post,) = _posts(world.fake)
    (block,) = post.body["blocks"]
    assert "all quiet since" in block["text"]["text"]
    assert "\n" not in block["text"]["text"]


async def test_a_digest_covers_the_time_since_the_one_before(world: World) -> None:
    digest = await _digest(world, at="11:00")
    monitor = world.monitors[-1]
    await monitor.poll("prod")
    job = healthy(world)
    _at(world, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert await digest.run() is True  # day one
    world.clock.tick(hours=1)
    world.run("cronjob-org", job, ok=False)  # after day one's digest
    await monitor.poll("prod")
    _at(world, datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    day_two = await digest.view(datetime(2026, 11, 24).date(), world.clock())
    assert day_two.since == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert [i.ref for i in day_two.opened] == [f"prod:{job}"]
    _at(world, datetime(2026, 11, 25, 10, 0, tzinfo=UTC))  # day two's never queued: 24 h
    day_three = await digest.view(datetime(2026, 11, 25).date(), world.clock())
    assert day_three.since == world.clock() - timedelta(hours=24)
    assert day_three.opened == []


async def test_paused_jobs_come_from_a_recent_listing_without_a_request(world: World) -> None:
    digest = await _digest(world, at="11:00")
    provider = digest.service.provider("prod")
    _at(world, datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
    await digest.service.listing()  # someone's /cron list, half an hour before
    sent = provider.http.requests_sent
    _at(world, datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert await digest.run() is True
    assert provider.http.requests_sent == sent
    assert "Paused jobs as of" in json.dumps(_posts(world.fake)[0].body)
    _at(world, datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # no listing since: one is read
    assert await digest.run() is True
    assert provider.http.requests_sent > sent


async def test_the_scheduler_looks_for_the_digest_every_minute_only_when_configured(
    world: World,
) -> None:
    digest = await _digest(world)
    monitor = world.monitors[-1]
    plain = await world.monitor()
    for watched, expected in ((monitor, True), (plain, False)):
        scheduler = build_scheduler(
            watched.service, watched.store, watched.delivery, inflight=Inflight(),
            clock=world.clock, monitor=watched,
        )  # fmt: skip
        job = scheduler.get_job("digest")
        assert (job is not None) is expected
        if job is not None:
            assert job.trigger.interval == timedelta(minutes=1)
    assert digest.config.channel == CHANNEL


# -- on every database: two processes, one digest -------------------------------------------
@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    async with LoopbackServer(fake.app) as server:
        fake.base_url = server.url
        yield fake, server.url


async def _process(store: Store, suite: SimSuite, clock: Clock, slack_url: str) -> Digest:
    ctx = BuildContext(ledger=store.budget, transport_for=suite.transport_for, clock=clock)
    wanted = [a for a in suite.accounts(budget=100) if a.name == "prod"]
    service = CronService(build_providers(wanted, ctx), clock=clock)
    client = AsyncWebClient(token="xoxb-t", base_url=f"{slack_url}/api/")
    config = DigestConfig(channel=CHANNEL, at="09:00", timezone=BERLIN)
    return Digest(config, store, service, Delivery(store, client), clock=clock)


async def test_two_processes_on_one_database_queue_one_digest(
    open_store: OpenStore, slack: tuple[FakeSlack, str], tmp_path: Path
) -> None:
    clock = Clock(datetime(2026, 7, 1, 7, 0, tzinfo=UTC))
    suite = SimSuite(clock=clock, seed=4, jobs=10, options=UNLIMITED)
    fake, url = slack
    digests = [await _process(await open_store(), suite, clock, url) for _ in range(3)]
    try:
        queued = await asyncio.gather(*(d.run() for d in digests))
        assert sorted(queued) == [False, False, True]
        assert await asyncio.gather(*(d.run() for d in digests)) == [False, False, False]
        assert len(_posts(fake)) == 1
        # only the process holding the lease read the listing: one request of the day's 100
        assert await digests[0].store.budget.used("prod", clock().date()) == 1
    finally:
        for d in digests:
            for provider in d.service.providers.values():
                await provider.aclose()
