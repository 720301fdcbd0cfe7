"""Provider and user text is escaped for mrkdwn wherever the bot shows it (SPEC "Security").

A job named ``<!channel>`` or ``<@U123>``, a link ``<https://evil.example|click>``, or the
same typed into a command, must ping and link nobody: in the card, list, history, alerts,
the audit post, the announcement, the timed-resume post, the subscribe echo, the pick-lists
and every error sentence that quotes what was typed — and in each message's top-level
``text``, the notification people see. The bot's own mentions and dates keep working.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.resumes import run_due_resumes
from bot.chat.service import Ambiguous, NoMatch, RefError
from bot.demo.fakeslack import Call
from bot.slack.delivery import Delivery
from bot.slack.render import alerts, changes, problems
from bot.slack.render.ids import ActionId, JobValue, ModalMeta, PageValue
from bot.slack.render.jobs import change_text, delete_confirm, history_blocks, job_card, job_list
from bot.slack.render.modals import job_modal, progress_modal
from bot.slack.render.status import AccountStatus, status_blocks
from providers.base import Job
from providers.clock import utcnow
from providers.errors import InvalidInput
from tests.conftest import CHANNEL, OPERATOR, READER, Workspace
from tests.slack.blockkit import assert_pings_nobody, mrkdwn_texts
from tests.slack.test_render import NOW, cronjob_org, executions
from tests.slack.test_render_alerts import cronjob_org as incident
from tests.slack.test_scenarios import _fill

AUDIT = "CAUDIT01"


def _sim(workspace: Workspace) -> Any:
    return workspace.suite["cronjob-org"]


def _name_jobs(workspace: Workspace, *names: str) -> list[int]:
    """Rename enabled cron-job.org jobs (before anything is listed and cached); their ids."""
    sim = _sim(workspace)
    ids = [i for i, j in sim.jobs.items() if j["enabled"] and j.get("type", 0) == 0]
    for job_id, name in zip(ids, names, strict=False):
        sim.jobs[job_id]["title"] = name
    return ids[: len(names)]


def _in(channel: str) -> Callable[[Call], bool]:
    return lambda call: call.body.get("channel") == channel


def _bodies(calls: list[Call]) -> list[dict[str, Any]]:
    return [call.body for call in calls]


def _client(workspace: Workspace) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=f"{workspace.fake.base_url}/api/")


def _slack_escaped(text: str) -> str:
    """Command text as Slack sends it: its three control characters as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def test_show_escapes_the_name_in_the_card_and_its_notification(
    workspace: Workspace,
) -> None:
    (job_id,) = _name_jobs(workspace, "<!channel> backup")
    await workspace.command(f"show prod:{job_id}")
    (answer,) = await workspace.fake.wait_for("response_url")
    assert_pings_nobody([answer.body])
    assert "&lt;!channel&gt; backup" in answer.body["text"]


async def test_list_and_history_escape_names(workspace: Workspace) -> None:
    (job_id,) = _name_jobs(workspace, "<@U123> & co")
    await workspace.command("list prod")
    await workspace.command(f"history prod:{job_id}")
    answers = await workspace.fake.wait_for("response_url", 2)
    assert_pings_nobody(_bodies(answers))
    assert any("&lt;@U123&gt; &amp; co" in t for a in answers for t in mrkdwn_texts(a.body))


async def test_pause_announcement_and_audit_post_escape_the_name(workspace: Workspace) -> None:
    (job_id,) = _name_jobs(workspace, "<https://evil.example|click> <!here>")
    await workspace.command(f"pause prod:{job_id}")
    posts = await workspace.fake.wait_for("chat.postMessage", 2)
    assert {p.body["channel"] for p in posts} == {CHANNEL, AUDIT}
    assert_pings_nobody(_bodies(posts))
    for post in posts:
        assert post.body["text"].startswith(f"<@{OPERATOR}> paused")  # our mention still works
        assert "&lt;https://evil.example|click&gt; &lt;!here&gt;" in post.body["text"]


async def test_the_timed_resume_post_escapes_the_name(workspace: Workspace) -> None:
    (job_id,) = _name_jobs(workspace, "<!channel> nightly")
    await workspace.command(f"pause prod:{job_id} 2h")
    await workspace.fake.wait_for("chat.postMessage", where=lambda c: c.body["channel"] == CHANNEL)
    deps = workspace.built.deps
    for _ in range(100):  # stored with the pause; its announcement, the thread, is then sent
        pending = await deps.store.resumes.pending(f"prod:{job_id}")
        key = pending.message_key if pending is not None else None
        if key and await deps.store.outbox.sent_post(key) is not None:
            break
        await asyncio.sleep(0.02)
    later = utcnow() + timedelta(hours=2, minutes=1)
    delivery = Delivery(deps.store, _client(workspace))
    assert await run_due_resumes(deps.store, deps.service, delivery, later) == 1
    replies = [c for c in workspace.fake.of("chat.postMessage") if c.body.get("thread_ts")]
    assert len(replies) == 1
    assert_pings_nobody(_bodies(replies))
    assert "&lt;!channel&gt; nightly" in replies[0].body["text"]
    assert f"<@{OPERATOR}>" in replies[0].body["text"]


async def test_the_subscribe_echo_escapes_what_was_typed(workspace: Workspace) -> None:
    await workspace.command(_slack_escaped("subscribe <!channel> & more"), user=READER)
    (posted,) = await workspace.fake.wait_for("chat.postMessage", where=_in(CHANNEL))
    assert_pings_nobody([posted.body])
    assert "&lt;!channel&gt; &amp; more" in posted.body["text"]  # Slack's &amp; decoded once
    assert posted.body["text"].startswith(f"<@{READER}> subscribed <#{CHANNEL}>")
    await workspace.fake.wait_for("chat.postMessage", where=_in(AUDIT))  # saved: then again
    await workspace.command(_slack_escaped("subscribe <!channel> & more"), user=READER)
    await workspace.fake.wait_for("response_url")  # already subscribed: before unsubscribing
    await workspace.command(_slack_escaped("unsubscribe <@U123>"), user=READER)
    await workspace.command(_slack_escaped("unsubscribe <!channel> & more"), user=READER)
    answers = await workspace.fake.wait_for("response_url", 2)
    posts = await workspace.fake.wait_for("chat.postMessage", 2)
    assert_pings_nobody(_bodies(answers) + _bodies(posts))


async def test_a_mention_typed_as_a_subscription_target_pings_nobody(
    workspace: Workspace,
) -> None:
    """With "escape channels, users and links" on, Slack sends @channel as ``<!channel>``."""
    await workspace.command("subscribe <!channel>", user=READER)
    posts = await workspace.fake.wait_for("chat.postMessage", 2)  # the channel's, the audit's
    assert_pings_nobody(_bodies(posts))


async def test_pick_lists_escape_the_names_and_what_was_typed(workspace: Workspace) -> None:
    _name_jobs(workspace, "<@U123>", "<@U123>", "<!channel>x")
    await workspace.command(_slack_escaped('show "<@U123>"'))
    await workspace.command(_slack_escaped("show <!channel>"))
    answers = await workspace.fake.wait_for("response_url", 2)
    assert_pings_nobody(_bodies(answers))
    everything = " ".join(t for a in answers for t in mrkdwn_texts(a.body))
    assert "2 jobs match `&lt;@U123&gt;`" in everything
    assert "No job matches `&lt;!channel&gt;`" in everything
    assert "&lt;!channel&gt;x" in everything  # the closest name, offered


async def test_error_sentences_quoting_what_was_typed_are_escaped(workspace: Workspace) -> None:
    acked = [
        await workspace.command(_slack_escaped("<!channel>")),
        await workspace.command(_slack_escaped("history prod:1 <!here>")),
        await workspace.command(_slack_escaped("list prod ci")),
    ]
    bodies = [response.json() for response in acked]
    assert_pings_nobody(bodies)
    assert "`&lt;!channel&gt;` is not a `/cron` command" in bodies[0]["text"]
    await workspace.command(_slack_escaped("pause <@U123>"))
    (answer,) = await workspace.fake.wait_for("response_url")
    assert_pings_nobody([answer.body])


async def test_refusals_keep_naming_the_operators(workspace: Workspace) -> None:
    (job_id,) = _name_jobs(workspace, "<!channel>")
    await workspace.command(f"pause prod:{job_id}", user=READER)
    (refused,) = await workspace.fake.wait_for("response_url")
    assert_pings_nobody([refused.body])
    assert f"<@{OPERATOR}>" in refused.body["text"]


async def test_the_delete_button_answer_escapes_the_name(workspace: Workspace) -> None:
    (job_id,) = _name_jobs(workspace, "<!channel> old")
    await workspace.click(ActionId.JOB_DELETE_CONFIRM, JobValue(ref=f"prod:{job_id}").dump())
    answers = await workspace.fake.wait_for("response_url")
    posts = await workspace.fake.wait_for("chat.postMessage", 2)
    assert_pings_nobody(_bodies(answers) + _bodies(posts))
    assert job_id not in _sim(workspace).jobs


async def test_mute_and_unmute_posts_escape_the_name(workspace: Workspace) -> None:
    (job_id,) = _name_jobs(workspace, "<!here> mute me")
    await workspace.command(f"mute prod:{job_id} 1h")
    await workspace.command(f"unmute prod:{job_id}")
    await workspace.command(f"unmute prod:{job_id}")
    posts = await workspace.fake.wait_for("chat.postMessage", 4)
    (answer,) = await workspace.fake.wait_for("response_url")
    assert_pings_nobody([*_bodies(posts), answer.body])


async def test_a_saved_modal_says_done_with_the_name_escaped(workspace: Workspace) -> None:
    (job_id,) = _name_jobs(workspace, "plain")
    await workspace.command(f"edit prod:{job_id}")
    (filled,) = await workspace.fake.wait_for("views.update")
    view = {**filled.body["view"], "id": filled.body["view_id"]}
    await workspace.submit(view, _fill(view, {"name": "<!channel> renamed"}))
    updates = await workspace.fake.wait_for("views.update", 2)
    posts = await workspace.fake.wait_for("chat.postMessage", 2)
    assert_pings_nobody(_bodies(updates) + _bodies(posts))
    assert _sim(workspace).jobs[job_id]["title"] == "<!channel> renamed"


# -- the renderers, one by one -----------------------------------------------------------


def _hostile_job(**changes: Any) -> Job:
    job = cronjob_org(
        id="<!channel>",
        name="<!channel> & <@U123>",
        last_status="<https://evil.example|click>",
        url="https://example.com/?q=<!here>",
        details=(("<!here>", "<@U123>"),),
        link="https://example.com/<!channel>",
        paused=False,
    )
    return job.model_copy(update=changes)


def _views(*views: Any) -> list[dict[str, Any]]:
    return [{"view": view.to_dict()} for view in views]


def _message(blocks: Sequence[Block]) -> dict[str, Any]:
    return {"blocks": [block.to_dict() for block in blocks]}


def test_cards_lists_history_and_questions_escape_provider_text() -> None:
    job = _hostile_job()
    runs = [e.model_copy(update={"status_text": "<!here>", "url": "https://x/<@U123>"})
            for e in executions()]  # fmt: skip
    messages = [
        job_card(job, now=NOW),
        job_card(job.model_copy(update={"paused": True}), now=NOW),
        job_list([job], now=NOW, page=PageValue(text="<!channel>", account="<!here>")),
        job_list([], now=NOW, page=PageValue(text="<!channel>")),
        job_list([job], now=NOW, page=PageValue(), failures=[("<!here>", "<@U123> down")]),
        history_blocks(job, runs, now=NOW),
        history_blocks(job, [], now=NOW),
        delete_confirm(job),
    ]
    assert_pings_nobody(_message(blocks) for blocks in messages)
    assert_pings_nobody([{"text": change_text("U1", "paused", job)}])


def test_alerts_escape_provider_text_everywhere() -> None:
    view = incident(
        ref="<!channel>", account="<!here>", provider_label="<@U123>", job_name="<!channel>",
        status_text="<https://evil.example|click>", url="https://x/<!here>", acked_by="U1",
    )  # fmt: skip
    resolved = replace(view, resolved_at=NOW)
    failing = [(view.ref, view.job_name, view.status_text)]
    messages = [
        alerts.alert_open(view, now=NOW),
        alerts.alert_update(view, now=NOW),
        alerts.alert_resolved(resolved, now=NOW),
        alerts.resolved_reply(resolved, now=NOW),
        alerts.still_failing_reply(replace(view, flapping=True), now=NOW),
        alerts.rollup("<!here>", "<@U123>", [view, view], now=NOW),
        alerts.first_start_summary("<!here>", "<@U123>", failing, now=NOW),
        alerts.account_down("<!here>", "<@U123>", "<!channel> said no", now=NOW),
        alerts.account_back("<!here>", "<@U123>", NOW, now=NOW),
    ]
    assert_pings_nobody(message.payload() for message in messages)
    routes = [
        alerts.Route("<!channel>", "text", "<!here>", "U1> <!channel", NOW),
        alerts.Route("<@U123>", "account", created_by="U1"),
        alerts.Route("prod:<!here>", "job"),
    ]
    assert_pings_nobody([_message(alerts.subscriptions_list("C1", routes))])


def test_modals_escape_provider_text() -> None:
    meta = ModalMeta(account="apps", provider="miget", kind="cronjob", apps=["<!here>", "b"])
    spec = _hostile_job(provider="miget").to_spec()
    views = _views(
        job_modal(meta, current=spec, error="<!channel> refused"),
        job_modal(meta),
        progress_modal("Saving…", "Talking to <!here>…"),
    )
    assert_pings_nobody(views)


def test_change_sentences_escape_names_and_keep_our_mentions() -> None:
    job = _hostile_job()
    texts = [
        changes.change_text("U1", "paused", job),
        changes.audit_text("U1", "paused", job),
        changes.audit_text("U1", "created add-on", "apps:<!here>"),
        changes.deleted_text(job, "U1", NOW),
        changes.kept_text(job.ref),
        changes.saved_text("created", job),
        changes.addon_created_text("U1", "<!here>", "<!channel>", "<@U123>"),
        changes.paused_text(job, "<!here>"),
        changes.timed_resume_text(job, timedelta(hours=2), "U1"),
        changes.timed_resume_failed_text(job.ref, "the provider said no"),
        changes.flipped_text("Paused", job),
        changes.delayed_text(changes.change_text("U1", "paused", job)),
    ]
    assert_pings_nobody({"text": text} for text in texts)
    assert changes.audit_text("U1", "paused", job).startswith(
        "<@U1> paused `prod:&lt;!channel&gt;`"
    )
    assert "<@U1>" in changes.timed_resume_text(job, timedelta(hours=2), "U1")


def test_problems_escape_what_was_typed_and_what_providers_said() -> None:
    job = _hostile_job()
    texts = [
        problems.ref_problem(Ambiguous("<@U123>", [job] * 12)),
        problems.ref_problem(NoMatch("<!channel>", ["<!here> a", "<@U123> b"])),
        problems.ref_problem(NoMatch("prod:<!here>", account="prod")),
        problems.ref_problem(RefError("There is no account `<!here>`.")),
        problems.parse_problem("`<!channel>` is not a `/cron` command", "`/cron help`"),
        problems.provider_problem(InvalidInput("<!channel> is taken", provider="<@U123>")),
        problems.form_problem(["<!here> is not a URL", "<@U123>"]),
        problems.plain_problem("<https://evil.example|click>"),
    ]
    assert_pings_nobody({"text": text} for text in texts)
    refusal = problems.refusal("pause", {"U2", "U1"}, ["S1"])
    assert refusal == (
        "Only operators can pause jobs; operators are <@U1>, <@U2>, <!subteam^S1>."
        " Nothing was changed."
    )
    assert "Nobody can pause jobs" in problems.refusal("pause", set(), [])
    assert "…and 4 more" in texts[0]
    unknown = problems.membership_unknown("S1")
    assert "cannot check the members of <!subteam^S1>" in unknown
    assert unknown.endswith("Nothing was changed.")
    assert_pings_nobody([{"text": problems.membership_unknown("S1> <!channel")}])


def test_status_and_subscription_sentences_escape_provider_text() -> None:
    rows = [AccountStatus("<!here>", "<@U123>", "<!channel> refused", 3, 100, None, timedelta(1))]
    assert_pings_nobody([_message(status_blocks(rows))])
    texts = [
        alerts.subscribed_text("U1", "C1", alerts.Route("<!channel>", "text", "<!here>")),
        alerts.already_subscribed_text("C1", alerts.Route("<!channel>", "account")),
        alerts.unsubscribed_text("U1", "C1", alerts.Route("<@U123>", "job")),
        alerts.not_subscribed_text(
            "C1", alerts.Route("<@U123>", "text"), [alerts.Route("<@U123>", "text", "<!here>")]
        ),
        alerts.muted_text("U1", "prod:<!here>", None),
        alerts.unmuted_text("U1", "prod:<!here>"),
        alerts.not_muted_text("prod:<!here>"),
        alerts.cannot_post_text("C1", "<!channel>"),
        alerts.cannot_post_text("C1> <!here", "not_in_channel"),
    ]
    assert_pings_nobody({"text": text} for text in texts)
