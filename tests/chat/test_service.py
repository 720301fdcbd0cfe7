"""Listings under load: concurrent askers share one provider request per account."""

from __future__ import annotations

import asyncio

from bot.chat.service import CronService
from providers.base import Job
from providers.config import BuildContext
from providers.registry import build_providers
from providers.sim.suite import UNLIMITED, SimSuite


async def test_fifty_concurrent_lists_send_one_request_per_account() -> None:
    suite, service = _service(latency=0.2)
    try:
        listings = await asyncio.gather(*(service.listing() for _ in range(50)))
    finally:
        await _close(service)
    assert all(len(listing.jobs) == len(listings[0].jobs) > 0 for listing in listings)
    assert all(not listing.failures for listing in listings)
    assert suite["cronjob-org"].total_requests == 1
    assert suite["djinn"].total_requests == 1
    assert suite["cronhub"].total_requests == 2  # schedulers and monitors


def _service(latency: float = 0.0) -> tuple[SimSuite, CronService]:
    suite = SimSuite(seed=2, jobs=4, options=UNLIMITED)
    for sim in suite.sims.values():
        sim.latency = latency
    providers = build_providers(suite.accounts(), BuildContext(transport_for=suite.transport_for))
    return suite, CronService(providers)


async def _close(service: CronService) -> None:
    for provider in service.providers.values():
        await provider.aclose()


async def test_lists_asked_together_share_one_read_and_one_stamp() -> None:
    suite, service = _service(latency=0.1)
    try:
        listings = await asyncio.gather(service.listing(), service.listing())
    finally:
        await _close(service)
    assert listings[0].jobs
    assert listings[0].stamp == listings[1].stamp  # so their answers are rendered once
    assert suite["cronjob-org"].total_requests == 1
    assert suite["cronhub"].total_requests == 2  # schedulers and monitors, once


async def test_a_failed_read_is_reported_to_everyone_who_joined_it_and_retried() -> None:
    suite, service = _service(latency=0.05)
    sim = suite["cronjob-org"]
    sim.fault = 500
    try:
        failed = await asyncio.gather(service.listing("prod"), service.listing("prod"))
        sim.fault = None
        recovered = await service.listing("prod")
    finally:
        await _close(service)
    for listing in failed:
        assert not listing.jobs
        assert [f.account for f in listing.failures] == ["prod"]
    assert recovered.jobs
    assert not recovered.failures


async def test_a_read_begun_before_a_change_is_neither_joined_nor_cached_after_it() -> None:
    suite, service = _service()
    provider = service.providers["prod"]
    read, landed = provider.list_jobs, asyncio.Event()

    async def read_in_transit() -> list[Job]:  # answered before the pause, arriving after it
        jobs = await read()
        await landed.wait()
        return jobs

    try:
        job = (await service.listing("prod")).jobs[0]
        provider.list_jobs = read_in_transit  # type: ignore[method-assign]
        before = asyncio.ensure_future(service.listing("prod", fresh=True))
        await asyncio.sleep(0.05)  # that read has its answer, still in transit
        provider.list_jobs = read  # type: ignore[method-assign]
        paused = await service.pause(job)
        during = await service.listing("prod")  # a new read, not the one begun before
        joined = before.done()
        landed.set()
        stale = await before
        after = await service.listing("prod")  # the cache holds the read begun after
    finally:
        await _close(service)
    assert paused.paused
    assert not joined
    assert not next(j for j in stale.jobs if j.id == job.id).paused  # it was stale
    assert next(j for j in during.jobs if j.id == job.id).paused
    assert next(j for j in after.jobs if j.id == job.id).paused
    assert suite["cronjob-org"].requests["GET /jobs"] == 3


async def test_the_last_listing_is_known_through_changes_without_a_request() -> None:
    suite, service = _service()
    try:
        assert service.known("prod") is None  # never listed: the Home says so
        listing = await service.listing("prod")
        job = next(j for j in listing.jobs if not j.paused and j.capabilities)
        before = suite["cronjob-org"].total_requests
        known = service.known("prod")
        assert known is not None
        assert known.jobs == listing.jobs
        assert suite["cronjob-org"].total_requests == before
        paused = await service.pause(job)
        after = service.known("prod")
        assert after is not None
        assert after.at == known.at  # as old as the listing it came from
        assert [j for j in after.jobs if j.id == job.id] == [paused]
        assert [j.id for j in after.jobs] == [j.id for j in known.jobs]  # in its place
        await service.delete(paused)
        gone = service.known("prod")
        assert gone is not None
        assert job.id not in {j.id for j in gone.jobs}
    finally:
        await _close(service)
