"""Listings under load: concurrent askers share one provider request per account."""

from __future__ import annotations

import asyncio

from bot.service import CronService
from providers.config import BuildContext
from providers.registry import build_providers
from providers.sim.suite import UNLIMITED, SimSuite


async def test_fifty_concurrent_lists_send_one_request_per_account() -> None:
    suite = SimSuite(seed=1, jobs=5, options=UNLIMITED)
    for sim in suite.sims.values():
        sim.latency = 0.2
    providers = build_providers(suite.accounts(), BuildContext(transport_for=suite.transport_for))
    service = CronService(providers)
    try:
        listings = await asyncio.gather(*(service.listing() for _ in range(50)))
    finally:
        for provider in providers.values():
            await provider.aclose()
    assert all(len(listing.jobs) == len(listings[0].jobs) > 0 for listing in listings)
    assert all(not listing.failures for listing in listings)
    assert suite["cronjob-org"].total_requests == 1
    assert suite["djinn"].total_requests == 1
    assert suite["cronhub"].total_requests == 2  # schedulers and monitors
