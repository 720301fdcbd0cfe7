"""Alert commands and buttons through signed requests: subscribe, mute, acknowledge, pause."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.demo.fakeslack import Call
from bot.slack.render.ids import ActionId, IncidentValue
from tests.conftest import CHANNEL, OPERATOR, READER, Workspace, texts

AUDIT = "CAUDIT01"


def _in(channel: str) -> Callable[[Call], bool]:
    return lambda call: call.body.get("channel") == channel


async def _incident(workspace: Workspace) -> tuple[int, str, int]:
    """An open incident on a healthy cron-job.org job: (incident id, ref, job id)."""
    sim: Any = workspace.suite["cronjob-org"]
    job_id = next(i for i, j in sim.jobs.items() if j["enabled"] and j.get("type", 0) == 0)
    store = workspace.built.deps.store
    incident = await store.incidents.open(
        "prod", str(job_id), ref=f"prod:{job_id}", job_name=sim.jobs[job_id]["title"],
        now=workspace.built.deps.clock(), failures=1, detail={"http_status": 500},
    )  # fmt: skip
    assert incident is not None
    return incident.id, f"prod:{job_id}", job_id


async def test_subscribe_lists_and_unsubscribe_in_the_channel(workspace: Workspace) -> None:
    await workspace.command("subscribe prod", user=READER)  # routing is open to everyone
    (posted,) = await workspace.fake.wait_for("chat.postMessage", where=_in(CHANNEL))
    assert "subscribed" in posted.body["text"]
    (audited,) = await workspace.fake.wait_for("chat.postMessage", where=_in(AUDIT))
    assert "subscribed" in audited.body["text"]  # saved (and audited) once posted
    store = workspace.built.deps.store
    assert [s.target for s in await store.subscriptions.all(CHANNEL)] == ["prod"]
    await workspace.command("subscriptions")
    (listed,) = await workspace.fake.wait_for("response_url")
    assert "prod" in texts(listed)
    await workspace.command("unsubscribe prod")
    await workspace.fake.wait_for("chat.postMessage", 2, where=_in(AUDIT))
    assert await store.subscriptions.all(CHANNEL) == []


async def test_mute_is_for_operators_and_names_itself_as_muting(workspace: Workspace) -> None:
    _, ref, _ = await _incident(workspace)
    await workspace.command(f"mute {ref} 2h", user=READER)
    (refused,) = await workspace.fake.wait_for("response_url")
    assert "Only operators can mute jobs" in texts(refused)
    store, now = workspace.built.deps.store, workspace.built.deps.clock()
    assert await store.mutes.active(ref, now) is None
    await workspace.command(f"mute {ref} 2h")
    (posted,) = await workspace.fake.wait_for(
        "chat.postMessage", where=lambda c: c.body["channel"] == CHANNEL
    )
    assert "keeps running" in posted.body["text"]  # muting is not pausing
    assert await store.mutes.active(ref, now) is not None
    await workspace.command(f"unmute {ref}")
    await workspace.fake.wait_for(
        "chat.postMessage", 2, where=lambda c: c.body["channel"] == CHANNEL
    )
    assert await store.mutes.active(ref, now) is None


async def test_acknowledge_records_who_and_updates_the_message(workspace: Workspace) -> None:
    incident_id, ref, _ = await _incident(workspace)
    value = IncidentValue(incident_id=incident_id, ref=ref).dump()
    await workspace.click(ActionId.ALERT_ACK, value, user=READER)
    (updated,) = await workspace.fake.wait_for(
        "response_url", where=lambda c: bool(c.body.get("replace_original"))
    )
    assert f"<@{READER}>" in texts(updated)
    assert ActionId.ALERT_ACK not in texts(updated)
    incident = await workspace.built.deps.store.incidents.get(incident_id)
    assert incident is not None
    assert incident.acked_by == READER


async def test_the_pause_button_on_an_alert_pauses_the_job(workspace: Workspace) -> None:
    incident_id, ref, job_id = await _incident(workspace)
    sim: Any = workspace.suite["cronjob-org"]
    value = IncidentValue(incident_id=incident_id, ref=ref).dump()
    await workspace.click(ActionId.ALERT_PAUSE, value, user=READER)
    (refused,) = await workspace.fake.wait_for("response_url")
    assert "Only operators can pause" in texts(refused)
    assert sim.jobs[job_id]["enabled"] is True
    await workspace.click(ActionId.ALERT_PAUSE, value, user=OPERATOR)
    await workspace.fake.wait_for("response_url", 2)
    assert sim.jobs[job_id]["enabled"] is False


async def test_the_mute_button_mutes_for_an_hour(workspace: Workspace) -> None:
    incident_id, ref, job_id = await _incident(workspace)
    value = IncidentValue(incident_id=incident_id, ref=ref).dump()
    await workspace.click(ActionId.ALERT_MUTE, value)
    await workspace.fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == CHANNEL)
    mute = await workspace.built.deps.store.mutes.active(ref, workspace.built.deps.clock())
    assert mute is not None
    assert mute.until is not None
    assert 3500 < (mute.until - mute.created_at).total_seconds() <= 3600
    assert workspace.suite["cronjob-org"].jobs[job_id]["enabled"] is True  # type: ignore[attr-defined]


async def test_status_shows_budget_and_polling(workspace: Workspace) -> None:
    await workspace.command("status")
    (answer,) = await workspace.fake.wait_for("response_url")
    body = texts(answer)
    assert "requests today" in body
    assert "polling every" in body
    assert "*prod*" in body


async def test_status_shows_the_pace_and_the_process_polling_each_account(
    workspace: Workspace,
) -> None:
    store, now = workspace.built.deps.store, workspace.built.deps.clock()
    await store.accounts.record_poll("prod", now, ok=True, requests=1)
    await store.accounts.set_interval("prod", 1800)  # as the poller paced it, in any process
    await store.leases.take("poll:prod", "worker-2:4242:ab12cd", now, timedelta(seconds=20))
    await workspace.command("status")
    (answer,) = await workspace.fake.wait_for("response_url")
    body = texts(answer)
    assert "polling every 30 min by `worker-2:4242`" in body
    assert "*hub*" in body
