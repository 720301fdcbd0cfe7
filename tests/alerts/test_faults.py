"""Alerts under faults: a kill at any instant, a flaky account, a message Slack cannot take."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.alerts.world import DEFAULT, World, healthy


class Killed(Exception):
    """Stands for the process dying at this point."""


async def test_a_kill_between_an_incident_and_its_message_loses_neither(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await world.monitor()
    await first.poll("prod")
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)

    async def killed(*args: Any, **kwargs: Any) -> bool:
        raise Killed

    monkeypatch.setattr(first.store.outbox, "enqueue", killed)
    with pytest.raises(Killed):
        await first.poll("prod")  # the incident is recorded, its message is not: killed

    second = await world.monitor()  # the restarted process, same database
    await second.poll("prod")
    (alert,) = world.posts()
    assert f"prod:{job}" in str(alert.body)
    world.run("cronjob-org", job, ok=True)
    await second.poll("prod")
    assert len(world.posts(thread=True)) == 1  # and its recovery is told too


async def test_one_failed_poll_is_not_an_outage(world: World) -> None:
    monitor = await world.monitor(outage_after=3)
    await monitor.poll("prod")
    sim: Any = world.suite["cronjob-org"]
    for failed_polls in (1, 2):  # a timeout, then another: still not an outage
        sim.fault = 500
        for _ in range(failed_polls):
            world.clock.tick(minutes=1)
            await monitor.poll("prod")
        sim.fault = None
        await monitor.poll("prod")
    assert world.posts(kind="account:") == []
    state = await monitor.store.accounts.state("prod")
    assert state is not None
    assert state.reachable
    assert state.failed_polls == 0


async def test_the_third_failed_poll_in_a_row_is_one_outage_notice(world: World) -> None:
    monitor = await world.monitor(outage_after=3)
    await monitor.poll("prod")
    sim: Any = world.suite["cronjob-org"]
    sim.fault = 500
    for expected in (0, 0, 1, 1):
        world.clock.tick(minutes=1)
        await monitor.poll("prod")
        assert len(world.posts(kind="account:")) == expected
    sim.fault = None
    await monitor.poll("prod")
    assert "reachable again" in str(world.posts(kind="account:")[-1].body)


async def test_a_message_that_cannot_be_sent_never_holds_up_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = await world.monitor()
    store, now = monitor.store, world.clock()
    for key, channel in (("test:bad", "CBROKEN01"), ("test:good", DEFAULT)):
        await store.outbox.enqueue(key, "post", channel, {"text": key}, now=now)
    post = monitor.delivery.client.chat_postMessage

    async def broken_for_one_channel(**kwargs: Any) -> Any:
        if kwargs["channel"] == "CBROKEN01":
            raise KeyError("something nobody expected")
        return await post(**kwargs)

    monkeypatch.setattr(monitor.delivery.client, "chat_postMessage", broken_for_one_channel)
    assert await monitor.deliver() == 1
    (sent,) = world.fake.of("chat.postMessage")
    assert sent.body["text"] == "test:good"
    assert await store.outbox.due(now, 10) == []  # tried again later, not in a loop
    (waiting,) = await store.outbox.due(now + timedelta(minutes=10), 10)
    assert waiting.key == "test:bad"
    assert waiting.attempts == 1


async def test_a_partial_list_moves_no_cursor_and_alerts_nothing_again_when_whole(
    world: World,
) -> None:
    monitor = await world.monitor(outage_after=2)
    await monitor.poll("prod")
    sim: Any = world.suite["cronjob-org"]
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    assert len(world.posts()) == 1  # the failure, told once
    before = await monitor.store.cursors.of("prod")
    sim.down([job])  # the server holding it goes down: the list leaves it out
    for _ in range(2):
        world.clock.tick(minutes=1)
        await monitor.poll("prod")
    assert await monitor.store.cursors.of("prod") == before  # not gone, nothing moved
    assert len(await monitor.store.incidents.all_open("prod")) == 1  # nor recovered
    (down,) = world.posts(kind="account:")  # the second partial poll in a row: an outage
    assert "could not be read" in str(down.body)
    sim.up()
    await monitor.poll("prod")
    assert len(world.posts()) == 1  # back whole: the job's failure is not told again
    assert "reachable again" in str(world.posts(kind="account:")[-1].body)


@pytest.mark.parametrize("first_poll", [True, False])
async def test_a_token_that_cannot_read_builds_never_stops_the_poll(
    world: World, first_poll: bool
) -> None:
    sim: Any = world.suite["djinn"]
    monitor = await world.monitor(accounts=("ci", "prod"))
    if not first_poll:
        await monitor.poll("ci")
    sim.tokens[sim.api_key] = frozenset({"cron:read"})  # the token loses build:read
    cron = sim.job_ids()[0]
    sim.run_status(cron, "passed", at=world.clock.tick(minutes=1))
    transitions = await monitor.poll("ci")  # no exception: the crons are polled, unread
    assert all(t.kind.value != "account_down" for t in transitions)
    state = await monitor.store.accounts.state("ci")
    assert state is not None
    assert state.last_success_at == world.clock()
    await monitor.poll("prod")  # and the other accounts go on
