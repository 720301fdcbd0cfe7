"""Promises through signed requests when Slack or a provider fails, or a member is careless."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.demo.fakeslack import Call
from bot.slack.render.ids import ActionId, BlockId, IncidentValue
from tests.conftest import CHANNEL, OPERATOR, READER, Workspace, texts
from tests.slack.test_scenarios import _fill, _first_enabled_job

AUDIT = "CAUDIT01"


def _in(channel: str) -> Callable[[Call], bool]:
    return lambda call: call.body.get("channel") == channel and "_failed" not in call.body


@pytest.mark.parametrize(
    ("error", "status"), [("not_in_channel", 200), ("ratelimited", 429), ("internal_error", 500)]
)
async def test_a_failing_audit_post_undoes_nothing_of_a_timed_pause(
    workspace: Workspace, error: str, status: int
) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    workspace.fake.fail("chat.postMessage", error=error, status=status, retry_after=None)
    await workspace.command(f"pause prod:{job_id} 2h")  # the first post (the audit's) fails
    (announced,) = await workspace.fake.wait_for("chat.postMessage", where=_in(CHANNEL))
    assert "paused" in announced.body["text"]
    assert sim.jobs[job_id]["enabled"] is False
    pending = await workspace.built.deps.store.resumes.pending(f"prod:{job_id}")
    assert pending is not None  # the timed resume belongs to the change: it is stored
    said = " ".join(texts(c) for c in workspace.fake.of("response_url"))
    assert "went wrong" not in said
    audit = await workspace.built.deps.store.audit.recent()
    assert [(e.action, e.ref) for e in audit] == [("paused", f"prod:{job_id}")]


async def test_a_delayed_audit_post_is_sent_later_by_the_outbox(workspace: Workspace) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    workspace.fake.fail("chat.postMessage", error="ratelimited", status=429, retry_after=1)
    await workspace.command(f"resume prod:{job_id}")
    await workspace.fake.wait_for("chat.postMessage", where=_in(CHANNEL))
    store = workspace.built.deps.store
    for _ in range(100):  # the announcement is recorded as sent just after Slack took it
        if await store.outbox.depth() == 1:
            break
        await asyncio.sleep(0.02)
    (waiting,) = await store.outbox.due(workspace.built.deps.clock() + timedelta(minutes=1))
    assert waiting.channel == AUDIT  # the audit post waits for Slack, it is not lost


async def test_an_announcement_the_bot_cannot_post_goes_through_the_response_url(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    workspace.built.deps.audit_channel = None
    workspace.fake.fail("chat.postMessage", error="not_in_channel", status=200, retry_after=None)
    await workspace.command(f"pause prod:{job_id}")
    (told,) = await workspace.fake.wait_for(
        "response_url", where=lambda c: c.body.get("response_type") == "in_channel"
    )
    assert f"prod:{job_id}" in told.body["text"]
    assert sim.jobs[job_id]["enabled"] is False


async def test_an_edit_submitted_while_the_provider_fails_is_answered_in_time(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    await workspace.command(f"edit prod:{job_id}")
    (filled,) = await workspace.fake.wait_for("views.update")
    view = {**filled.body["view"], "id": filled.body["view_id"]}
    other = next(i for i, j in sim.jobs.items() if j["enabled"] and i != job_id)
    await workspace.command(f"pause prod:{other}")  # meanwhile a change: no listing cached
    await workspace.fake.wait_for("chat.postMessage", where=_in(CHANNEL))
    sim.fault = 500
    answer = await workspace.submit(view, _fill(view, {BlockId.NAME: "Renamed"}))
    assert answer.status_code == 200
    assert answer.json()["response_action"] == "update"  # acked with a progress view
    (after,) = await workspace.fake.wait_for(
        "views.update", where=lambda c: "unreachable" in json.dumps(c.body)
    )
    assert after.body["view_id"] == view["id"]


async def test_a_non_operator_submission_is_acked_and_refused_in_the_modal(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    await workspace.command(f"edit prod:{job_id}")
    (filled,) = await workspace.fake.wait_for("views.update")
    view = {**filled.body["view"], "id": filled.body["view_id"]}
    answer = await workspace.submit(view, _fill(view, {BlockId.NAME: "Mine"}), user=READER)
    assert answer.status_code == 200
    await workspace.fake.wait_for(
        "views.update", where=lambda c: "Only operators" in json.dumps(c.body)
    )
    assert sim.jobs[job_id]["title"] != "Mine"


async def test_acknowledge_works_while_the_provider_is_down(workspace: Workspace) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    store = workspace.built.deps.store
    incident = await store.incidents.open(
        "prod", str(job_id), ref=f"prod:{job_id}", job_name="nightly",
        now=workspace.built.deps.clock(), failures=1, detail={},
    )  # fmt: skip
    assert incident is not None
    sim.fault = 500
    value = IncidentValue(incident_id=incident.id, ref=f"prod:{job_id}").dump()
    await workspace.click(ActionId.ALERT_ACK, value, user=READER)
    (updated,) = await workspace.fake.wait_for(
        "response_url", where=lambda c: bool(c.body.get("replace_original"))
    )
    assert f"<@{READER}>" in texts(updated)
    acked = await store.incidents.get(incident.id)
    assert acked is not None
    assert acked.acked_by == READER


async def test_a_channel_the_bot_cannot_post_in_is_not_subscribed(workspace: Workspace) -> None:
    workspace.fake.fail("chat.postMessage", error="not_in_channel", status=200, retry_after=None)
    await workspace.command("subscribe prod", user=READER)
    (told,) = await workspace.fake.wait_for("response_url")
    assert "/invite" in texts(told)
    assert await workspace.built.deps.store.subscriptions.all() == []


async def test_the_same_subscribe_twice_at_once_is_saved_and_audited_once(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = workspace.built.deps.store
    await workspace.command("subscribe prod", user=READER)
    await workspace.fake.wait_for("chat.postMessage", where=_in(AUDIT))
    saved = await store.subscriptions.all()

    async def read_before_the_first_was_saved(*args: Any, **kwargs: Any) -> list[Any]:
        return []

    monkeypatch.setattr(store.subscriptions, "all", read_before_the_first_was_saved)
    await workspace.command("subscribe prod", user=READER)
    (told,) = await workspace.fake.wait_for("response_url")
    assert "already gets alerts for account `prod`" in texts(told)
    monkeypatch.undo()
    assert await store.subscriptions.all() == saved
    entries = await store.audit.recent()
    assert [(e.user_id, e.action) for e in entries] == [(READER, "subscribed")]


async def test_subscribing_is_audited(workspace: Workspace) -> None:
    await workspace.command("subscribe prod", user=READER)
    (audited,) = await workspace.fake.wait_for("chat.postMessage", where=_in(AUDIT))
    assert f"<@{READER}>" in audited.body["text"]
    entries = await workspace.built.deps.store.audit.recent()
    assert [(e.user_id, e.action) for e in entries] == [(READER, "subscribed")]
    await workspace.command("unsubscribe prod", user=OPERATOR)
    await workspace.fake.wait_for("chat.postMessage", 2, where=_in(AUDIT))
    entries = await workspace.built.deps.store.audit.recent()
    assert [(e.user_id, e.action) for e in entries] == [
        (OPERATOR, "unsubscribed"),
        (READER, "subscribed"),
    ]


async def test_a_partial_list_shows_what_it_has_and_says_the_rest_is_missing(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    hidden = _first_enabled_job(sim)
    sim.down([str(hidden)])
    await workspace.command("list prod")
    (answer,) = await workspace.fake.wait_for("response_url")
    shown = texts(answer)
    assert "could not be read" in shown
    assert f"prod:{hidden}`" not in shown
    assert any(f"prod:{i}`" in shown for i in sim.jobs if i != hidden)


async def _edit(workspace: Workspace, ref: str, answers: dict[str, str]) -> dict[str, Any]:
    await workspace.command(f"edit {ref}")
    filled = await workspace.fake.wait_for(
        "views.update", where=lambda c: "Edit" in json.dumps(c.body.get("view", {}))
    )
    view = {**filled[-1].body["view"], "id": filled[-1].body["view_id"]}
    await workspace.submit(view, _fill(view, answers))
    return view


@pytest.mark.parametrize("slug", ["cronjob-org", "cronhub"])
async def test_renaming_a_job_keeps_the_credentials_in_its_url(
    workspace: Workspace, slug: str
) -> None:
    secret_url = "https://deploy:hunter2-pw@example.com/hook?token=abc123secret&x=1"
    sim: Any = workspace.suite[slug]
    if slug == "cronjob-org":
        job_id = _first_enabled_job(sim)
        sim.jobs[job_id]["url"] = secret_url
        ref, stored = f"prod:{job_id}", lambda: sim.jobs[job_id]
    else:
        key = next(iter(sim.schedulers))
        sim.schedulers[key]["url"] = secret_url
        ref, stored = f"hub:scheduler/{key}", lambda: sim.schedulers[key]
    await _edit(workspace, ref, {BlockId.NAME: "Renamed, nothing else"})
    await workspace.fake.wait_for("views.update", where=lambda c: "Edited" in json.dumps(c.body))
    assert stored()["url"] == secret_url  # the real URL, secrets and all, as it was
    shown = json.dumps([c.body for c in workspace.fake.calls])
    assert "hunter2-pw" not in shown
    assert "abc123secret" not in shown


async def test_a_changed_url_that_still_holds_a_mask_is_refused(workspace: Workspace) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    sim.jobs[job_id]["url"] = "https://example.com/hook?token=abc123secret"
    await _edit(workspace, f"prod:{job_id}", {BlockId.URL: "https://example.org/hook?token=•••"})
    await workspace.fake.wait_for(
        "views.update", where=lambda c: "hidden value" in json.dumps(c.body, ensure_ascii=False)
    )
    assert sim.jobs[job_id]["url"] == "https://example.com/hook?token=abc123secret"


async def test_a_change_is_refused_while_group_membership_cannot_be_checked(
    workspace: Workspace,
) -> None:
    from bot.chat.access import STALE_AFTER

    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    access = workspace.built.deps.access
    now = [0.0]
    access.users, access.groups, access.clock = set(), ["SOPS0001"], lambda: now[0]
    workspace.fake.usergroups = {"SOPS0001": [READER]}
    await workspace.command(f"pause prod:{job_id}", user=READER)  # a member: paused
    await workspace.fake.wait_for("chat.postMessage", where=_in(CHANNEL))
    assert sim.jobs[job_id]["enabled"] is False
    now[0] += STALE_AFTER + 1  # much later, and Slack cannot say who is in the group
    workspace.fake.fail("usergroups.users.list", error="internal_error", status=500, times=10)
    await workspace.command(f"resume prod:{job_id}", user=READER)
    await workspace.fake.wait_for("response_url", where=lambda c: "cannot check" in texts(c))
    assert sim.jobs[job_id]["enabled"] is False  # nothing changed


@pytest.mark.parametrize("workspace", [{"budget": 100, "jobs": 30}], indirect=True)
async def test_members_clicking_around_never_stop_the_polling(workspace: Workspace) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    ids = [i for i, j in sim.jobs.items() if j.get("type", 0) == 0]
    for n in range(90):  # twenty people looking at jobs, each a few times
        await workspace.command(f"show prod:{ids[n % len(ids)]}", user=f"UMEMBER{n % 20:02d}")
    await workspace.fake.wait_for("response_url", 90, within=20)
    provider = workspace.built.deps.service.provider("prod")
    budget = provider.http.budget
    assert budget is not None
    used, polls = await budget.counts()
    assert used - polls <= 50  # people took at most their half of cron-job.org's 100
    client = AsyncWebClient(token="xoxb-t", base_url=f"{workspace.fake.base_url}/api/")
    monitor = workspace.built.monitor(client)
    await monitor.poll("prod")
    state = await workspace.built.store.accounts.state("prod")
    assert state is not None
    assert state.last_success_at is not None  # the poller still polls


@pytest.mark.parametrize("workspace", [{"budget": 100}], indirect=True)
async def test_the_same_job_looked_at_again_within_a_minute_costs_nothing(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    for _ in range(5):
        await workspace.command(f"show prod:{job_id}")
        await workspace.command(f"history prod:{job_id}")
    await workspace.fake.wait_for("response_url", 10)
    assert sim.requests[f"GET /jobs/{job_id}"] == 1
    assert sim.requests[f"GET /jobs/{job_id}/history"] == 1


@pytest.mark.parametrize("workspace", [{"budget": 100, "jobs": 30}], indirect=True)
async def test_one_person_past_their_share_is_told_when_to_ask_again(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    ids = [i for i, j in sim.jobs.items() if j.get("type", 0) == 0][:10]
    for job_id in ids:
        await workspace.command(f"show prod:{job_id}", user=READER)
    answers = await workspace.fake.wait_for("response_url", len(ids))
    said = " ".join(texts(a) for a in answers)
    assert "your share of this account" in said
    assert "try again at" in said


async def test_renaming_a_job_keeps_a_command_holding_a_secret_the_bot_knows(
    workspace: Workspace,
) -> None:
    """A provider's password in a Miget command is masked in the edit modal: the rename must
    not send the mask back as the command."""
    from providers.redact import secrets

    sim: Any = workspace.suite["miget"]
    app = sorted(sim.apps)[0]
    uuid, job = next(iter(sim.cronjobs[app].items()))
    secrets.learn("pg-pass-7a9c41")  # learnt from an add-on's answer, say
    command = "psql postgres://app:pg-pass-7a9c41@db/app -c 'vacuum'"
    job["settings"]["command"] = command
    view = await _edit(workspace, f"apps:{app}/{uuid}", {BlockId.NAME: "nightly-vacuum"})
    assert "pg-pass-7a9c41" not in json.dumps(view)  # the modal showed it masked
    await workspace.fake.wait_for("views.update", where=lambda c: "Edited" in json.dumps(c.body))
    assert job["settings"]["command"] == command


async def test_a_changed_command_that_still_holds_a_mask_is_refused(workspace: Workspace) -> None:
    from providers.redact import secrets

    sim: Any = workspace.suite["miget"]
    app = sorted(sim.apps)[0]
    uuid, job = next(iter(sim.cronjobs[app].items()))
    secrets.learn("pg-pass-7a9c41")
    command = "psql postgres://app:pg-pass-7a9c41@db/app -c 'vacuum'"
    job["settings"]["command"] = command
    await _edit(workspace, f"apps:{app}/{uuid}", {BlockId.COMMAND: "psql postgres://app:•••@db/x"})
    await workspace.fake.wait_for(
        "views.update", where=lambda c: "hidden value" in json.dumps(c.body, ensure_ascii=False)
    )
    assert job["settings"]["command"] == command
