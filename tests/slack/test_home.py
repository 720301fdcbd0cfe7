"""The Home tab through Slack's front door: the event, its buttons, and its refreshes."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.demo.fakeslack import Call
from bot.slack.home.tab import Bucket, HomeTab
from bot.slack.render.ids import ActionId, IncidentValue, JobValue
from tests.conftest import CHANNEL, OPERATOR, READER, Workspace, texts
from tests.slack.blockkit import assert_pings_nobody, assert_valid_view

OTHER = "COTHERS01"  # a channel the viewer is not in


def _sim(workspace: Workspace) -> Any:
    return workspace.suite["cronjob-org"]


def _healthy(workspace: Workspace, n: int = 0) -> int:
    jobs: dict[int, dict[str, Any]] = _sim(workspace).jobs
    ids = [
        i for i, j in jobs.items()
        if j["enabled"] and j.get("type", 0) == 0 and j["lastStatus"] in (0, 1)
    ]  # fmt: skip
    return ids[n]


async def _incident(workspace: Workspace, job_id: int) -> int:
    deps = workspace.built.deps
    incident = await deps.store.incidents.open(
        "prod", str(job_id), ref=f"prod:{job_id}", job_name=_sim(workspace).jobs[job_id]["title"],
        now=deps.clock() - timedelta(hours=2), failures=3, detail={"http_status": 500},
    )  # fmt: skip
    assert incident is not None
    return incident.id


def _home(call: Call) -> dict[str, Any]:
    view: dict[str, Any] = call.body["view"]
    assert view["type"] == "home"
    assert_valid_view(view)
    assert_pings_nobody([{"view": view}])
    return {**view, "id": f"VHOME{call.body['user_id']}"}  # as Slack sends it with a button


def _buttons(view: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e.get("value", ""))
        for b in view["blocks"]
        for e in (b.get("elements", []) if b["type"] == "actions" else [b.get("accessory") or {}])
        if e.get("type") == "button"
    ]


def _count(view: dict[str, Any], section: str) -> int:
    """The number in a section's header: ``⏸️ Paused (3)`` -> 3."""
    for block in view["blocks"]:
        text = block.get("text", {}).get("text", "") if block["type"] == "header" else ""
        if f" {section} (" in text:
            return int(text.rsplit("(", 1)[1].rstrip(")"))
    raise AssertionError(f"no {section} section")


def _for(user: str) -> Any:
    return lambda call: call.body.get("user_id") == user


async def test_opening_the_home_tab_publishes_what_needs_the_viewer(workspace: Workspace) -> None:
    fake, deps = workspace.fake, workspace.built.deps
    fake.members[OPERATOR] = [CHANNEL]
    failing, paused = _healthy(workspace, 0), _healthy(workspace, 1)
    _sim(workspace).jobs[failing]["title"] = "<!channel> nightly"
    await _incident(workspace, failing)
    await workspace.command(f"pause prod:{paused} 2h")
    await workspace.command(f"mute prod:{failing} 1h")
    now = deps.clock()
    await deps.store.subscriptions.add(CHANNEL, "prod", READER, now)
    await deps.store.subscriptions.add(OTHER, "backup", READER, now)
    await fake.wait_for("chat.postMessage", 2, where=lambda c: c.body.get("channel") == CHANNEL)
    before = sum(sim.total_requests for sim in workspace.suite.sims.values())

    response = await workspace.open_home()

    assert response.status_code == 200
    (published,) = await fake.wait_for("views.publish")
    assert published.body["user_id"] == OPERATOR
    body = json.dumps(_home(published))
    assert _count(_home(published), "Failing now") == 1
    assert "&lt;!channel&gt; nightly" in body
    assert "Not acknowledged" in body
    assert "failing for 2 h" in body
    assert f"prod:{paused}" in body
    assert "cronops resumes it" in body  # the timed pause
    assert _count(_home(published), "Muted") == 1
    assert f"<#{CHANNEL}>" in body
    assert f"<#{OTHER}>" not in body  # the viewer's channels only
    assert "requests today" in body
    assert "*prod* (cron-job.org)" in body
    actions = {action for action, _ in _buttons(_home(published))}
    assert {ActionId.ALERT_ACK, ActionId.ALERT_PAUSE, ActionId.ALERT_HISTORY} <= actions
    assert {ActionId.JOB_RESUME, ActionId.HOME_UNMUTE, ActionId.HOME_REFRESH} <= actions
    assert sum(sim.total_requests for sim in workspace.suite.sims.values()) == before
    viewers = await deps.store.home.recent(now - timedelta(minutes=1), 10)
    assert viewers == [OPERATOR]


async def test_the_messages_tab_publishes_nothing(workspace: Workspace) -> None:
    await workspace.event({"type": "app_home_opened", "user": OPERATOR, "tab": "messages"})
    await workspace.open_home(READER)
    (published,) = await workspace.fake.wait_for("views.publish")
    assert published.body["user_id"] == READER
    assert await workspace.built.deps.store.home.published_at(OPERATOR) is None


async def test_an_unsigned_event_is_refused(workspace: Workspace) -> None:
    body = json.dumps({"type": "event_callback", "event": {"type": "app_home_opened",
                       "user": OPERATOR, "tab": "home"}})  # fmt: skip
    response = await workspace.post(body, secret="not-the-secret")
    assert response.status_code == 401
    assert not workspace.fake.of("views.publish")


async def test_a_button_on_the_home_rechecks_access_and_refreshes_the_home(
    workspace: Workspace,
) -> None:
    fake, sim = workspace.fake, _sim(workspace)
    job_id = _healthy(workspace)
    incident_id = await _incident(workspace, job_id)
    await workspace.open_home(READER)
    (home,) = await fake.wait_for("views.publish")
    view = _home(home)
    pause = dict(_buttons(view))[ActionId.ALERT_PAUSE]

    await workspace.click(ActionId.ALERT_PAUSE, pause, user=READER, view=view)

    refused = await fake.wait_for("views.publish", 2)
    assert "Only operators can pause jobs" in texts(refused[-1])
    assert sim.jobs[job_id]["enabled"] is True
    await workspace.click(ActionId.ALERT_ACK, pause, user=READER, view=view)  # open to all
    acked = await fake.wait_for("views.publish", 3)
    assert f"Acknowledged by <@{READER}>" in texts(acked[-1])
    incident = await workspace.built.deps.store.incidents.get(incident_id)
    assert incident is not None
    assert incident.acked_by == READER

    await workspace.open_home(OPERATOR)
    await fake.wait_for("views.publish", 4)
    await workspace.click(ActionId.ALERT_PAUSE, pause, user=OPERATOR, view=view)
    paused = await fake.wait_for("views.publish", 2, where=_for(OPERATOR))
    assert "will not run it until it is resumed" in texts(paused[-1])
    assert sim.jobs[job_id]["enabled"] is False
    assert not fake.of("response_url")  # nothing tried to answer a message


async def test_pause_and_resume_on_the_home_flip_the_home(workspace: Workspace) -> None:
    fake, sim = workspace.fake, _sim(workspace)
    job_id = _healthy(workspace)
    await workspace.command("list prod")  # the Home shows paused jobs of the lists read
    await fake.wait_for("response_url")
    await workspace.command(f"pause prod:{job_id}")
    await fake.wait_for("chat.postMessage", where=lambda c: c.body.get("channel") == CHANNEL)
    await workspace.open_home()
    (home,) = await fake.wait_for("views.publish")
    assert f"prod:{job_id}" in texts(home)
    resume = JobValue(ref=f"prod:{job_id}").dump()
    assert (ActionId.JOB_RESUME, resume) in _buttons(_home(home))

    await workspace.click(ActionId.JOB_RESUME, resume, view=_home(home))

    (_, flipped) = await fake.wait_for("views.publish", 2)
    assert sim.jobs[job_id]["enabled"] is True
    assert (ActionId.JOB_RESUME, resume) not in _buttons(_home(flipped))
    assert _count(_home(flipped), "Paused") == _count(_home(home), "Paused") - 1
    assert len(fake.of("response_url")) == 1  # the list; nothing tried to replace a message


async def test_history_on_the_home_opens_a_modal(workspace: Workspace) -> None:
    fake = workspace.fake
    job_id = _healthy(workspace)
    await _incident(workspace, job_id)
    await workspace.open_home(READER)
    (home,) = await fake.wait_for("views.publish")
    value = dict(_buttons(_home(home)))[ActionId.ALERT_HISTORY]

    await workspace.click(ActionId.ALERT_HISTORY, value, user=READER, view=_home(home))

    (opened,) = await fake.wait_for("views.open")
    assert opened.body["view"]["title"]["text"] == "History"
    (answer,) = await fake.wait_for("views.update")
    assert answer.body["view_id"] == f"V{1:08d}" or answer.body["view_id"].startswith("V")
    assert f"prod:{job_id}" in texts(answer)
    assert_valid_view(answer.body["view"])
    assert not fake.of("response_url")


async def test_unmute_on_the_home_is_for_operators(workspace: Workspace) -> None:
    fake, deps = workspace.fake, workspace.built.deps
    ref = f"prod:{_healthy(workspace)}"
    await deps.store.mutes.set(ref, None, OPERATOR, deps.clock())
    await workspace.open_home(READER)
    (home,) = await fake.wait_for("views.publish")
    value = dict(_buttons(_home(home)))[ActionId.HOME_UNMUTE]
    await workspace.click(ActionId.HOME_UNMUTE, value, user=READER, view=_home(home))
    refused = await fake.wait_for("views.publish", 2)
    assert "Only operators can unmute jobs" in texts(refused[-1])
    assert await deps.store.mutes.active(ref, deps.clock()) is not None
    await workspace.click(ActionId.HOME_UNMUTE, value, user=OPERATOR, view=_home(home))
    done = await fake.wait_for("views.publish", 3)
    assert await deps.store.mutes.active(ref, deps.clock()) is None
    assert _count(_home(done[-1]), "Muted") == 0


async def test_refresh_reads_the_lists_and_shows_paused_jobs(workspace: Workspace) -> None:
    fake, sim = workspace.fake, _sim(workspace)
    job_id = _healthy(workspace)
    sim.jobs[job_id]["enabled"] = False  # paused at cron-job.org, not through the bot
    await workspace.open_home()
    (home,) = await fake.wait_for("views.publish")
    assert f"prod:{job_id}" not in texts(home)
    assert "not listed yet" in texts(home)
    await workspace.click(ActionId.HOME_REFRESH, "home", view=_home(home))
    (_, refreshed) = await fake.wait_for("views.publish", 2)
    assert f"prod:{job_id}" in texts(refreshed)
    assert "not listed yet" not in texts(refreshed)


async def test_refresh_says_which_accounts_could_not_be_listed(workspace: Workspace) -> None:
    workspace.suite["djinn"].fault = 500
    await workspace.open_home()
    (home,) = await workspace.fake.wait_for("views.publish")
    await workspace.click(ActionId.HOME_REFRESH, "home", view=_home(home))
    (_, refreshed) = await workspace.fake.wait_for("views.publish", 2)
    assert "Not listed" in texts(refreshed)
    assert "`ci`" in texts(refreshed)


async def test_without_the_membership_scopes_every_channel_is_shown(
    workspace: Workspace,
) -> None:
    fake, deps = workspace.fake, workspace.built.deps
    fake.fail("users.conversations", error="missing_scope", status=200, retry_after=None)
    await deps.store.subscriptions.add(OTHER, "backup", READER, deps.clock())
    await workspace.open_home()
    (home,) = await fake.wait_for("views.publish")
    assert f"<#{OTHER}>" in texts(home)
    assert "missing_scope" in texts(home)


async def test_an_incident_refreshes_the_home_of_recent_viewers_debounced(
    workspace: Workspace,
) -> None:
    fake, deps, sim = workspace.fake, workspace.built.deps, _sim(workspace)
    assert deps.home is not None
    deps.home.debounce = timedelta(seconds=3)
    await deps.store.home.opened("ULONGAGO", deps.clock() - timedelta(days=8))
    client = AsyncWebClient(token="xoxb-test", base_url=f"{fake.base_url}/api/")
    monitor = workspace.built.monitor(client)
    monitor.notifier.default_channel = CHANNEL
    await monitor.poll("prod")  # the first start
    await workspace.open_home(READER)
    (opened,) = await fake.wait_for("views.publish")
    job_id = _healthy(workspace)
    sim.run(str(job_id), ok=False)

    await monitor.poll("prod")  # opens an incident, within the debounce of the open
    sim.run(str(job_id), ok=True)
    await monitor.poll("prod")  # resolves it: the same refresh

    (_, refreshed) = await fake.wait_for("views.publish", 2, within=15)
    assert refreshed.body["user_id"] == READER
    assert refreshed.at - opened.at >= 2.9  # debounced: 3 s after the last publish
    assert "Nothing is failing" in texts(refreshed)  # coalesced: the latest state
    await asyncio.sleep(1)
    assert len(fake.of("views.publish")) == 2  # one publish for the burst
    assert "ULONGAGO" not in {c.body["user_id"] for c in fake.of("views.publish")}


async def test_a_rate_limited_publish_is_retried_after_slacks_wait(workspace: Workspace) -> None:
    fake, deps = workspace.fake, workspace.built.deps
    assert deps.home is not None
    await workspace.open_home(READER)
    await fake.wait_for("views.publish")
    fake.fail("views.publish", error="ratelimited", status=429, retry_after=1)
    deps.home.debounce = timedelta(0)
    await deps.home.refresh_recent()
    published = await fake.wait_for(
        "views.publish", 3, within=10, where=lambda c: c.body.get("user_id") == READER
    )
    assert "_failed" in published[1].body
    assert published[2].at - published[1].at >= 0.9  # Retry-After was respected
    assert "_failed" not in published[2].body


async def test_an_alert_button_on_the_home_keeps_the_alert_value(workspace: Workspace) -> None:
    """The Home's alert buttons carry the incident, as the alert's do."""
    incident_id = await _incident(workspace, _healthy(workspace))
    await workspace.open_home()
    (home,) = await workspace.fake.wait_for("views.publish")
    value = IncidentValue.load(dict(_buttons(_home(home)))[ActionId.ALERT_ACK])
    assert value.incident_id == incident_id


async def test_two_processes_refreshing_at_once_publish_each_home_once(
    workspace: Workspace,
) -> None:
    """Two processes share the database (replicas): both are told of incidents at once (say,
    each polled an account), and the database lets one of them publish each Home."""
    fake, deps = workspace.fake, workspace.built.deps
    assert deps.home is not None
    await workspace.open_home(READER)
    await workspace.open_home(OPERATOR)
    await fake.wait_for("views.publish", 2)
    client = AsyncWebClient(token="xoxb-test", base_url=f"{fake.base_url}/api/")
    other = HomeTab(deps, client)  # the second process: its own queue, the same database
    past = deps.clock() - timedelta(minutes=5)
    for user in (READER, OPERATOR):
        await deps.store.home.published(user, past)  # not debounced any more
    try:
        assert await asyncio.gather(deps.home.refresh_recent(), other.refresh_recent()) == [2, 2]
        await fake.wait_for("views.publish", 4)
        await asyncio.sleep(0.5)
        refreshed = [c.body["user_id"] for c in fake.of("views.publish")[2:]]
        assert sorted(refreshed) == [OPERATOR, READER]  # once each
        assert deps.home.queued == other.queued == 0
    finally:
        await other.aclose()


async def test_channels_are_read_when_the_home_is_opened_not_on_every_refresh(
    workspace: Workspace,
) -> None:
    fake, deps = workspace.fake, workspace.built.deps
    assert deps.home is not None
    deps.home.debounce = timedelta(0)
    fake.members[READER] = [CHANNEL]
    await deps.store.subscriptions.add(CHANNEL, "prod", OPERATOR, deps.clock())
    await workspace.open_home(READER)
    await fake.wait_for("views.publish")
    for n in (2, 3):
        await deps.home.refresh_recent()
        await fake.wait_for("views.publish", n)
    await workspace.open_home(READER)  # within minutes: what was read is kept
    published = await fake.wait_for("views.publish", 4)
    assert len(fake.of("users.conversations")) == 1
    assert all(f"<#{CHANNEL}>" in texts(call) for call in published)


async def test_no_subscription_no_channel_lookup(workspace: Workspace) -> None:
    await workspace.open_home(READER)
    await workspace.fake.wait_for("views.publish")
    assert not workspace.fake.of("users.conversations")


async def test_publishes_are_paced_with_a_reserve_for_people_who_look() -> None:
    bucket = Bucket(rate=20, burst=2)
    started = time.monotonic()
    for _ in range(6):
        await bucket.take()
    assert time.monotonic() - started >= (6 - 2) / 20 - 0.01  # two at once, then 20 a second
    started = time.monotonic()
    await bucket.take(reserve=1)  # a background refresh leaves one token to an open
    assert time.monotonic() - started >= 1 / 20 - 0.01
    bucket.hold(0.3)  # Slack said Retry-After
    started = time.monotonic()
    await bucket.take()
    assert time.monotonic() - started >= 0.29


async def test_cron_help_points_at_the_home_tab(workspace: Workspace) -> None:
    answer = await workspace.command("help")
    assert "*Home* tab" in answer.text
