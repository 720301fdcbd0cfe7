"""Who opened the Home tab, and the compare-and-set that debounces its refreshes across
processes; on SQLite and (when CRONOPS_TEST_POSTGRES_URL is set) PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store import Store
from tests.store.stores import OpenStore

NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
EVERY = timedelta(seconds=30)


async def test_recent_viewers_are_the_latest_first_within_the_window(store: Store) -> None:
    await store.home.opened("UOLD", NOW - timedelta(days=8))
    await store.home.opened("UA", NOW - timedelta(hours=2))
    await store.home.opened("UB", NOW - timedelta(minutes=1))
    await store.home.opened("UA", NOW)  # opened again: now the latest
    assert await store.home.recent(NOW - timedelta(days=7), 10) == ["UA", "UB"]
    assert await store.home.recent(NOW - timedelta(days=7), 1) == ["UA"]


async def test_a_publish_is_claimed_once_per_interval(store: Store) -> None:
    assert not await store.home.claim("UNEVER", NOW, EVERY)  # never opened: nothing to publish
    await store.home.opened("U1", NOW)  # published on opening
    assert not await store.home.claim("U1", NOW + timedelta(seconds=10), EVERY)
    assert await store.home.published_at("U1") == NOW
    assert await store.home.claim("U1", NOW + EVERY, EVERY)
    assert not await store.home.claim("U1", NOW + EVERY, EVERY)
    await store.home.published("U1", NOW + 2 * EVERY)  # a button pressed: published anyway
    assert await store.home.published_at("U1") == NOW + 2 * EVERY


async def test_of_processes_claiming_at_once_one_publishes(open_store: OpenStore) -> None:
    first = await open_store()
    others = [await open_store(migrate=False) for _ in range(3)]
    await first.home.opened("U1", NOW - EVERY)
    stores = [first, *others]
    claims = await asyncio.gather(*(s.home.claim("U1", NOW, EVERY) for s in stores))
    assert sorted(claims) == [False, False, False, True]


async def test_the_home_lists_every_open_timed_resume_soonest_first(store: Store) -> None:
    for ref, hours in (("prod:late", 5), ("prod:soon", 1), ("prod:done", 2)):
        await store.resumes.schedule(
            ref=ref, account="prod", due_at=NOW + timedelta(hours=hours), requested_by="U1",
            channel="C1", now=NOW,
        )  # fmt: skip
    await store.resumes.cancel("prod:done", NOW)
    assert [r.ref for r in await store.resumes.all_pending()] == ["prod:soon", "prod:late"]
