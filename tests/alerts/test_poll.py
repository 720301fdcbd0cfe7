"""Alerts as on-call lives them: one post per incident, updates, recovery, never a repeat."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from bot.alerts import cycle
from bot.alerts.notifier import matches
from bot.alerts.poll import Kind, Transition, poll_once, scan
from bot.store.tables import Subscription
from providers.errors import ProviderUnavailable
from tests.alerts.world import DEFAULT, Call, World, _key, healthy


async def test_a_failure_opens_one_incident_and_one_message(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")  # first start: remembers where every job stands
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    transitions = await monitor.poll("prod")
    # opened from the list row; the history read afterwards says what failed
    assert [t.kind for t in transitions] == [Kind.OPENED, Kind.DETAILED]
    (alert,) = world.posts()
    assert f"prod:{job}" in str(alert.body)
    assert alert.body["metadata"]["event_payload"]["key"].startswith("incident:")
    assert "HTTP 500" not in str(alert.body)  # the list does not carry the HTTP status
    (detailed,) = world.fake.of("chat.update")
    assert detailed.body["ts"] == alert.result["ts"]
    assert "HTTP 500" in str(detailed.body)
    assert "1 failed run" in str(detailed.body)
    assert "is failing" in str(detailed.body)  # still the first post, not "still failing"
    assert len(await monitor.store.incidents.all_open("prod")) == 1


async def test_the_alert_is_posted_before_any_history_is_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    provider = monitor.service.provider("prod")
    read, posts_when_read = provider.executions_since, []

    async def recording(*args: Any, **kwargs: Any) -> Any:
        posts_when_read.append(len(world.posts()))
        return await read(*args, **kwargs)

    monkeypatch.setattr(provider, "executions_since", recording)
    world.run("cronjob-org", healthy(world), ok=False)
    await monitor.poll("prod")
    assert posts_when_read == [1]  # one history read, after the alert reached Slack


async def test_failures_between_two_polls_are_counted_from_history(world: World) -> None:
    monitor = await world.monitor(threshold=2)
    await monitor.poll("prod")
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    world.run("cronjob-org", job, ok=False)  # two failures before the next poll
    transitions = await monitor.poll("prod")
    # the row alone is one failure, under the threshold; the history shows two
    assert [t.kind for t in transitions] == [Kind.OPENED]
    (alert,) = world.posts()
    assert "2 failed runs" in str(alert.body)


async def test_a_recovery_between_two_polls_ends_the_incident_and_opens_a_new_one(
    world: World,
) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    (first,) = await monitor.store.incidents.all_open("prod")
    world.run("cronjob-org", job, ok=True)
    world.run("cronjob-org", job, ok=False)  # recovered and failed again, unseen by the list
    transitions = await monitor.poll("prod")
    assert [t.kind for t in transitions][-2:] == [Kind.RESOLVED, Kind.OPENED]
    (second,) = await monitor.store.incidents.all_open("prod")
    assert second.id != first.id
    assert (await monitor.store.incidents.get(first.id)).status == "resolved"  # type: ignore[union-attr]
    assert len(world.posts()) == 2
    assert len(world.posts(thread=True)) == 1  # the first one's recovery reply


async def test_a_failing_history_read_keeps_the_alert_and_the_count(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    job = healthy(world)
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    provider = monitor.service.provider("prod")

    async def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise ProviderUnavailable("history answered 500", account="prod", provider=provider.slug)

    monkeypatch.setattr(provider, "executions_since", unavailable)
    world.run("cronjob-org", job, ok=False)
    transitions = await monitor.poll("prod")
    assert [t.kind for t in transitions] == [Kind.FAILED_AGAIN]
    assert "2 failed runs" in str(world.fake.of("chat.update")[-1].body)  # the list's count
    assert len(world.posts()) == 1


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
    assert len(updates) == 4  # one per poll: what the history adds to the list's word
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
    assert not await monitor.store.incidents.all_open("prod")
    sim.fault, sim.api_key = (
        None,
        monitor.service.provider("prod")
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
    assert len(world.fake.of("chat.update")) == 2  # the first poll's details, this failure


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
    assert await monitor.store.outbox.depth() == 2  # the post, and its details after it
    for _ in range(3):
        world.clock.tick(seconds=3)
        await monitor.deliver()
    assert len(world.posts()) == 1
    assert await monitor.store.outbox.depth() == 0


async def test_a_crash_after_posting_does_not_post_twice(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    world.fake.fail("chat.postMessage", error="internal_error", status=500)
    world.run("cronjob-org", healthy(world), ok=False)
    await monitor.poll("prod")
    due = await monitor.store.outbox.due(world.clock.tick(seconds=5))
    (item,) = [i for i in due if i.kind == "post"]
    # the post went through, but the process died before recording it:
    await monitor.delivery.client.chat_postMessage(
        channel=item.channel, **item.payload,
        metadata={"event_type": "cronops_message", "event_payload": {"key": item.key}},
    )  # fmt: skip
    await monitor.deliver()
    assert len(world.posts()) == 1
    assert await monitor.store.outbox.depth() == 0


async def test_subscriptions_route_alerts_to_their_channels(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    job = healthy(world)
    store = monitor.store
    await store.subscriptions.add("CPROD", "prod", "U1", world.clock())
    await store.subscriptions.add("CJOB", f"prod:{job}", "U1", world.clock())
    await store.subscriptions.add("COTHER", "hub", "U1", world.clock())
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    assert len(world.posts("CPROD")) == 1
    assert len(world.posts("CJOB")) == 1
    assert world.posts("COTHER") == []
    assert len(world.posts(DEFAULT)) == 1  # alerts.channel gets every alert (SPEC, Routing)


@pytest.mark.parametrize(
    ("target", "except_text", "job", "takes"),
    [
        ("*", "", ("prod", "prod:42", "backup"), True),
        ("*", "BACK", ("prod", "prod:42", "backup"), False),
        ("prod", "", ("prod", "prod:42", "backup"), True),
        ("PROD", "", ("prod", "prod:42", "backup"), True),
        ("prod", "staging", ("prod", "prod:42", "staging backup"), False),
        ("hub", "", ("prod", "prod:42", "hub sync"), False),  # an account, not text
        ("prod:42", "", ("prod", "prod:42", "renamed"), True),
        ("prod:42", "", ("prod", "prod:421", "backup"), False),
        ("prod:42", "", ("prod", "prod:421", "copy of prod:42"), False),  # a ref, not text
        ("backup", "", ("hub", "hub:monitor/x", "Nightly Backup"), True),
        ("backup", "nightly", ("hub", "hub:monitor/x", "Nightly Backup"), False),
        ("staging:1", "", ("prod", "prod:1", "db staging:1 copy"), True),  # no such account
    ],
)
def test_a_subscription_takes_exactly_what_it_names(
    target: str, except_text: str, job: tuple[str, str, str], takes: bool
) -> None:
    subscription = Subscription(1, "C1", target, "U1", datetime.now(UTC), except_text)
    assert matches(subscription, *job, ["prod", "hub"]) is takes


async def test_a_muted_job_posts_nothing_and_unmute_lets_the_next_through(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    job = healthy(world)
    store = monitor.store
    await store.mutes.set(f"prod:{job}", None, "U1", world.clock())
    world.run("cronjob-org", job, ok=False)
    await monitor.poll("prod")
    assert world.posts() == []
    assert len(await store.incidents.all_open("prod")) == 1  # recorded, not posted
    world.run("cronjob-org", job, ok=True)
    await monitor.poll("prod")
    assert await store.mutes.active(f"prod:{job}", world.clock()) is None  # ended on recovery
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
    provider = monitor.service.provider("prod")
    now = world.clock()

    async def announce(transitions: Sequence[Transition]) -> None:
        await monitor.notifier.enqueue(transitions, now)

    await poll_once(provider, monitor.store, now, announce=announce)
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


async def test_two_first_polls_at_once_give_one_summary_and_no_job_alert(world: World) -> None:
    first, second = await world.monitor(), await world.monitor()  # two pollers, one database
    await asyncio.gather(first.poll("prod"), second.poll("prod"))
    await asyncio.gather(first.poll("prod"), second.poll("prod"))  # and both follow on
    await first.deliver()
    assert len(world.posts(kind="first-start:")) == 1
    assert world.posts() == []  # the jobs failing at the start never alert one by one
    assert await first.store.incidents.all_open("prod") == []


async def test_polls_of_one_account_in_one_process_never_overlap(world: World) -> None:
    monitor = await world.monitor()
    await monitor.poll("prod")
    world.run("cronjob-org", healthy(world), ok=False)
    results = await asyncio.gather(*(monitor.poll("prod") for _ in range(3)))
    assert sorted(len(r) for r in results) == [0, 0, 2]  # opened and detailed, once
    assert len(world.posts()) == 1


async def test_a_poll_reads_the_request_budget_of_its_own_account_only(world: World) -> None:
    monitor = await world.monitor(accounts=("prod", "hub"))  # prod has a budget, hub none
    read: list[str] = []
    counts = monitor.store.budget.counts

    async def counted(account: str, day: date) -> tuple[int, int]:
        read.append(account)
        return await counts(account, day)

    monitor.store.budget.counts = counted  # type: ignore[method-assign]
    await monitor.poll("hub")
    assert read == []  # forty accounts, each poll reading every budget: 1,120 reads a cycle
    await monitor.poll("prod")
    assert "prod" in read
    left = monitor.metrics.registry.get_sample_value(
        "cronops_budget_remaining", {"account": "prod"}
    )
    assert left is not None
    assert 0 < left < 5000


async def test_polls_started_together_scan_a_few_accounts_at_a_time(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polls started together (``poll_all``, paces in step) read and scan their lists a few
    at a time (all at once, twenty big accounts held every list in memory together)."""
    monitor = await world.monitor(accounts=("prod", "hub", "ci", "apps"))
    monitor.scans_at_once = 2
    scanning, most = 0, 0

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal scanning, most
        scanning += 1
        most = max(most, scanning)
        try:
            await asyncio.sleep(0.05)  # a list that takes a while to read
            return await scan(*args, **kwargs)
        finally:
            scanning -= 1

    monkeypatch.setattr(cycle, "scan", counted)
    await asyncio.gather(*(monitor.poll(account) for account in monitor.service.accounts))
    assert most == 2
    for account in ("prod", "hub", "ci", "apps"):  # and every account was polled
        state = await monitor.store.accounts.state(account)
        assert state is not None
        assert state.first_polled_at is not None
