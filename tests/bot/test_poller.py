"""Alerts as on-call lives them: one post per incident, updates, recovery, never a repeat."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.poller import Kind, poll_once
from tests.bot.alert_world import DEFAULT, Call, World, _key, healthy


async def test_a_failure_opens_one_incident_and_one_message(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")  # first start: remembers where every job stands
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    transitions = await monitor.poll("prod")
    assert [t.kind for t in transitions] == [Kind.OPENED]
    (alert,) = world.posts()
    assert f"prod:{job}" in str(alert.body)
    assert alert.body["metadata"]["event_payload"]["key"].startswith("incident:")
    assert len(await monitor.deps.store.open_incidents("prod")) == 1


async def test_more_failures_update_the_message_and_recovery_resolves_it(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    for _ in range(3):
        world.run("cronjob-org", job, ok=False)
        await monitor.poll("prod")
    assert len(world.posts()) == 1
    updates = world.fake.of("chat.update")
    assert len(updates) == 3
    assert "4 failed runs" in str(updates[-1].body)
    world.clock.tick(hours=2)
    world.run("cronjob-org", job, ok=True)
    transitions = await monitor.poll("prod")
    assert [t.kind for t in transitions] == [Kind.RESOLVED]
    assert len(world.posts()) == 1  # still one alert post
    resolved = world.fake.of("chat.update")[-1]
    assert "recovered" in str(resolved.body)
    assert "2 h" in str(resolved.body)
    (reply,) = world.posts(thread=True)
    posted = [
        m for m in world.fake.messages[DEFAULT] if _key(Call("", m)).endswith(":post:" + DEFAULT)
    ]
    assert reply.body["thread_ts"] == posted[0]["ts"]


async def test_failures_before_alert_waits_for_the_third(world: World) -> None:
    monitor = await world.monitor(threshold=3)
    await monitor.poll("prod")
    job = healthy(world)
    for expected_posts in (0, 0, 1):
        world.run("cronjob-org", job, ok=False)
        await monitor.poll("prod")
        assert len(world.posts()) == expected_posts
    assert "3 failed runs" in str(world.posts()[0].body)


@pytest.mark.parametrize("outage", ["500", "401"])
async def test_an_account_outage_gives_one_notice_and_no_job_alert(
    world: World, outage: str
) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    sim: Any = world.suite["cronjob-org"]
    if outage == "500":
        sim.fault = 500
    else:
        sim.api_key = "rotated-key"
    for _ in range(3):
        world.clock.tick(minutes=5)
        await monitor.poll("prod")
    (down,) = world.posts(kind="account:")
    assert "unreachable" in str(down.body)
    assert not await monitor.deps.store.open_incidents("prod")
    sim.fault, sim.api_key = (
        None,
        monitor.deps.service.provider("prod")
        .http.client.headers["Authorization"]
        .removeprefix("Bearer "),
    )
    await monitor.poll("prod")
    await monitor.poll("prod")
    notices = world.posts(kind="account:")
    assert len(notices) == 2
    assert "reachable again" in str(notices[1].body)


async def test_a_restart_between_failure_and_next_poll_posts_nothing_new(world: World) -> None:
    first = await world.monitor()
    await first.poll("prod")
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    await first.poll("prod")
    second = await world.monitor()  # a new process on the same database
    assert await second.poll("prod") == []
    await second.deliver()
    assert len(world.posts()) == 1
    world.run("cronjob-org", job, ok=False)
    await second.poll("prod")
    assert len(world.posts()) == 1
    assert len(world.fake.of("chat.update")) == 1


@pytest.mark.parametrize(("status", "error"), [(429, "ratelimited"), (500, "internal_error")])
async def test_a_slack_failure_delays_the_alert_and_it_arrives_once(
    world: World, status: int, error: str
) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    world.fake.fail("chat.postMessage", error=error, status=status, retry_after=1)
    world.run("cronjob-org", healthy(world), ok=False)
    await monitor.poll("prod")
    assert world.posts() == []
    assert await monitor.deps.store.outbox_depth() == 1
    for _ in range(3):
        world.clock.tick(seconds=3)
        await monitor.deliver()
    assert len(world.posts()) == 1
    assert await monitor.deps.store.outbox_depth() == 0


async def test_a_crash_after_posting_does_not_post_twice(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    world.fake.fail("chat.postMessage", error="internal_error", status=500)
    world.run("cronjob-org", healthy(world), ok=False)
    await monitor.poll("prod")
    (item,) = await monitor.deps.store.due_outbox(world.clock.tick(seconds=5))
    # the post went through, but the process died before recording it:
    await monitor.notifier.client.chat_postMessage(
        channel=item.channel, **item.payload,
        metadata={"event_type": "cronops_message", "event_payload": {"key": item.key}},
    )  # fmt: skip
    await monitor.deliver()
    assert len(world.posts()) == 1
    assert await monitor.deps.store.outbox_depth() == 0


async def test_subscriptions_route_alerts_to_their_channels(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    job = healthy(world)
    store = monitor.deps.store
    await store.subscribe("CPROD", "prod", "U1", world.clock())
    await store.subscribe("CJOB", f"prod:{job}", "U1", world.clock())
    await store.subscribe("COTHER", "hub", "U1", world.clock())
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    assert len(world.posts("CPROD")) == 1
    assert len(world.posts("CJOB")) == 1
    assert world.posts("COTHER") == []
    assert world.posts(DEFAULT) == []


async def test_a_muted_job_posts_nothing_and_unmute_lets_the_next_through(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    job = healthy(world)
    store = monitor.deps.store
    await store.mute(f"prod:{job}", None, "U1", world.clock())
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    assert world.posts() == []
    assert len(await store.open_incidents("prod")) == 1  # recorded, not posted
    world.run("cronjob-org", job, ok=True)
    await monitor.poll("prod")
    assert await store.active_mute(f"prod:{job}", world.clock()) is None  # ended on recovery
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    assert len(world.posts()) == 1


async def test_jobs_failing_at_first_start_give_one_summary(world: World) -> None:
    monitor = await world.monitor()
    transitions = await monitor.poll("prod")
    assert [t.kind for t in transitions] == [Kind.FIRST_START]
    (summary,) = world.posts(kind="first-start:")
    assert "already failing" in str(summary.body).lower()
    assert world.posts() == []  # no alert per job
    assert await monitor.poll("prod") == []
    assert len(world.posts(kind="")) == 1


async def test_a_failed_djinn_build_alerts_with_its_url_and_a_warning_does_not(
    world: World,
) -> None:
    monitor = await world.monitor(accounts=("ci",))
    await monitor.poll("ci")
    sim: Any = world.suite["djinn"]
    cron = next(i for i in sim.job_ids() if sim.builds[int(i)][-1].status == "passed")
    sim.run_status(cron, "passed_with_failures", at=world.clock.tick(minutes=1))
    assert await monitor.poll("ci") == []
    sim.run_status(cron, "timed_out", at=world.clock.tick(minutes=1))
    (opened,) = await monitor.poll("ci")
    assert opened.kind is Kind.OPENED
    (alert,) = world.posts()
    assert "/b/" in str(alert.body)  # the build URL


async def test_most_jobs_failing_at_once_give_one_rollup(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    sim: Any = world.suite["cronjob-org"]
    for job_id in sim.job_ids():
        sim.run(job_id, ok=False, at=world.clock.tick(seconds=1))
    transitions = await monitor.poll("prod")
    assert sum(t.kind is Kind.OPENED for t in transitions) >= 3
    (rollup,) = world.posts(kind="rollup:")
    assert "at once" in str(rollup.body)
    assert world.posts() == []  # no post per job


async def test_concurrent_deliveries_never_post_twice(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    world.run("cronjob-org", healthy(world), ok=False)
    provider = monitor.deps.service.provider("prod")
    transitions = await poll_once(provider, monitor.deps.store, world.clock())
    await monitor.notifier.enqueue(transitions, world.clock())
    await asyncio.gather(*(monitor.deliver() for _ in range(5)))
    assert len(world.posts()) == 1
    assert not world.fake.of("conversations.history")


async def test_a_build_running_at_first_start_does_not_replay_history(world: World) -> None:
    sim: Any = world.suite["djinn"]
    cron = sim.job_ids()[0]
    sim.run_status(cron, "failed", at=world.clock.tick(minutes=1))
    sim.run_status(cron, "running", at=world.clock.tick(minutes=1))  # newest: still running
    monitor = await world.monitor(accounts=("ci",))
    await monitor.poll("ci")
    sim.builds[int(cron)][-1].status = "failed"  # the running build finishes, failing
    world.clock.tick(minutes=1)
    transitions = await monitor.poll("ci")
    assert [(t.kind, t.incident.failures if t.incident else 0) for t in transitions] == [
        (Kind.OPENED, 2)  # two failures in a row: the older one and the one that just ended
    ]
    assert len(world.posts()) == 1
