"""Block Kit builders: every block goes through slack_sdk's ``to_dict()`` (Slack's limits)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.slack.render.conceal import short_ref
from bot.slack.render.ids import ActionId, IncidentValue, JobValue, ModalMeta, PageValue
from bot.slack.render.jobs import (
    change_text,
    delete_confirm,
    error,
    help_blocks,
    history_blocks,
    job_card,
    job_list,
    notice,
)
from bot.slack.render.messages import chunk_lines
from bot.slack.render.text import (
    ago,
    duration,
    escape,
    fit,
    header_text,
    job_name,
    job_status,
    link,
    result_icon,
    schedule_line,
    slack_date,
)
from providers.base import Capability, Execution, Job, JobKind, RunResult
from providers.schedule import Schedule

NOW = datetime(2026, 11, 23, 14, 5, tzinfo=UTC)
C = Capability
ALL_CAPS = frozenset(C)
MONITOR_ID = "monitor/b5e5e820-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
APP = "3f2a9c1d-0b1e-4c2d-9e8f-7a6b5c4d3e2f"
CRONJOB = "9b8e7f6a-5d4c-4b3a-8f1e-0d9c8b7a6f5e"
MANIFEST = "\n".join(
    ["namespace: ops", "image: alpine/edge", "stages:", "- backup", "jobs:", "- stage: backup"]
    + [f"  - step {n}" for n in range(8)]
)


def cronjob_org(**changes: Any) -> Job:
    job = Job(
        account="prod",
        provider="cronjob-org",
        kind=JobKind.JOB,
        id="4242",
        name="nightly-backup",
        schedule=Schedule.from_cron("0 3 * * *", "Europe/Berlin"),
        next_runs=(NOW + timedelta(hours=12), NOW + timedelta(hours=36)),
        last_run=NOW - timedelta(hours=2, minutes=14),
        last_result=RunResult.FAILED,
        last_status="Failed (HTTP error)",
        last_duration_ms=1234,
        url="https://example.com/backup?a=1&b=<2>",
        http_method="get",
        link="https://console.cron-job.org/jobs/4242",
        capabilities=ALL_CAPS,
    )
    return job.model_copy(update=changes)


def cronhub_scheduler() -> Job:
    caps = ALL_CAPS - {C.HISTORY}
    return Job(
        account="hub",
        provider="cronhub",
        kind=JobKind.SCHEDULER,
        id="scheduler/17",
        name="warm cache",
        schedule=Schedule.interval(15, "minutes"),
        last_run=NOW - timedelta(minutes=3),
        last_result=RunResult.UNKNOWN,
        url="https://example.com/warm",
        http_method="post",
        capabilities=caps,
    )


def cronhub_monitor(**changes: Any) -> Job:
    caps = frozenset({C.LIST, C.GET, C.CREATE, C.UPDATE, C.RESCHEDULE, C.DELETE, C.PAUSE})
    job = Job(
        account="hub",
        provider="cronhub",
        kind=JobKind.MONITOR,
        id=MONITOR_ID,
        name="invoice run",
        schedule=Schedule.from_cron("*/5 * * * *", "Europe/Berlin"),
        grace_period=5,
        last_result=RunResult.OK,
        last_run=NOW - timedelta(minutes=4),
        capabilities=caps,
    )
    return job.model_copy(update=changes)


def djinn_cron() -> Job:
    caps = frozenset({C.LIST, C.GET, C.HISTORY, C.CREATE, C.UPDATE, C.RESCHEDULE, C.DELETE})
    return Job(
        account="ci",
        provider="djinn",
        kind=JobKind.CRON,
        id="2",
        name="nightly build",
        schedule=Schedule.of_period("daily"),
        next_runs=(datetime(2026, 11, 24, tzinfo=UTC),),
        last_run=NOW - timedelta(hours=14),
        last_result=RunResult.WARNING,
        last_status="passed_with_failures",
        manifest=MANIFEST,
        link="https://djinn-ci.com/cron/2",
        capabilities=caps,
    )


def miget_cronjob() -> Job:
    return Job(
        account="apps",
        provider="miget",
        kind=JobKind.CRONJOB,
        id=f"{APP}/{CRONJOB}",
        name="db cleanup",
        schedule=Schedule.from_cron("0 * * * *"),
        last_result=RunResult.NONE,
        command="rake db:cleanup && echo `date`",
        capabilities=frozenset({C.LIST, C.GET, C.CREATE, C.UPDATE, C.DELETE}),
    )


def dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Slack's JSON for a message; to_dict() raises on any Block Kit limit."""
    assert 0 < len(blocks) <= 50
    return [block.to_dict() for block in blocks]


def text(blocks: Sequence[Block]) -> str:
    return json.dumps(dicts(blocks), ensure_ascii=False)


def buttons(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    found = []
    for block in dicts(blocks):
        found += [e for e in block.get("elements", []) if e.get("type") == "button"]
        if block.get("accessory", {}).get("type") == "button":
            found.append(block["accessory"])
    return found


def labels(blocks: Sequence[Block]) -> list[str]:
    return [button["text"]["text"] for button in buttons(blocks)]


# -- text ------------------------------------------------------------------------------------


def test_slack_date_has_unix_time_format_and_utc_fallback() -> None:
    assert slack_date(NOW) == (
        f"<!date^{int(NOW.timestamp())}^{{date_short_pretty}} {{time}}|2026-11-23 14:05 UTC>"
    )


def test_slack_date_reads_naive_times_as_utc_and_converts_others() -> None:
    berlin = NOW.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert slack_date(NOW.replace(tzinfo=None)) == slack_date(NOW) == slack_date(berlin)
    assert slack_date(NOW, "{date}").startswith(f"<!date^{int(NOW.timestamp())}^{{date}}|")


def test_escape_only_touches_slack_control_characters() -> None:
    assert escape("a & <@U1> *b*") == "a &amp; &lt;@U1&gt; *b*"


def test_every_result_has_an_icon() -> None:
    icons = {result: result_icon(result) for result in RunResult}
    assert icons[RunResult.OK] == "✅"
    assert icons[RunResult.FAILED] == "❌"
    assert icons[RunResult.WARNING] == "⚠️"
    assert len(set(icons.values())) == len(RunResult)


def test_job_status_names_paused_failing_and_active() -> None:
    assert job_status(cronjob_org()) == "🔴 failing"
    assert job_status(cronjob_org(paused=True)) == "⏸️ paused"
    assert job_status(cronhub_monitor()) == "🟢 active"


def test_schedule_line_puts_the_timezone_beside_the_words() -> None:
    assert schedule_line(cronjob_org()) == "At 03:00 (Europe/Berlin)"
    assert schedule_line(cronhub_scheduler()) == "Every 15 minutes"
    assert schedule_line(djinn_cron()) == "Daily, at the start of each UTC day"
    daily = cronjob_org(schedule=Schedule.interval(1, "days", at="03:00"))
    assert schedule_line(daily) == "Every day at 03:00 (UTC)"
    assert schedule_line(cronjob_org(schedule=None)) == "no schedule"


def test_durations_read_like_people_write_them() -> None:
    assert duration(850) == "850 ms"
    assert duration(1234) == "1.2 s"
    assert duration(8_040_000) == "2 h 14 min"
    assert ago(NOW - timedelta(hours=2, minutes=14), NOW) == "2 h 14 min ago"
    assert ago(NOW + timedelta(minutes=5), NOW) == "in 5 min"


def test_lists_shorten_a_trailing_uuid_to_a_typeable_prefix() -> None:
    assert short_ref(cronhub_monitor()) == "hub:monitor/b5e5e820…"
    assert "hub:monitor/b5e5e820-1c2d".startswith(short_ref(cronhub_monitor())[:-1])
    assert short_ref(miget_cronjob()) == f"apps:{APP}/9b8e7f6a…"
    assert short_ref(cronjob_org()) == "prod:4242"


# -- list ------------------------------------------------------------------------------------


def every_kind() -> list[Job]:
    return [cronjob_org(), cronhub_scheduler(), cronhub_monitor(), djinn_cron(), miget_cronjob()]


def test_list_row_shows_status_name_ref_schedule_last_and_next_run() -> None:
    blocks = job_list(every_kind(), now=NOW, page=PageValue())
    body = text(blocks)
    assert "*5 jobs* · 1 failing · 0 paused" in body
    assert "🔴 *nightly-backup* `prod:4242`" in body
    assert "At 03:00 (Europe/Berlin)" in body
    assert "❌ Failed (HTTP error)" in body
    assert f"next {slack_date(NOW + timedelta(hours=12))}" in body
    assert "`hub:monitor/b5e5e820…`" in body
    assert "never ran" in body
    shows = [b for b in buttons(blocks) if b["action_id"] == ActionId.JOB_SHOW]
    assert [JobValue.load(b["value"]).ref for b in shows] == [j.ref for j in every_kind()]


def test_fifteen_jobs_with_long_names_fit_one_message() -> None:
    jobs = [
        cronhub_monitor(id=f"monitor/{n:08d}-1c2d-4e5f-8a9b-0c1d2e3f4a5b", name="x" * 200)
        for n in range(40)
    ]
    failures = [(f"acct-{n}", "Djinn CI account: " + "boom " * 200) for n in range(12)]
    blocks = job_list(jobs, now=NOW, page=PageValue(), failures=failures, as_of=NOW)
    assert len(blocks) < 50
    assert sum(1 for b in dicts(blocks) if b.get("accessory")) == 15
    assert "⚠️ … and 3 more accounts" in text(blocks)


def test_more_button_carries_the_next_offset_and_the_filter() -> None:
    jobs = [cronjob_org(id=str(n), name=f"job {n}") for n in range(40)]
    page = PageValue(account="prod", status="failing", text="job", offset=15)
    blocks = job_list(jobs, now=NOW, page=page)
    more = [b for b in buttons(blocks) if b["action_id"] == ActionId.LIST_MORE]
    assert len(more) == 1
    assert more[0]["text"]["text"] == "More (10 left)"
    assert PageValue.load(more[0]["value"]) == page.model_copy(update={"offset": 30})
    assert "Showing 16–30" in text(blocks)
    assert "account `prod` · failing · matching “job”" in text(blocks)


def test_a_huge_page_size_still_fits_one_message() -> None:
    jobs = [cronjob_org(id=str(n)) for n in range(100)]
    blocks = job_list(
        jobs, now=NOW, page=PageValue(), page_size=100, as_of=NOW, failures=[("ci", "down")]
    )
    more = [b for b in buttons(blocks) if b["action_id"] == ActionId.LIST_MORE]
    assert PageValue.load(more[0]["value"]).offset == 45


def test_last_page_has_no_more_button() -> None:
    jobs = [cronjob_org(id=str(n)) for n in range(30)]
    for page in (PageValue(offset=15), PageValue(offset=0)):
        size = 15 if page.offset else 30
        blocks = job_list(jobs, now=NOW, page=page, page_size=size)
        assert ActionId.LIST_MORE not in [b["action_id"] for b in buttons(blocks)]


def test_an_empty_list_says_so_and_names_the_filter() -> None:
    page = PageValue(account="ci", status="paused", text="<nightly>")
    body = text(job_list([], now=NOW, page=page))
    assert "No jobs found — account `ci` · paused · matching “&lt;nightly&gt;”." in body
    assert "No jobs found in any account." in text(job_list([], now=NOW, page=PageValue()))


def test_accounts_that_could_not_be_listed_get_a_context_line() -> None:
    failures = [("ci", "Djinn CI account `ci`: the token was rejected")]
    blocks = job_list([cronjob_org()], now=NOW, page=PageValue(), failures=failures)
    context = [b for b in dicts(blocks) if b["type"] == "context"]
    assert context[0]["elements"][0]["text"] == (
        "⚠️ `ci` could not be listed: Djinn CI account `ci`: the token was rejected"
    )


def test_a_cached_list_says_how_old_it_is() -> None:
    blocks = job_list([cronjob_org()], now=NOW, page=PageValue(), as_of=NOW - timedelta(seconds=40))
    assert "as of 40 s ago" in text(blocks)
    assert "as of" not in text(job_list([cronjob_org()], now=NOW, page=PageValue()))


# -- card ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (cronjob_org(), ["Pause", "History", "Edit", "Delete"]),
        (cronjob_org(paused=True), ["Resume", "History", "Edit", "Delete"]),
        (cronhub_scheduler(), ["Pause", "Edit", "Delete"]),
        (cronhub_monitor(paused=True), ["Edit", "Delete"]),
        (djinn_cron(), ["History", "Edit", "Delete"]),
        (miget_cronjob(), ["Edit", "Delete"]),
        (cronjob_org(capabilities=frozenset({C.LIST, C.GET})), []),
    ],
    ids=["cronjob", "cronjob-paused", "scheduler", "monitor-paused", "djinn", "miget", "readonly"],
)
def test_card_buttons_are_exactly_the_jobs_capabilities(job: Job, expected: list[str]) -> None:
    blocks = job_card(job, now=NOW)
    assert labels(blocks) == expected
    assert all(JobValue.load(b["value"]).ref == job.ref for b in buttons(blocks))


def test_delete_on_the_card_is_red_and_asks_first() -> None:
    delete = buttons(job_card(cronjob_org(), now=NOW))[-1]
    assert delete["action_id"] == ActionId.JOB_DELETE
    assert delete["style"] == "danger"
    assert (
        "Delete `prod:4242` nightly-backup? This cannot be undone."
        in delete["confirm"]["text"]["text"]
    )
    assert delete["confirm"]["style"] == "danger"


def test_card_shows_ref_account_schedule_runs_and_what_it_calls() -> None:
    body = text(job_card(cronjob_org(), now=NOW))
    assert '"text": "nightly-backup"' in body  # header
    for part in (
        "`prod:4242`",
        "`prod` · cron-job.org job",
        "🔴 failing",
        "At 03:00 (Europe/Berlin)",
        "`0 3 * * *`",
        slack_date(NOW + timedelta(hours=36)),
        "(2 h 14 min ago)",
        "❌ Failed (HTTP error) · 1.2 s",
        "*Calls* `GET https://example.com/backup?a=1&amp;b=&lt;2&gt;`",
        "<https://console.cron-job.org/jobs/4242|Open in cron-job.org>",
    ):
        assert part in body


def test_paused_monitor_card_says_cronhub_cannot_resume_it() -> None:
    body = text(job_card(cronhub_monitor(paused=True), now=NOW))
    assert "Cronhub has no API to resume monitors." in body
    assert "none while paused" in body
    assert "*Grace period*\\n5 min" in body


def test_card_predicts_next_runs_from_the_schedule_when_the_provider_gives_none() -> None:
    body = text(job_card(cronhub_monitor(), now=NOW))
    assert slack_date(datetime(2026, 11, 23, 14, 10, tzinfo=UTC)) in body


def test_djinn_card_summarises_the_manifest() -> None:
    body = text(job_card(djinn_cron(), now=NOW))
    assert "*Manifest* (first 8 of 14 lines)" in body
    assert "namespace: ops" in body
    assert "step 1" in body
    assert "step 2" not in body
    assert "⚠️ passed_with_failures" in body


def test_miget_card_shows_the_command_escaped() -> None:
    body = text(job_card(miget_cronjob(), now=NOW))
    assert "```rake db:cleanup &amp;&amp; echo `date````" in body
    assert "Miget cron job" in body


def test_card_note_is_a_context_line() -> None:
    note = f"⏸️ Paused by <@U123> at {slack_date(NOW)}"
    blocks = dicts(job_card(cronjob_org(paused=True), now=NOW, note=note))
    context = next(b for b in blocks if b["type"] == "context")
    assert context["elements"][0]["text"] == note


def test_card_survives_extreme_values() -> None:
    job = cronjob_org(
        name="n" * 200,
        url="https://example.com/" + "a" * 5000,
        last_status="s" * 3000,
        details=tuple((f"label {n}", "v" * 3000) for n in range(12)),
    )
    dicts(job_card(job, now=NOW, note="x" * 5000))


# -- history, delete, changes, notices, help -------------------------------------------------


def executions() -> list[Execution]:
    return [
        Execution(
            id="3",
            time=NOW - timedelta(hours=1),
            result=RunResult.WARNING,
            status_text="passed_with_failures",
            duration_ms=61_000,
            url="https://djinn-ci.com/b/ana/3",
        ),
        Execution(
            id="2",
            time=NOW - timedelta(hours=2),
            result=RunResult.FAILED,
            status_text="Failed (HTTP error)",
            http_status=502,
            duration_ms=1234,
        ),
        Execution(id="1", time=NOW - timedelta(hours=3), result=RunResult.OK, http_status=200),
    ]


def test_history_lines_show_time_result_http_status_duration_and_build() -> None:
    body = text(history_blocks(djinn_cron(), executions(), now=NOW))
    assert "last 3 executions, latest 1 h ago" in body
    assert f"{slack_date(NOW - timedelta(hours=1))} · ⚠️ *warning* — passed_with_failures" in body
    assert "<https://djinn-ci.com/b/ana/3|build>" in body
    assert "❌ *failed* — Failed (HTTP error) · HTTP 502 · 1.2 s" in body
    assert "✅ *ok* · HTTP 200" in body


def test_long_history_is_split_into_sections_that_fit() -> None:
    many = [e.model_copy(update={"status_text": "x" * 100}) for e in executions() * 40]
    blocks = history_blocks(cronjob_org(), many, now=NOW)
    assert len(blocks) > 2
    dicts(blocks)


def test_history_without_executions_says_so() -> None:
    assert "No executions recorded yet." in text(history_blocks(miget_cronjob(), [], now=NOW))


def test_delete_confirmation_has_delete_and_cancel() -> None:
    blocks = delete_confirm(cronjob_org())
    assert "Delete `prod:4242` nightly-backup? This cannot be undone." in text(blocks)
    found = buttons(blocks)
    assert [(b["text"]["text"], b["action_id"]) for b in found] == [
        ("Delete", ActionId.JOB_DELETE_CONFIRM),
        ("Cancel", ActionId.JOB_DELETE_CANCEL),
    ]
    assert found[0]["style"] == "danger"
    assert JobValue.load(found[1]["value"]) == JobValue(ref="prod:4242")


def test_change_text_names_who_what_and_which_job() -> None:
    assert change_text("U1", "paused", cronjob_org()) == "<@U1> paused `prod:4242` nightly-backup"
    assert "a &lt;b&gt;" in change_text("U1", "deleted", cronjob_org(name="a <b>"))


def test_notice_and_error_are_single_sections() -> None:
    assert dicts(notice("Resumed."))[0]["text"]["text"] == "Resumed."
    assert dicts(error("Miget has no pause."))[0]["text"]["text"] == ":warning: Miget has no pause."
    assert len(dicts(error("y" * 5000))[0]["text"]["text"]) == 3000


def test_help_is_a_header_and_sections_of_at_most_3000_characters() -> None:
    lines = [f"`/cron list` example line {n} " + "." * 80 for n in range(100)] + ["z" * 7000]
    blocks = dicts(help_blocks(lines))
    assert blocks[0]["type"] == "header"
    sections = [b["text"]["text"] for b in blocks[1:]]
    assert len(sections) > 3
    assert all(len(s) <= 3000 for s in sections)
    assert "example line 99" in "".join(sections)


# -- values ----------------------------------------------------------------------------------


def test_button_values_round_trip_as_small_json() -> None:
    for value in (
        JobValue(ref="hub:" + MONITOR_ID),
        PageValue(account="prod", status="failing", text="backup", offset=30),
        IncidentValue(incident_id=7, ref="prod:4242"),
    ):
        raw = value.dump()
        assert type(value).load(raw) == value
        assert len(raw) < 200
    assert PageValue().dump() == '{"offset":0}'


def test_modal_metadata_round_trips_within_slacks_limit() -> None:
    meta = ModalMeta(
        account="apps",
        provider="miget",
        kind="cronjob",
        ref="apps:" + MONITOR_ID,
        channel="C0123456789",
        apps=[APP] * 50,
    )
    raw = meta.dump()
    assert len(raw) <= 3000
    assert ModalMeta.load(raw) == meta


# -- long and odd text ---------------------------------------------------------------------


def test_fit_never_cuts_a_link_a_mention_a_date_or_an_entity() -> None:
    text = "a" * 95 + f"{slack_date(NOW)} &lt;&amp; <https://x.example|x> <@U1>"
    for limit in range(96, len(text)):
        fitted = fit(text, limit)
        assert len(fitted) <= limit
        rest = re.sub(r"<[^<>]*>", "", fitted)
        assert "<" not in rest
        assert ">" not in rest
        assert not re.search(r"&(?!amp;|lt;|gt;)", fitted)
    assert fit("short", 10) == "short"


def test_long_lines_are_split_between_tokens() -> None:
    line = "&lt;" * 2000
    chunks = chunk_lines([line], limit=3001)
    assert "".join(chunks) == line
    assert all(len(c) <= 3001 and c.endswith(";") for c in chunks)


def test_names_stay_on_one_line_and_are_never_empty() -> None:
    assert job_name("a\n\n b\r\nc", 50) == "a b c"
    assert job_name("  ", 50) == "(no name)"
    assert header_text("x" * 500) == "x" * 149 + "…"
    assert header_text("") == "(no name)"


def test_a_url_too_long_to_link_shows_its_label() -> None:
    assert link("https://x.example/" + "a" * 2000, "build") == "build"
    assert link("https://x.example/<a>", "build") == "<https://x.example/&lt;a&gt;|build>"
