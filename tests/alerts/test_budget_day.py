"""A simulated day on cron-job.org's 100 requests: polling paces itself, people get answers."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from bot.alerts.poll import Kind
from tests.alerts.world import START, World


async def test_a_day_of_polling_stays_inside_the_budget(world: World) -> None:
    world.clock.now = midnight = START.replace(hour=0)  # one whole UTC day
    monitor = await world.monitor(budget=100)  # cron-job.org's default daily quota
    sim: Any = world.suite["cronjob-org"]
    rng = random.Random(42)
    command_times = sorted(midnight + timedelta(seconds=rng.uniform(0, 86_000)) for _ in range(20))
    end = midnight + timedelta(days=1)
    answered, opened, longest = 0, 0, 0.0
    while world.clock.now < end:
        while command_times and command_times[0] <= world.clock.now:
            command_times.pop(0)
            listing = await monitor.service.listing("prod", fresh=True)
            answered += not listing.failures
        if rng.random() < 0.3:
            sim.run(rng.choice(sim.job_ids()), ok=rng.random() < 0.5, at=world.clock.now)
        transitions = await monitor.poll("prod")
        opened += sum(t.kind is Kind.OPENED for t in transitions)
        interval = monitor.intervals["prod"]
        longest = max(longest, interval)
        world.clock.tick(seconds=interval)
    used = await monitor.service.provider("prod").http.budget_state()
    assert sim.total_requests <= 100, f"{sim.total_requests} requests sent"
    assert used[0] is not None
    assert used[0] <= 100
    assert answered == 20, "the reserve keeps people's commands working all day"
    assert opened >= 1, "failures were still noticed"
    assert longest >= 900, "polling slowed down below the 60 s poll_interval"
