"""Modals end to end for every provider, edit, add-ons, and the History and More buttons."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.render.ids import ActionId, BlockId, CallbackId, JobValue
from tests.conftest import CHANNEL, Workspace, texts
from tests.slack.test_scenarios import _fill, _first_enabled_job, _open_create


async def test_cronhub_asks_scheduler_or_monitor_then_creates_a_monitor(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["cronhub"]
    await workspace.command("create hub")
    (opened,) = await workspace.fake.wait_for("views.open")
    picker = {**opened.body["view"], "id": "VPICK"}
    answer = await workspace.submit(picker, _fill(picker, {BlockId.KIND: "monitor"}))
    form = {**answer.json()["view"], "id": "VPICK"}
    assert answer.json()["response_action"] == "update"
    assert BlockId.GRACE_PERIOD in texts(type("C", (), {"body": form})())
    bad = _fill(form, {BlockId.NAME: "db backup ping", BlockId.CRON: "0 3 * * *",
                       BlockId.GRACE_PERIOD: "90"})  # fmt: skip
    assert BlockId.GRACE_PERIOD in (await workspace.submit(form, bad)).json()["errors"]
    good = _fill(form, {BlockId.NAME: "db backup ping", BlockId.CRON: "0 3 * * *",
                        BlockId.TIMEZONE: "Europe/Paris", BlockId.GRACE_PERIOD: "15"})  # fmt: skip
    await workspace.submit(form, good)
    await workspace.fake.wait_for("views.update", where=lambda c: "Created" in texts(c))
    monitors = [m for m in sim.monitors.values() if m.name == "db backup ping"]
    assert len(monitors) == 1
    assert (monitors[0].grace_period, monitors[0].timezone) == (15, "Europe/Paris")


async def test_miget_create_asks_which_app(workspace: Workspace) -> None:
    sim: Any = workspace.suite["miget"]
    view = await _open_create(workspace, "apps")
    app = sorted(sim.apps)[1]
    before = set(sim.cronjobs[app])
    assert BlockId.APP in texts(type("C", (), {"body": view})())
    wrong = {BlockId.APP: app, BlockId.NAME: "Site Map!", BlockId.COMMAND: "",
             BlockId.SCHEDULE_TYPE: "cron", BlockId.CRON: "15 4 * *"}  # fmt: skip
    errors = (await workspace.submit(view, _fill(view, wrong))).json()["errors"]
    assert {BlockId.NAME, BlockId.COMMAND, BlockId.CRON} <= set(errors)
    assert set(sim.cronjobs[app]) == before
    answers = {BlockId.APP: app, BlockId.NAME: "sitemap", BlockId.COMMAND: "rake sitemap",
               BlockId.SCHEDULE_TYPE: "cron", BlockId.CRON: "15 4 * * *"}  # fmt: skip
    accepted = await workspace.submit(view, _fill(view, answers))
    assert accepted.json()["response_action"] == "update"
    await workspace.fake.wait_for("views.update", 2)
    created = [c for u, c in sim.cronjobs[app].items() if u not in before]
    assert len(created) == 1
    assert created[0]["name"].startswith("sitemap-")  # Miget suffixes the name
    assert created[0]["settings"]["command"] == "rake sitemap"


async def test_edit_fills_the_form_and_saves_the_change(workspace: Workspace) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    await workspace.command(f"edit prod:{job_id}")
    (filled,) = await workspace.fake.wait_for("views.update")
    view = {**filled.body["view"], "id": filled.body["view_id"]}
    assert sim.jobs[job_id]["title"] in texts(filled)  # the current name is the initial value
    await workspace.submit(view, _fill(view, {BlockId.NAME: "Renamed in Slack"}))
    await workspace.fake.wait_for("views.update", 2)
    assert sim.jobs[job_id]["title"] == "Renamed in Slack"
    posts = await workspace.fake.wait_for(
        "chat.postMessage", 2, where=lambda c: "edited" in c.body.get("text", "")
    )
    assert {c.body["channel"] for c in posts} == {CHANNEL, "CAUDIT01"}  # channel and audit
    assert all(f"prod:{job_id}" in c.body["text"] for c in posts)


async def test_a_miget_addon_is_created_from_its_modal(workspace: Workspace) -> None:
    sim: Any = workspace.suite["miget"]
    await workspace.command("addon create apps")
    (opened,) = await workspace.fake.wait_for("views.update")
    view = {**opened.body["view"], "id": opened.body["view_id"]}
    app = sorted(sim.apps)[0]
    before = len(sim.addons[app])
    answers = {BlockId.APP: app, BlockId.ADDON_TYPE: "postgres", BlockId.ADDON_NAME: "reports-db",
               BlockId.ADDON_LABEL: "Reports DB", BlockId.ADDON_VERSION: "16"}  # fmt: skip
    await workspace.submit(view, _fill(view, answers))
    (done,) = await workspace.fake.wait_for("views.update", where=lambda c: "created" in texts(c))
    assert "reports-db" in texts(done)
    assert "password" not in texts(done).lower()
    assert len(sim.addons[app]) == before + 1


async def test_history_button_shows_recent_runs(workspace: Workspace) -> None:
    sim: Any = workspace.suite["cronjob-org"]
    job_id = _first_enabled_job(sim)
    sim.run(str(job_id), ok=False)
    await workspace.click(ActionId.JOB_HISTORY, JobValue(ref=f"prod:{job_id}").dump())
    (answer,) = await workspace.fake.wait_for("response_url")
    assert "History" in texts(answer)
    assert "500" in texts(answer)


async def test_more_button_pages_through_a_long_list(workspace: Workspace) -> None:
    await workspace.command("list")
    (first,) = await workspace.fake.wait_for("response_url")
    more = [
        e for b in first.body["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"] == ActionId.LIST_MORE
    ]  # fmt: skip
    assert more, "40 jobs do not fit one page"
    await workspace.click(ActionId.LIST_MORE, more[0]["value"])
    (second,) = await workspace.fake.wait_for(
        "response_url", where=lambda c: bool(c.body.get("replace_original"))
    )
    assert texts(second) != texts(first)
    assert '"offset"' in more[0]["value"]


async def test_an_unexpected_failure_after_submit_ends_in_the_modal(
    workspace: Workspace,
) -> None:
    async def broken(account: str, spec: object) -> None:
        raise RuntimeError("secret internals")

    workspace.built.deps.service.create = broken  # type: ignore[method-assign,assignment]
    view = await _open_create(workspace, "prod")
    answers = {BlockId.NAME: "n", BlockId.URL: "https://example.com", BlockId.CRON: "0 * * * *"}
    await workspace.submit(view, _fill(view, answers))
    (ended,) = await workspace.fake.wait_for(
        "views.update", where=lambda c: "Not finished" in texts(c)
    )
    assert "Something went wrong inside cronops" in texts(ended)
    assert "secret internals" not in texts(ended)
    assert "Traceback" not in texts(ended)


async def test_switching_the_schedule_type_of_an_edit_keeps_it_an_edit(
    workspace: Workspace,
) -> None:
    sim: Any = workspace.suite["cronhub"]
    job_ref = f"hub:scheduler/{next(iter(sim.schedulers))}"
    await workspace.command(f"edit {job_ref}")
    (filled,) = await workspace.fake.wait_for("views.update")
    view = {**filled.body["view"], "id": filled.body["view_id"]}
    assert ActionId.FORM_SCHEDULE_TYPE in json.dumps(view)
    await workspace.click(ActionId.FORM_SCHEDULE_TYPE, "", view=view, option="interval")
    redrawn = (await workspace.fake.wait_for("views.update", 2))[-1].body["view"]
    assert redrawn["callback_id"] == view["callback_id"] == CallbackId.EDIT
    assert redrawn["title"]["text"] == "Edit job"
    assert json.loads(redrawn["private_metadata"])["ref"] == job_ref
    shown = {b.get("block_id") for b in redrawn["blocks"]}
    assert BlockId.CRON not in shown
    assert BlockId.INTERVAL_EVERY in shown  # the interval's inputs instead
