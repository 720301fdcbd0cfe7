"""End to end through Slack's front door: signed requests in, recorded Web API calls out."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.demo.console import state_value
from bot.demo.fakeslack import Call
from bot.slack.render.ids import ActionId, BlockId, JobValue
from providers.sim.base import Simulator
from tests.conftest import CHANNEL, OPERATOR, READER, Workspace, texts


def _cronjob_org(ws: Workspace) -> Any:
    return ws.suite["cronjob-org"]


def _first_enabled_job(sim: Simulator) -> int:
    jobs: dict[int, dict[str, Any]] = sim.jobs  # type: ignore[attr-defined]
    return next(i for i, job in jobs.items() if job["enabled"] and job.get("type", 0) == 0)


def _fill(view: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """view.state.values as Slack sends them, from answers by block id (initial values kept)."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        initial = element.get("initial_value") or (element.get("initial_option") or {}).get("value")
        answer = answers.get(block["block_id"], initial or "")
        values[block["block_id"]] = {element["action_id"]: state_value(element, answer)}
    return values


async def test_list_shows_jobs_of_all_four_providers(workspace: Workspace) -> None:
    started = time.perf_counter()
    acked = await workspace.command("list")
    assert acked.status_code == 200
    assert time.perf_counter() - started < 3
    (answer,) = await workspace.fake.wait_for("response_url")
    body = texts(answer)
    for prefix in ("prod:", "hub:", "ci:", "apps:"):
        assert f"`{prefix}" in body, prefix
    assert answer.body.get("response_type") == "ephemeral"


async def test_pause_and_resume_by_command_change_the_provider(workspace: Workspace) -> None:
    sim = _cronjob_org(workspace)
    job_id = _first_enabled_job(sim)
    await workspace.command(f"pause prod:{job_id}")
    (posted,) = await workspace.fake.wait_for(
        "chat.postMessage", where=lambda c: c.body.get("channel") == CHANNEL
    )
    assert "paused" in posted.body["text"]
    assert f"prod:{job_id}" in posted.body["text"]
    assert posted.body.get("unfurl_links") is False
    assert sim.jobs[job_id]["enabled"] is False
    await workspace.command(f"resume prod:{job_id}")
    await workspace.fake.wait_for(
        "chat.postMessage", 2, where=lambda c: c.body.get("channel") == CHANNEL
    )
    assert sim.jobs[job_id]["enabled"] is True
    audit = await workspace.fake.wait_for(
        "chat.postMessage", 2, where=lambda c: c.body.get("channel") == "CAUDIT01"
    )
    assert [("paused" in c.body["text"]) for c in audit] == [True, False]


async def test_the_pause_button_flips_the_card_in_place(workspace: Workspace) -> None:
    sim = _cronjob_org(workspace)
    job_id = _first_enabled_job(sim)
    value = JobValue(ref=f"prod:{job_id}").dump()
    await workspace.click(ActionId.JOB_PAUSE, value)
    (flipped,) = await workspace.fake.wait_for(
        "response_url", where=lambda c: bool(c.body.get("replace_original"))
    )
    actions = [
        e["action_id"] for b in flipped.body["blocks"] if b["type"] == "actions"
        for e in b["elements"]
    ]  # fmt: skip
    assert ActionId.JOB_RESUME in actions
    assert ActionId.JOB_PAUSE not in actions
    assert f"<@{OPERATOR}>" in texts(flipped)
    assert sim.jobs[job_id]["enabled"] is False


async def test_a_reader_can_list_but_not_pause(workspace: Workspace) -> None:
    sim = _cronjob_org(workspace)
    job_id = _first_enabled_job(sim)
    await workspace.command("list prod", user=READER)
    await workspace.fake.wait_for("response_url")
    before = sim.total_requests
    await workspace.command(f"pause prod:{job_id}", user=READER)
    refusals = await workspace.fake.wait_for(
        "response_url", where=lambda c: "Only operators" in texts(c)
    )
    assert "<@UOPERATOR>" in texts(refusals[-1])
    assert sim.jobs[job_id]["enabled"] is True
    assert sim.total_requests == before  # resolved from the cached list; nothing changed
    assert not workspace.fake.of("chat.postMessage")


@pytest.mark.parametrize("tamper", ["signature", "stale"])
async def test_unsigned_or_stale_requests_are_refused(workspace: Workspace, tamper: str) -> None:
    before = sum(sim.total_requests for sim in workspace.suite.sims.values())
    if tamper == "signature":
        response = await workspace.post("command=/cron&text=list", secret="not-the-secret")
    else:
        response = await workspace.post("command=/cron&text=list", ts=int(time.time()) - 3600)
    assert response.status_code == 401
    assert sum(sim.total_requests for sim in workspace.suite.sims.values()) == before


async def test_unknown_and_ambiguous_refs_get_clear_answers(workspace: Workspace) -> None:
    jobs: dict[int, dict[str, Any]] = _cronjob_org(workspace).jobs
    first, second = list(jobs)[:2]
    jobs[second]["title"] = jobs[first]["title"]  # before anything is listed and cached
    await workspace.command("show prod:999999")
    (missing,) = await workspace.fake.wait_for("response_url")
    assert "No job matches `prod:999999`. Try `/cron list prod`." in texts(missing)
    await workspace.command(f'show "{jobs[first]["title"]}"')
    answers = await workspace.fake.wait_for("response_url", 2)
    assert "2 jobs match" in texts(answers[-1])
    assert f"`prod:{first}`" in texts(answers[-1])
    assert f"`prod:{second}`" in texts(answers[-1])
    assert "Traceback" not in texts(answers[-1])


async def test_a_failing_provider_does_not_hide_the_others(workspace: Workspace) -> None:
    workspace.suite["djinn"].fault = 500
    await workspace.command("list")
    (answer,) = await workspace.fake.wait_for("response_url")
    body = texts(answer)
    assert "`ci`" in body
    assert "could not be listed" in body
    assert "`prod:" in body
    assert "`hub:" in body


async def test_delete_asks_first_then_deletes(workspace: Workspace) -> None:
    sim = _cronjob_org(workspace)
    job_id = _first_enabled_job(sim)
    await workspace.command(f"delete prod:{job_id}")
    (question,) = await workspace.fake.wait_for("response_url")
    assert ActionId.JOB_DELETE_CONFIRM in texts(question)
    assert job_id in sim.jobs
    await workspace.click(ActionId.JOB_DELETE_CONFIRM, JobValue(ref=f"prod:{job_id}").dump())
    await workspace.fake.wait_for("response_url", 2)
    assert job_id not in sim.jobs


async def _open_create(workspace: Workspace, account: str) -> dict[str, Any]:
    await workspace.command(f"create {account}")
    (updated,) = await workspace.fake.wait_for("views.update")
    view: dict[str, Any] = {**updated.body["view"], "id": updated.body["view_id"]}
    return view


async def test_create_through_the_modal_for_cron_job_org(workspace: Workspace) -> None:
    sim = _cronjob_org(workspace)
    count = len(sim.jobs)
    view = await _open_create(workspace, "prod")
    bad = _fill(view, {BlockId.NAME: "Nightly", BlockId.URL: "ftp://x", BlockId.CRON: "61 * * *"})
    refused = await workspace.submit(view, bad)
    errors = refused.json()["errors"]
    assert set(errors) == {BlockId.URL, BlockId.CRON}
    assert len(sim.jobs) == count
    good = _fill(view, {BlockId.NAME: "Nightly export", BlockId.URL: "https://example.com/x",
                        BlockId.CRON: "30 2 * * *", BlockId.TIMEZONE: "Europe/Berlin"})  # fmt: skip
    accepted = await workspace.submit(view, good)
    assert accepted.json()["response_action"] == "update"
    await workspace.fake.wait_for("views.update", 2)
    created = [j for j in sim.jobs.values() if j["title"] == "Nightly export"]
    assert len(created) == 1
    assert created[0]["schedule"]["timezone"] == "Europe/Berlin"
    assert created[0]["schedule"]["hours"] == [2]


async def test_create_through_the_modal_for_djinn(workspace: Workspace) -> None:
    sim = workspace.suite["djinn"]
    view = await _open_create(workspace, "ci")
    manifest = "driver:\n  type: docker\n  image: golang\n  workspace: /go\n"
    refused = await workspace.submit(view, _fill(view, {BlockId.NAME: "", BlockId.MANIFEST: "- x"}))
    assert BlockId.NAME in refused.json()["errors"]
    good = _fill(view, {BlockId.NAME: "nightly-tests", BlockId.PERIOD: "weekly",
                        BlockId.MANIFEST: manifest})  # fmt: skip
    await workspace.submit(view, good)
    done: list[Call] = await workspace.fake.wait_for("views.update", 2)
    assert "Created" in json.dumps(done[-1].body)
    names = [c.name for c in sim.crons.values()]  # type: ignore[attr-defined]
    assert "nightly-tests" in names


async def test_a_non_operator_cannot_open_the_create_modal(workspace: Workspace) -> None:
    await workspace.command("create prod", user=READER)
    (answer,) = await workspace.fake.wait_for("response_url")
    assert "Only operators can create jobs" in texts(answer)
    assert not workspace.fake.of("views.open")
