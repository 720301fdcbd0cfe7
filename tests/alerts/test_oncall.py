"""On-call: a flapping job is one incident, and an incident left failing is brought back up."""

from __future__ import annotations

from datetime import timedelta

from bot.config.settings import FlappingConfig
from bot.store.tables import Incident
from tests.alerts.world import World, healthy


async def _open(world: World) -> list[Incident]:
    store = world.stores[-1]
    return await store.incidents.all_open("prod")


async def test_a_flapping_job_is_one_incident_until_it_stays_up(world: World) -> None:
    monitor = await world.monitor(flapping=FlappingConfig(changes=4, runs=10, recover_after=3))
    await monitor.poll("prod")
    job = healthy(world)
    for ok in (False, True, False, True, False, True, False, True, False):  # it flaps
        world.run("cronjob-org", job, ok=ok)
        await monitor.poll("prod")
    posts = world.posts()
    assert len(posts) == 2  # the first failure, and the one after which it began to flap
    (incident,) = await _open(world)
    assert incident.flapping
    assert incident.failures >= 3  # every failure since, counted on that one incident
    updates = [c for c in world.fake.of("chat.update") if "Flapping" in str(c.body)]
    assert updates  # the alert says so
    for expected_open in (1, 1, 0):  # three good runs in a row end it
        world.run("cronjob-org", job, ok=True)
        await monitor.poll("prod")
        assert len(await _open(world)) == expected_open
    assert len(world.posts()) == 2
    assert len(world.posts(thread=True)) == 2  # each incident's recovery told in its thread


async def test_a_job_that_fails_twice_apart_is_two_incidents_not_flapping(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    job = healthy(world)
    for ok in (False, True, True, True, False):
        world.run("cronjob-org", job, ok=ok)
        await monitor.poll("prod")
    assert len(world.posts()) == 2
    (incident,) = await _open(world)
    assert not incident.flapping


async def test_an_incident_still_failing_is_told_again_in_its_thread(world: World) -> None:
    monitor = await world.monitor(renotify_after=timedelta(hours=4))
    await monitor.poll("prod")
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    (alert,) = world.posts()
    notifier = monitor.notifier

    async def renotify(after: timedelta) -> int:
        queued = await notifier.renotify(world.clock.tick(**{"seconds": after.total_seconds()}),
                                         timedelta(hours=4))  # fmt: skip
        await monitor.deliver()
        return queued

    assert await renotify(timedelta(hours=1)) == 0
    assert await renotify(timedelta(hours=3, minutes=1)) == 1
    assert await renotify(timedelta(minutes=30)) == 0  # once per interval, not per look
    assert await notifier.renotify(world.clock(), timedelta(hours=4)) == 0  # another process
    await monitor.deliver()
    replies = world.posts(thread=True, kind="incident:")
    assert len(replies) == 1
    assert replies[0].body["thread_ts"] == alert.result["ts"]
    assert "still failing for 4 h" in replies[0].body["text"]
    assert "1 failed run" in replies[0].body["text"]
    assert len(world.posts()) == 1  # never a new top-level post
    assert await renotify(timedelta(hours=4)) == 1  # the next interval
    assert len(world.posts(thread=True)) == 2


async def test_an_acknowledged_incident_is_not_told_again(world: World) -> None:
    monitor = await world.monitor(renotify_after=timedelta(hours=1))
    await monitor.poll("prod")
    world.run("cronjob-org", healthy(world), ok=False)
    await monitor.poll("prod")
    (incident,) = await _open(world)
    await monitor.store.incidents.acknowledge(incident.id, "UONCALL", world.clock())
    assert await monitor.notifier.renotify(world.clock.tick(hours=3), timedelta(hours=1)) == 0
