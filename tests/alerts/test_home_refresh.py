"""The alert cycle tells the Home tabs when an incident opens or resolves, and only then."""

from __future__ import annotations

from bot.alerts.poll import Kind
from tests.alerts.world import World, healthy


async def test_the_cycle_tells_of_incidents_opening_and_resolving(world: World) -> None:
    monitor = await world.monitor()
    told: list[int] = []

    async def refresh() -> None:
        told.append(1)

    monitor.on_incidents = refresh
    await monitor.poll("prod")  # the first start: a summary, no incident
    assert told == []
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    found = await monitor.poll("prod")
    assert Kind.OPENED in {t.kind for t in found}
    assert len(told) == 1
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")  # failing again: an update, not an opening
    assert len(told) == 1
    world.run("cronjob-org", job, ok=True)
    await monitor.poll("prod")
    assert len(told) == 2


async def test_a_failing_home_refresh_never_fails_the_poll(world: World) -> None:
    monitor = await world.monitor()

    async def broken() -> None:
        raise RuntimeError("Slack is down")

    monitor.on_incidents = broken
    await monitor.poll("prod")
    world.run("cronjob-org", healthy(world), ok=False)
    found = await monitor.poll("prod")
    assert Kind.OPENED in {t.kind for t in found}
    assert len(world.posts()) == 1  # the alert went out all the same
