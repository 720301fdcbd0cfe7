"""Credentials never in plain sight (SPEC "Security").

Cronhub monitor codes are ping credentials: every message shows only their first 8
characters (``hub:monitor/b5e5e820…``), while refs typed in full, as an 8+ character prefix or
copied with the ellipsis still resolve. Job commands, manifests and URLs with credentials
appear only in ephemeral replies, masked — never in channel posts (alerts, announcements, the
audit post, timed resumes, subscriptions).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.service import Ambiguous, NoMatch
from bot.demo.fakeslack import Call
from bot.slack.render import alerts, changes, problems
from bot.slack.render.ids import ActionId, IncidentValue, JobValue, PageValue
from bot.slack.render.jobs import (
    card_text,
    delete_confirm,
    delete_text,
    history_blocks,
    history_text,
    job_card,
    job_list,
)
from providers.base import Job
from tests.conftest import CHANNEL, Workspace
from tests.slack.test_render import (
    MANIFEST,
    MONITOR_ID,
    NOW,
    cronhub_monitor,
    cronjob_org,
    djinn_cron,
    executions,
    miget_cronjob,
)
from tests.slack.test_render_alerts import cronhub_monitor as monitor_incident

CODE = MONITOR_ID.removeprefix("monitor/")  # b5e5e820-1c2d-4e5f-8a9b-0c1d2e3f4a5b
SHOWN = "hub:monitor/b5e5e820…"
SECRETS = ("hunter2", "s3cret-pw", "tok-abc123", "Bearer-xyz789")


def _json(blocks: list[Block]) -> str:
    return json.dumps([block.to_dict() for block in blocks], ensure_ascii=False)


def _monitor(**changes: Any) -> Job:
    return cronhub_monitor(link=f"https://cronhub.io/monitors/{CODE}", **changes)


def _leaky() -> list[Job]:
    """Jobs whose command, manifest or URL carry credentials."""
    command = (
        "PGPASSWORD=hunter2 pg_dump postgres://admin:s3cret-pw@db.internal/app"
        " && curl -H 'Authorization: Bearer-xyz789' https://hooks.example/x?token=tok-abc123"
    )
    manifest = "env:\n- API_TOKEN=tok-abc123\npassword: hunter2\n" + MANIFEST
    return [
        miget_cronjob().model_copy(update={"command": command}),
        djinn_cron().model_copy(update={"manifest": manifest}),
        cronjob_org(
            url="https://admin:s3cret-pw@example.com/run?token=tok-abc123",
            link="https://admin:s3cret-pw@console.example/jobs/4242",
        ),
    ]


# -- monitor codes --------------------------------------------------------------------------


def test_cards_lists_and_history_show_eight_characters_of_a_monitor_code() -> None:
    job = _monitor()
    for blocks in (
        job_card(job, now=NOW),
        job_card(job.model_copy(update={"paused": True}), now=NOW, note="⏸️ Paused"),
        job_list([job], now=NOW, page=PageValue()),
        history_blocks(job, executions(), now=NOW),
        delete_confirm(job),
    ):
        shown = _json(blocks)
        visible = shown.replace(JobValue(ref=job.ref).dump().replace('"', '\\"'), "")
        assert CODE not in visible  # buttons of ephemeral replies may carry the ref in full
        assert SHOWN in shown
    for text in (card_text(job), history_text(job), delete_text(job)):
        assert CODE not in text
        assert "b5e5e820" in text


def test_change_sentences_show_eight_characters_of_a_monitor_code() -> None:
    job = _monitor()
    texts = [
        changes.change_text("U1", "paused", job),
        changes.audit_text("U1", "paused", job),
        changes.audit_text("U1", "edited", job.ref),
        changes.deleted_text(job, "U1", NOW),
        changes.kept_text(job.ref),
        changes.saved_text("edited", job),
        changes.paused_text(job, "Cronhub"),
        changes.flipped_text("Paused", job),
        changes.timed_resume_text(job, timedelta(hours=2), "U1"),
        changes.timed_resume_failed_text(job.ref, "Cronhub said no"),
        alerts.muted_text("U1", job.ref, None),
        alerts.unmuted_text("U1", job.ref),
        alerts.not_muted_text(job.ref),
        alerts.subscribed_text("U1", "C1", alerts.Route(job.ref, "job")),
        alerts.already_subscribed_text("C1", alerts.Route(job.ref, "job")),
        alerts.unsubscribed_text("U1", "C1", alerts.Route(job.ref, "job")),
        alerts.not_subscribed_text("C1", alerts.Route(job.ref, "job")),
        problems.ref_problem(Ambiguous("invoice", [job, job])),
        problems.ref_problem(NoMatch(job.ref, account="hub")),
        _json(alerts.subscriptions_list("C1", [alerts.Route(job.ref, "job", created_by="U1")])),
    ]
    for text in texts:
        assert CODE not in text, text
        assert "b5e5e820" in text, text


def test_alerts_show_eight_characters_and_carry_no_code_in_their_buttons() -> None:
    view = replace(monitor_incident(), url=f"https://cronhub.io/monitors/{CODE}", acked_by="U1")
    resolved = replace(view, resolved_at=NOW)
    messages = [
        alerts.alert_open(view, now=NOW),
        alerts.alert_update(replace(view, acked_by=None), now=NOW),
        alerts.alert_resolved(resolved, now=NOW),
        alerts.resolved_reply(resolved, now=NOW),
        alerts.still_failing_reply(replace(view, flapping=True), now=NOW),
        alerts.rollup("hub", "Cronhub", [view, view], now=NOW),
        alerts.first_start_summary("hub", "Cronhub", [(view.ref, "invoice run", "alert")], now=NOW),
    ]
    for message in messages:
        payload = json.dumps(message.payload(), ensure_ascii=False)
        assert CODE not in payload  # not even in a button value or a link: these are posts
        assert SHOWN in payload or "b5e5e820" in payload


def test_a_monitor_link_that_holds_its_code_is_left_out() -> None:
    body = _json(job_card(_monitor(), now=NOW))
    assert "Open in Cronhub" not in body
    assert "cronhub.io/monitors" not in body


# -- commands, manifests, URLs --------------------------------------------------------------


def test_cards_mask_commands_manifests_and_url_credentials() -> None:
    for job in _leaky():
        body = _json(job_card(job, now=NOW)) + card_text(job)
        for secret in SECRETS:
            assert secret not in body, (job.ref, secret)
        assert "•••" in body


def test_channel_posts_never_carry_commands_manifests_or_url_credentials() -> None:
    for job in _leaky():
        texts = [
            changes.change_text("U1", "created", job),
            changes.audit_text("U1", "created", job),
            changes.timed_resume_text(job, timedelta(hours=1), "U1"),
        ]
        for text in texts:
            for part in (job.command, job.manifest, job.url, "s3cret-pw", "tok-abc123"):
                assert not part or part not in text
    leaky = replace(
        monitor_incident(),
        url="https://admin:s3cret-pw@djinn.example/b/1?token=tok-abc123",
        status_text="failed",
    )
    for message in (alerts.alert_open(leaky, now=NOW), alerts.alert_resolved(leaky, now=NOW)):
        payload = json.dumps(message.payload())
        assert "s3cret-pw" not in payload
        assert "tok-abc123" not in payload


# -- through Slack's front door -------------------------------------------------------------


def _hub(workspace: Workspace) -> Any:
    return workspace.suite["cronhub"]


def _healthy_monitor(workspace: Workspace) -> str:
    sim = _hub(workspace)
    return next(code for code, m in sim.monitors.items() if m.status in ("up", "running"))


def _posts(workspace: Workspace) -> list[Call]:
    return [c for c in workspace.fake.of("chat.postMessage") if "_failed" not in c.body]


async def test_a_monitor_shows_eight_characters_of_its_code_through_slack(
    workspace: Workspace,
) -> None:
    code = _healthy_monitor(workspace)
    await workspace.command(f"show hub:monitor/{code}")  # typed in full: still resolves
    await workspace.command(f"show hub:monitor/{code[:8]}")  # an 8-character prefix
    await workspace.command(f"show hub:monitor/{code[:8]}…")  # copied from a list
    answers = await workspace.fake.wait_for("response_url", 3)
    for answer in answers:
        assert code not in answer.body["text"]
        assert f"hub:monitor/{code[:8]}…" in answer.body["text"]
    await workspace.command(f"pause hub:monitor/{code}")
    await workspace.command(f"mute hub:monitor/{code} 1h")
    await workspace.command(f"subscribe hub:monitor/{code}")
    posts = await workspace.fake.wait_for("chat.postMessage", 5)
    assert {p.body["channel"] for p in posts} == {CHANNEL, "CAUDIT01"}
    for post in posts:
        assert code not in json.dumps(post.body), post.body["text"]
        assert code[:8] in post.body["text"]
    assert _hub(workspace).monitors[code].status == "paused"


async def test_monitor_alerts_and_their_buttons_hold_no_code(workspace: Workspace) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=f"{workspace.fake.base_url}/api/")
    monitor = workspace.built.monitor(client)
    monitor.notifier.default_channel = CHANNEL
    await monitor.poll("hub")  # first start: one summary of the monitors already alerting
    code = _healthy_monitor(workspace)
    _hub(workspace).run(f"monitor/{code}", ok=False)
    await monitor.poll("hub")
    posts = _posts(workspace)
    assert len(posts) == 2
    for post in posts:
        assert not any(c in json.dumps(post.body) for c in _hub(workspace).monitors), post.body
    alert = posts[-1].body
    values = {
        e["action_id"]: e["value"]
        for b in alert["blocks"] if b["type"] == "actions" for e in b["elements"]
    }  # fmt: skip
    assert IncidentValue.load(values[ActionId.ALERT_PAUSE]).ref == f"hub:monitor/{code[:8]}"
    await workspace.click(ActionId.ALERT_HISTORY, values[ActionId.ALERT_HISTORY])
    await workspace.click(ActionId.ALERT_PAUSE, values[ActionId.ALERT_PAUSE])
    answers = await workspace.fake.wait_for("response_url", 2)
    assert all(code not in json.dumps(a.body) for a in answers)
    assert _hub(workspace).monitors[code].status == "paused"
    assert all(code not in json.dumps(p.body) for p in _posts(workspace))
