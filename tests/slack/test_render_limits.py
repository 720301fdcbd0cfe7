"""Every message and view the bot can produce stays inside Block Kit's limits, whatever the data.

Each renderer in ``bot/slack/render/`` (and the notifier's payloads) is fed hostile data —
10,000-character names, names with newlines, mentions and links as names, 10,000-character
URLs, commands and manifests, thousands of jobs, hundreds of applications and accounts,
thousands of subscriptions — and what it returns must (1) pass slack_sdk's ``to_dict()``,
(2) pass the limits slack_sdk does not check (:mod:`tests.slack.blockkit`) and (3) ping
nobody. ``test_every_renderer_is_exercised`` keeps the list complete: a new public renderer
fails it until it is added here. The same, end to end, through signed requests at the end.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, Block
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import notifier
from bot.chat.grammar import HELP_TEXT, USAGE
from bot.chat.service import Ambiguous, NoMatch, RefError
from bot.demo.fakeslack import Call
from bot.slack.render import (
    alerts,
    changes,
    digest,
    home,
    jobs,
    lists,
    messages,
    modals,
    problems,
    status,
)
from bot.slack.render.alerts import AlertMessage, IncidentView
from bot.slack.render.ids import ActionId, JobValue, ModalMeta, PageValue
from bot.slack.render.job_fields import FIELDS
from bot.slack.render.status import AccountStatus
from providers.base import Capability, Execution, Job, JobKind, RunResult
from providers.errors import InvalidInput
from providers.schedule import Schedule
from tests.conftest import CHANNEL, Workspace
from tests.slack.blockkit import (
    assert_pings_nobody,
    assert_valid_message,
    assert_valid_view,
    message_problems,
    view_problems,
)
from tests.slack.test_scenarios import _fill

NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
HUGE = 10_000
UUID = "b5e5e820-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
APP = "3f2a9c1d-0b1e-4c2d-9e8f-7a6b5c4d3e2f"

#: Names as providers and people write them, at their worst.
NAMES = (
    "n" * HUGE,
    "line one\nline two\n\n*bold* _it_ `code` > quote",
    "<!channel> backup",
    "<@U123> & <https://evil.example|click>",
    "<" * 3000 + "&" * 3000,
    "",
    "   ",
    "🔥" * 2000,
)
URLS = (
    "https://example.com/" + "a" * HUGE,
    "https://admin:pw@example.com/x?token=secret&b=<2>|d",
    "https://example.com/" + "<&>|" * 2500,
)
TEXTS = ("t" * HUGE, "<!here>\n" * 1000, "& <x> " * 2000)
Rendered = tuple[str, dict[str, Any]]  # ("message" | "view", Slack's JSON)


# -- hostile data ---------------------------------------------------------------------------


def job(n: int = 0, **changes: Any) -> Job:
    base = Job(
        account="prod",
        provider="cronjob-org",
        kind=JobKind.JOB,
        id=str(4242 + n),
        name=NAMES[n % len(NAMES)],
        schedule=Schedule.from_cron("0 3 * * *", "Europe/Berlin"),
        last_run=NOW - timedelta(hours=2),
        last_result=RunResult.FAILED,
        last_status=TEXTS[n % len(TEXTS)],
        last_duration_ms=1234,
        url=URLS[n % len(URLS)],
        http_method="get",
        link=URLS[(n + 1) % len(URLS)],
        capabilities=frozenset(Capability),
        details=tuple((f"label {i} " + "l" * 3000, "v" * 5000) for i in range(20)),
    )
    return base.model_copy(update=changes)


def every_job() -> list[Job]:
    jobs_ = [job(n) for n in range(len(NAMES))]
    jobs_ += [
        job(1, paused=True),
        job(2, provider="cronhub", kind=JobKind.MONITOR, id=f"monitor/{UUID}", account="hub",
            grace_period=5, link=f"https://cronhub.io/monitors/{UUID}", paused=True,
            capabilities=frozenset({Capability.UPDATE, Capability.DELETE})),
        job(3, provider="djinn", kind=JobKind.CRON, id="2", account="ci", url=None,
            manifest="\n".join(f"step: {'s' * 300} {i}" for i in range(HUGE)),
            schedule=Schedule.of_period("daily")),
        job(4, provider="miget", kind=JobKind.CRONJOB, id=f"{APP}/{UUID}", account="apps",
            url=None, command="c" * HUGE + " PGPASSWORD=hunter2"),
        job(5, id="9" * 3000),  # an id so long its button value cannot hold it
        job(6, schedule=None, last_run=None, last_result=RunResult.NONE, link=None, url=None),
    ]  # fmt: skip
    return jobs_


def executions(count: int = 50) -> list[Execution]:
    return [
        Execution(
            id=str(n),
            time=NOW - timedelta(minutes=n),
            result=list(RunResult)[n % len(RunResult)],
            status_text=TEXTS[n % len(TEXTS)],
            http_status=500,
            duration_ms=n * 1000,
            url=URLS[n % len(URLS)],
        )
        for n in range(count)
    ]


def incident(n: int = 0, **changes: Any) -> IncidentView:
    view = IncidentView(
        id=n + 1,
        ref=f"hub:monitor/{UUID}" if n % 2 else f"prod:{4242 + n}",
        account="prod",
        provider_label="cron-job.org",
        job_name=NAMES[n % len(NAMES)],
        opened_at=NOW - timedelta(hours=2),
        last_seen_at=NOW,
        failures=n + 1,
        http_status=500,
        status_text=TEXTS[n % len(TEXTS)],
        duration_ms=1234,
        url=URLS[n % len(URLS)],
    )
    return replace(view, **changes)


def every_incident() -> list[IncidentView]:
    views = [incident(n) for n in range(len(NAMES))]
    return [
        *views,
        incident(1, acked_by="U1", acked_at=NOW, muted=True, can_pause=False),
        incident(2, resolved_at=NOW, acked_by="U1"),
        incident(3, url=None, status_text=None, http_status=None, duration_ms=None),
        incident(4, flapping=True, failures=10**6, opened_at=NOW - timedelta(days=4000)),
    ]


MANY_JOBS = [job(n, id=str(n)) for n in range(3000)]
APPS = [f"{n:08d}-0b1e-4c2d-9e8f-7a6b5c4d3e2f" for n in range(500)]
ODD_APPS = ["a" * 300, "b" * 149, "<!channel>", *APPS[:3]]


# -- every renderer -------------------------------------------------------------------------


def message(blocks: list[Block], text: str = "fallback") -> Rendered:
    return ("message", {"text": text, "blocks": [block.to_dict() for block in blocks]})


def sentence(text: str) -> Rendered:
    """A sentence posted as it is (announcements), or as text and notice blocks (replies)."""
    return ("message", {"text": text, "blocks": [b.to_dict() for b in messages.notice(text)]})


def alert(built: AlertMessage) -> Rendered:
    return ("message", built.payload())


def view(built: View) -> Rendered:
    return ("view", built.to_dict())


def _jobs_module() -> Iterator[Rendered]:
    for j in every_job():
        yield message(jobs.job_card(j, now=NOW), jobs.card_text(j))
        yield message(jobs.job_card(j, now=NOW, note="⏸️ " + "n" * HUGE), jobs.card_text(j))
        yield message(jobs.history_blocks(j, executions(), now=NOW), jobs.history_text(j))
        yield message(jobs.history_blocks(j, [], now=NOW), jobs.history_text(j))
        yield message(jobs.delete_confirm(j), jobs.delete_text(j))
        yield message([messages.section("buttons"), _actions(jobs.card_buttons(j))])


def _actions(buttons: list[Any]) -> Block:
    return ActionsBlock(elements=buttons) if buttons else messages.section("no buttons")


def _lists_module() -> Iterator[Rendered]:
    failures = [(f"acct-{n}", "x" * HUGE) for n in range(100)]
    pages = [
        PageValue(),
        PageValue(offset=2980),
        PageValue(account="prod", status="failing", text="t" * 4000),
        PageValue(text="<!channel>\n" * 300),
    ]
    for page in pages:
        shown = lists.job_list(MANY_JOBS + every_job(), now=NOW, page=page, page_size=100,
                               failures=failures, as_of=NOW - timedelta(days=3))  # fmt: skip
        yield message(shown)
        yield message(lists.job_list([], now=NOW, page=page))
        yield sentence(lists.filter_words(page) or "none")


def _messages_module() -> Iterator[Rendered]:
    yield message(messages.help_blocks(HELP_TEXT.splitlines()), "How to use /cron")
    for topic, usage in USAGE.items():
        yield message(messages.help_blocks([usage], title=f"/cron {topic}"))
    yield message(messages.help_blocks(["h" * HUGE] * 200, title="t" * 500))
    yield message(messages.notice("n" * HUGE))
    yield message(messages.error("e" * HUGE))
    yield message(messages.packed_sections(["l" * HUGE] * 100, messages.MESSAGE_BLOCKS))
    yield message([messages.section("s" * HUGE)])
    yield message([messages.section(c) for c in messages.chunk_lines(["&lt;" * 2000])])
    yield message([messages.section(messages.mrkdwn("m").text)])


def _alerts_module() -> Iterator[Rendered]:
    views = every_incident()
    for v in views:
        yield message([messages.section("buttons"), _actions(alerts.alert_buttons(v))])
        yield alert(alerts.alert_open(v, now=NOW))
        yield alert(alerts.alert_update(v, now=NOW))
        yield alert(alerts.alert_resolved(v, now=NOW))
        yield alert(alerts.resolved_reply(v, now=NOW))
        yield alert(alerts.still_failing_reply(v, now=NOW))
    many = [incident(n) for n in range(3000)]
    failing = [(v.ref, v.job_name, v.status_text) for v in many]
    for account, label in (("prod", "cron-job.org"), ("a" * 500, "<!channel>" * 100)):
        yield alert(alerts.rollup(account, label, many, now=NOW))
        yield alert(alerts.first_start_summary(account, label, failing, now=NOW))
        yield alert(alerts.account_down(account, label, "x" * HUGE, now=NOW))
        yield alert(alerts.account_back(account, label, NOW - timedelta(days=400), now=NOW))
        yield alert(alerts.account_back(account, label, None, now=NOW))
    targets = ["t" * 4000, "<!channel>", f"hub:monitor/{UUID}", "*"]
    targets += [f"s{n}" for n in range(3000)]
    routes = [
        alerts.Route(target, kind, leave_out, "U1" * 40, NOW)
        for target in targets
        for kind in ("all", "account", "job", "text")
        for leave_out in ("", "e" * 4000, "<!here>\n" * 500)
    ]
    yield message(alerts.subscriptions_list(CHANNEL, routes))
    yield message(alerts.subscriptions_list(CHANNEL, []))
    for route in routes[: 4 * 4 * 3]:
        yield sentence(alerts.subscribed_text("U1", CHANNEL, route))
        yield sentence(alerts.already_subscribed_text(CHANNEL, route))
        yield sentence(alerts.unsubscribed_text("U1", CHANNEL, route))
        yield sentence(alerts.not_subscribed_text(CHANNEL, route, routes[:500]))
    for target in targets[:4]:
        yield sentence(alerts.muted_text("U1", target, NOW))
        yield sentence(alerts.muted_text("U1", target, None))
        yield sentence(alerts.unmuted_text("U1", target))
        yield sentence(alerts.not_muted_text(target))
    for slack_error in ("not_in_channel", "channel_not_found", "<!channel>" * 100, "x" * HUGE):
        yield sentence(alerts.cannot_post_text(CHANNEL, slack_error))


def _digest_module() -> Iterator[Rendered]:
    refs = [f"prod:{4242 + n}" if n % 2 else f"hub:monitor/{UUID}" for n in range(3000)]
    incidents = [
        digest.DigestIncident(
            ref, NAMES[n % len(NAMES)], NOW - timedelta(days=n % 400, hours=3),
            resolved_at=NOW - timedelta(minutes=n) if n % 3 else None,
            acked_by="<!channel>" if n % 5 else None, flapping=n % 2 == 0,
        )
        for n, ref in enumerate(refs)
    ]  # fmt: skip
    busy = [
        digest.DigestBudget("a" * 500, "<!channel>" * 50, 100, 10**9, 10**9),
        *(
            digest.DigestBudget(f"acct-{n}", "cron-job.org", 100, n % 80, n % 80)
            for n in range(300)
        ),
    ]
    full = digest.DigestView(
        since=NOW - timedelta(days=1), until=NOW,
        opened=incidents, resolved=[i for i in incidents if i.resolved_at], failing=incidents,
        paused=[digest.DigestJob(ref, NAMES[n % len(NAMES)]) for n, ref in enumerate(refs)],
        muted=[
            digest.DigestMute(ref, NAMES[n % len(NAMES)] if n % 4 else None,
                              NOW if n % 2 else None, "<!here>")
            for n, ref in enumerate(refs)
        ],
        budgets=busy,
        unknown=[(f"<!here>{n}" * 50, "x" * HUGE) for n in range(100)],
        paused_as_of=NOW - timedelta(minutes=40),
    )  # fmt: skip
    yield alert(digest.digest(full, now=NOW))
    quiet = digest.DigestView(NOW - timedelta(days=1), NOW, [], [], [], [], [], busy[2:])
    assert quiet.quiet
    yield alert(digest.digest(quiet, now=NOW))
    for n in range(len(NAMES)):  # one of each, alone
        yield alert(digest.digest(replace(quiet, opened=incidents[n : n + 1]), now=NOW))
        yield alert(digest.digest(replace(quiet, muted=full.muted[n : n + 1]), now=NOW))


def _notifier_payloads() -> Iterator[Rendered]:
    for v in every_incident():
        yield ("message", notifier._payload(alerts.alert_open(v, now=NOW)))


def _changes_module() -> Iterator[Rendered]:
    for j in every_job():
        yield sentence(changes.change_text("U1", "paused", j))
        yield sentence(changes.audit_text("U1", "paused", j))
        yield sentence(changes.delayed_text(changes.change_text("U1", "paused", j)))
        yield sentence(changes.audit_text("U1", "created add-on", j.ref))
        yield sentence(changes.flipped_text("Paused", j))
        yield sentence(changes.deleted_text(j, "U1", NOW))
        yield sentence(changes.kept_text(j.ref))
        yield sentence(changes.saved_text("created", j))
        yield sentence(changes.paused_text(j, "cron-job.org"))
        yield sentence(changes.timed_resume_text(j, timedelta(days=40), "U1"))
        yield sentence(changes.timed_resume_failed_text(j.ref, problems.plain_problem("x" * HUGE)))
        yield message(jobs.job_card(j, now=NOW, note=changes.by_line("Paused", "U1", NOW)))
    for name in NAMES:
        yield sentence(changes.addon_created_text("U1", "postgres", name, "apps"))


def _problems_module() -> Iterator[Rendered]:
    yield sentence(problems.refusal("pause", {f"U{n:08d}" for n in range(500)}, ["S1"] * 50))
    yield sentence(problems.refusal("pause", set(), []))
    yield sentence(problems.membership_unknown("S1"))
    for typed in NAMES:
        yield sentence(problems.ref_problem(Ambiguous(typed, MANY_JOBS)))
        yield sentence(problems.ref_problem(NoMatch(typed, [j.name for j in every_job()])))
        yield sentence(problems.ref_problem(NoMatch(typed, account="prod")))
        yield sentence(problems.ref_problem(RefError(typed)))
        yield sentence(problems.parse_problem(typed, typed))
        yield sentence(problems.plain_problem(typed))
        yield sentence(problems.provider_problem(InvalidInput(typed, provider="Miget")))
        yield sentence(problems.form_problem([typed] * 30))
    yield sentence(problems.internal_problem("deadbeef"))


def _status_module() -> Iterator[Rendered]:
    rows = [
        AccountStatus(f"acct-{n}", "<!here>", "x" * HUGE if n % 2 else None, n, 100, NOW,
                      timedelta(minutes=n))
        for n in range(300)
    ]  # fmt: skip
    yield message(status.status_blocks(rows), status.TEXT)


def _metas() -> list[ModalMeta]:
    return [
        ModalMeta(account="prod", provider="cronjob-org", kind="job", channel=CHANNEL),
        ModalMeta(account="hub", provider="cronhub", kind="scheduler", ref="hub:scheduler/1"),
        ModalMeta(account="hub", provider="cronhub", kind="monitor", ref=f"hub:monitor/{UUID}"),
        ModalMeta(account="ci", provider="djinn", kind="cron"),
        ModalMeta(account="apps", provider="miget", kind="cronjob", apps=APPS),
        ModalMeta(account="apps", provider="miget", kind="cronjob", apps=ODD_APPS),
        ModalMeta(account="apps", provider="miget", kind="cronjob", apps=APPS[:1]),
        ModalMeta(account="apps", provider="miget", kind="cronjob", apps=["a" * 300]),
        ModalMeta(account="apps", provider="miget", kind="cronjob"),
    ]


def _modals_module() -> Iterator[Rendered]:
    for meta in _metas():
        yield view(modals.kind_picker(meta))
        yield view(modals.addon_modal(meta))
        if (meta.provider, JobKind(meta.kind)) not in FIELDS:
            continue
        for j in every_job():
            spec = j.model_copy(update={"kind": JobKind(meta.kind)}).to_spec()
            spec = spec.model_copy(update={"grace_period": 500, "http_body": "b" * HUGE})
            for stype in ("cron", "interval"):
                yield view(modals.job_modal(meta, current=spec, schedule_type=stype))
                yield view(modals.job_modal(meta, schedule_type=stype, error="e" * HUGE))
    for j in every_job()[:3]:
        yield view(modals.answer_modal("History of " + "h" * 100, jobs.history_blocks(
            j, executions(), now=NOW)))  # fmt: skip
    yield view(modals.answer_modal("", messages.notice("n" * HUGE)))
    for text in TEXTS:
        yield view(modals.progress_modal("p" * 100, text))
        yield view(modals.result_modal("r" * 100, problems.plain_problem(text)))


def _home_content(n: int) -> home.HomeContent:
    """A Home at its worst: thousands of everything, every name and text hostile."""
    hostile = [*NAMES, *TEXTS, f"hub:monitor/{UUID}", "9" * 3000]

    def some(i: int) -> str:
        return hostile[i % len(hostile)]

    paused = [
        home.PausedJob(j.model_copy(update={"paused": True}), NOW, "<!here>")
        for j in every_job() + MANY_JOBS[:n]
    ]
    muted = [
        home.MutedJob(some(i), some(i + 1), NOW if i % 2 else None, "<!here>") for i in range(n)
    ]
    subscriptions = [
        home.ChannelSubscription(f"C{i % 300}<!here>", some(i), "e" * 300 if i % 3 else "", "U1")
        for i in range(n)
    ]
    accounts = [_account_health(i) for i in range(300)]
    return home.HomeContent(
        user="<!channel>",
        failing=[*(incident(i) for i in range(n)), *every_incident()],
        paused=[*paused, home.PausedJob(job(5, paused=True))],
        resumes=[home.TimedResume(some(i), NOW, "<@U1>") for i in range(n)],
        muted=muted,
        subscriptions=subscriptions,
        every_channel=bool(n % 2),
        membership_problem="<!channel>" * 100,
        alerts_channel="<!channel>",
        accounts=accounts,
        notice="n" * HUGE + " <@U1>",
        notice_at=NOW,
    )


def _account_health(i: int) -> home.AccountHealth:
    return home.AccountHealth(
        account=f"acct-{i}" + "a" * (i * 10), provider_label="<!here>" * 30,
        reachable=i % 3 == 0, outage_since=NOW if i % 2 else None,
        error="x" * HUGE if i % 2 else None, failed_polls=i % 4, used=i * 1000,
        limit=100 if i % 2 else None, last_poll=NOW if i % 5 else None,
        every=timedelta(minutes=i), listed_at=NOW if i % 7 else None,
    )  # fmt: skip


def _home_module() -> Iterator[Rendered]:
    for n in (0, 1, 3000):
        yield view(home.home_view(_home_content(n), now=NOW))
    yield view(home.home_view(home.HomeContent(user="U1"), now=NOW))
    failures = [(f"<!here>{n}" * 50, "x" * HUGE) for n in range(100)]
    for shown in (failures, failures[:1]):
        yield sentence(home.not_listed_text(shown))


RENDERERS: dict[str, Callable[[], Iterator[Rendered]]] = {
    "jobs": _jobs_module,
    "lists": _lists_module,
    "messages": _messages_module,
    "alerts": _alerts_module,
    "digest": _digest_module,
    "notifier": _notifier_payloads,
    "changes": _changes_module,
    "problems": _problems_module,
    "status": _status_module,
    "modals": _modals_module,
    "home": _home_module,
}


@pytest.mark.parametrize("module", list(RENDERERS))
def test_every_message_and_view_stays_inside_slacks_limits(module: str) -> None:
    rendered = list(RENDERERS[module]())
    assert rendered
    for kind, body in rendered:
        if kind == "view":
            assert_valid_view(body)
            assert_pings_nobody([{"view": body}])
        else:
            assert_valid_message(body)
            assert_pings_nobody([body])


# -- the list of renderers is complete ------------------------------------------------------

#: Builders of pieces, not of messages: exercised through the messages above.
PIECES = {"mrkdwn", "section", "chunk_lines", "packed_sections", "card_buttons", "by_line"}
MODULES: tuple[ModuleType, ...] = (
    digest,
    home,
)  # fmt: skip


def test_every_renderer_is_exercised() -> None:
    source = Path(__file__).read_text()
    for module in MODULES:
        short = module.__name__.rsplit(".", 1)[-1]
        for name, obj in vars(module).items():
            own = inspect.isfunction(obj) and obj.__module__ == module.__name__
            if own and not name.startswith("_") and name not in PIECES:
                assert f"{short}.{name}(" in source, f"nothing here renders {short}.{name}"


# -- through Slack's front door -------------------------------------------------------------


def _checked(calls: list[Any]) -> None:
    for call in calls:
        body = call.body
        if "view" in body:
            assert_valid_view(body["view"])
            assert_pings_nobody([{"view": body["view"]}])
        elif call.method in ("chat.postMessage", "chat.update", "response_url"):
            assert_valid_message({k: v for k, v in body.items() if k in ("text", "blocks")})
            assert_pings_nobody([body])


def _healthy(sim: Any) -> list[int]:
    return [
        i for i, j in sim.jobs.items()
        if j["enabled"] and j.get("type", 0) == 0 and j["lastStatus"] in (0, 1)
    ]  # fmt: skip


def _flipped(verb: str) -> Callable[[Call], bool]:
    """A card flipped in place by its Pause or Resume button."""
    return lambda call: str(call.body.get("text", "")).startswith(f"{verb} ")


def _buttons(body: dict[str, Any]) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]
    }  # fmt: skip


async def test_hostile_names_stay_valid_and_escaped_through_slack(workspace: Workspace) -> None:
    """A 10,000-character name and a `<!channel>` name: list, show, every card button, an
    edit saved unchanged, delete, and an alert — all valid Block Kit, all escaped."""
    sim: Any = workspace.suite["cronjob-org"]
    huge, hostile = _healthy(sim)[:2]
    sim.jobs[huge]["title"] = "n" * HUGE
    sim.jobs[huge]["url"] = "https://example.com/" + "a" * HUGE
    sim.jobs[hostile]["title"] = "<!channel>"
    for n, command in enumerate(["list", "list prod", f"show prod:{huge}", f"show prod:{hostile}"]):
        await workspace.command(command)
        answers = await workspace.fake.wait_for("response_url", n + 1)
    for n, card in enumerate(answers[2:], start=1):
        buttons = _buttons(card.body)
        assert set(buttons) >= {ActionId.JOB_PAUSE, ActionId.JOB_HISTORY, ActionId.JOB_EDIT}
        await workspace.click(ActionId.JOB_HISTORY, buttons[ActionId.JOB_HISTORY])
        await workspace.click(ActionId.JOB_PAUSE, buttons[ActionId.JOB_PAUSE])
        await workspace.fake.wait_for("response_url", n, where=_flipped("Paused"))  # then:
        await workspace.click(ActionId.JOB_RESUME, buttons[ActionId.JOB_PAUSE])
        await workspace.fake.wait_for("response_url", n, where=_flipped("Resumed"))
        await workspace.click(ActionId.JOB_EDIT, buttons[ActionId.JOB_EDIT])
    edits = await workspace.fake.wait_for(
        "views.update", 2, where=lambda c: bool(c.body["view"].get("submit"))
    )
    for edit in edits:
        form = {**edit.body["view"], "id": edit.body["view_id"]}
        await workspace.submit(form, _fill(form, {}))  # saved without a change
    await workspace.fake.wait_for("views.update", 2, where=lambda c: "Edited" in json.dumps(c.body))
    await workspace.click(ActionId.JOB_DELETE_CONFIRM, JobValue(ref=f"prod:{hostile}").dump())
    client = AsyncWebClient(token="xoxb-test", base_url=f"{workspace.fake.base_url}/api/")
    monitor = workspace.built.monitor(client)
    monitor.notifier.default_channel = CHANNEL
    await monitor.poll("prod")  # first start
    sim.run(str(huge), ok=False)
    await monitor.poll("prod")
    (alert,) = await workspace.fake.wait_for(
        "chat.postMessage", where=lambda c: "is failing" in c.body.get("text", "")
    )
    _checked(workspace.fake.calls)
    assert "n" * 100 in alert.body["text"]
    assert sim.jobs[huge]["title"] == "n" * HUGE  # the edit kept what it could not show
    assert sim.jobs[huge]["url"] == "https://example.com/" + "a" * HUGE
    assert sim.jobs[huge]["enabled"] is True
    assert hostile not in sim.jobs
    shown = json.dumps([c.body for c in workspace.fake.calls])
    assert "&lt;!channel&gt;" in shown


def test_the_validator_catches_what_slack_refuses() -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}
    cut = {"type": "section", "text": {"type": "mrkdwn", "text": "a <https://x.example|b"}}
    entity = {"type": "section", "text": {"type": "mrkdwn", "text": "R&D &am"}}
    empty = {"type": "header", "text": {"type": "plain_text", "text": " "}}
    assert len(message_problems({"text": "t", "blocks": [section, cut, entity, empty]})) == 4
    assert message_problems({"text": "t" * 4001})
    assert message_problems({"text": "t", "blocks": [empty] * 51})
    select = {
        "type": "input", "block_id": "b", "label": {"type": "plain_text", "text": "l"},
        "element": {"type": "static_select", "action_id": "a", "options": [
            {"text": {"type": "plain_text", "text": "o" * 76}, "value": "v" * 151}
        ]},
    }  # fmt: skip
    text = {
        "type": "input", "block_id": "c", "label": {"type": "plain_text", "text": "l"},
        "element": {"type": "plain_text_input", "action_id": "a", "max_length": 200,
                    "initial_value": "n" * 201},
    }  # fmt: skip
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25},
             "private_metadata": "m" * 3001, "blocks": [select, text]}  # fmt: skip
    assert len(view_problems(modal)) == 5
