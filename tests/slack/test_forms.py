"""Modals per provider and parsing their submissions from Slack's ``view.state.values``."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.slack.forms import edited, parse_addon_form, parse_job_form, parse_kind, selected_app
from bot.slack.render.ids import ActionId, BlockId, CallbackId, ModalMeta
from bot.slack.render.modals import (
    FormErrors,
    addon_modal,
    job_modal,
    kind_picker,
    progress_modal,
    result_modal,
)
from providers.base import JobKind, JobSpec
from providers.schedule import Schedule

APP_A = "3f2a9c1d-0b1e-4c2d-9e8f-7a6b5c4d3e2f"
APP_B = "9b8e7f6a-5d4c-4b3a-8f1e-0d9c8b7a6f5e"
B = BlockId


def meta(provider: str, kind: str, **changes: Any) -> ModalMeta:
    return ModalMeta(account="acct", provider=provider, kind=kind, channel="C1", **changes)


CRONJOB_ORG = meta("cronjob-org", "job")
SCHEDULER = meta("cronhub", "scheduler")
MONITOR = meta("cronhub", "monitor")
DJINN = meta("djinn", "cron")
MIGET = meta("miget", "cronjob", apps=[APP_A])
MIGET_TWO_APPS = meta("miget", "cronjob", apps=[APP_A, APP_B])


def as_dict(view: View) -> dict[str, Any]:
    return view.to_dict()


def meta_of(view: View) -> ModalMeta:
    """The metadata a modal carries back on submit."""
    return ModalMeta.load(as_dict(view)["private_metadata"])


def block_ids(view: View) -> list[str]:
    return [b["block_id"] for b in as_dict(view)["blocks"] if b["type"] == "input"]


def context_text(view: View) -> str:
    blocks = as_dict(view)["blocks"]
    return " ".join(e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])


def _option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def _state_of(element: dict[str, Any], answer: Any) -> dict[str, Any]:
    kind = element["type"]
    if kind in ("plain_text_input", "number_input"):
        value = element.get("initial_value") if answer is None else answer
        return {"type": kind, "value": None if value in (None, "") else str(value)}
    if kind in ("static_select", "radio_buttons"):
        initial = (element.get("initial_option") or {}).get("value")
        value = initial if answer is None else answer
        return {"type": kind, "selected_option": _option(value) if value else None}
    if kind == "checkboxes":
        initial = [o["value"] for o in element.get("initial_options", [])]
        chosen = initial if answer is None else answer
        return {"type": kind, "selected_options": [_option(v) for v in chosen]}
    assert kind == "timepicker"
    return {"type": kind, "selected_time": answer or element.get("initial_time")}


def submit(view: View, **answers: Any) -> dict[str, dict[str, Any]]:
    """``view.state.values`` as Slack sends it: every input of the view, initial values kept
    unless answered (an answer of ``""`` or ``[]`` clears the input)."""
    values: dict[str, dict[str, Any]] = {}
    for block in as_dict(view)["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        values[block["block_id"]] = {
            element["action_id"]: _state_of(element, answers.get(block["block_id"]))
        }
    unknown = set(answers) - set(values)
    assert not unknown, f"answers for blocks the view does not have: {unknown}"
    return values


# -- modals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("m", "stype", "expected"),
    [
        (CRONJOB_ORG, None, "name url http_method cron timezone enabled"),
        (SCHEDULER, None, "name url http_method http_body schedule_type cron"),
        (
            SCHEDULER,
            "interval",
            "name url http_method http_body schedule_type interval_every interval_unit",
        ),
        (MONITOR, None, "name cron timezone grace_period"),
        (DJINN, None, "name period manifest"),
        (MIGET, None, "name command schedule_type cron"),
        (MIGET, "interval", "name command schedule_type miget_interval daily_time"),
        (MIGET_TWO_APPS, None, "app name command schedule_type cron"),
    ],
)
def test_create_modal_asks_for_what_the_provider_takes(
    m: ModalMeta, stype: str | None, expected: str
) -> None:
    view = job_modal(m, schedule_type=stype)
    assert block_ids(view) == expected.split()
    data = as_dict(view)
    assert data["callback_id"] == CallbackId.CREATE
    assert data["submit"]["text"] == "Create"
    assert ModalMeta.load(data["private_metadata"]) == m


def test_create_titles_name_the_provider_and_kind() -> None:
    titles = [as_dict(job_modal(m))["title"]["text"] for m in (CRONJOB_ORG, SCHEDULER, DJINN)]
    assert titles == ["New cron-job.org job", "New Cronhub scheduler", "New Djinn CI cron"]


def test_schedule_type_radio_dispatches_so_the_listener_can_re_render() -> None:
    block = next(
        b for b in as_dict(job_modal(SCHEDULER))["blocks"] if b.get("block_id") == "schedule_type"
    )
    assert block["dispatch_action"] is True
    assert block["element"]["action_id"] == ActionId.FORM_SCHEDULE_TYPE
    assert block["element"]["initial_option"]["value"] == "cron"


def test_utc_only_providers_say_so_beside_the_cron_field() -> None:
    assert "Cronhub runs cron schedules in UTC." in context_text(job_modal(SCHEDULER))
    assert "Miget runs cron schedules in UTC." in context_text(job_modal(MIGET))


def test_cron_and_timezone_fields_carry_hints() -> None:
    blocks = {b.get("block_id"): b for b in as_dict(job_modal(CRONJOB_ORG))["blocks"]}
    assert "0 3 * * *" in blocks["cron"]["hint"]["text"]
    assert blocks["timezone"]["hint"]["text"] == "IANA name like Europe/Berlin"
    assert blocks["timezone"]["element"]["initial_value"] == "UTC"
    methods = [o["value"] for o in blocks["http_method"]["element"]["options"]]
    assert methods == ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


def test_edit_modal_is_filled_in_from_the_current_job() -> None:
    current = JobSpec(
        kind=JobKind.JOB,
        name="nightly-backup",
        schedule=Schedule.from_cron("0 3 * * *", "Europe/Berlin"),
        url="https://example.com/backup",
        http_method="post",
        enabled=False,
    )
    data = as_dict(job_modal(CRONJOB_ORG.model_copy(update={"ref": "acct:4242"}), current=current))
    assert (data["title"]["text"], data["submit"]["text"]) == ("Edit job", "Save")
    assert data["callback_id"] == CallbackId.EDIT
    blocks = {b.get("block_id"): b["element"] for b in data["blocks"] if b["type"] == "input"}
    assert blocks["name"]["initial_value"] == "nightly-backup"
    assert blocks["cron"]["initial_value"] == "0 3 * * *"
    assert blocks["timezone"]["initial_value"] == "Europe/Berlin"
    assert blocks["http_method"]["initial_option"]["value"] == "POST"
    assert "initial_options" not in blocks["enabled"]


def test_cronhub_interval_edit_opens_on_the_interval_fields() -> None:
    current = JobSpec(
        kind=JobKind.SCHEDULER,
        name="warm",
        url="https://example.com",
        http_method="get",
        schedule=Schedule.interval(2, "hours"),
    )
    data = as_dict(job_modal(SCHEDULER, current=current))
    blocks = {b.get("block_id"): b["element"] for b in data["blocks"] if b["type"] == "input"}
    assert blocks["interval_every"]["initial_value"] == "2"
    assert blocks["interval_unit"]["initial_option"]["value"] == "hours"


def test_miget_edit_shows_the_schedule_read_only() -> None:
    current = JobSpec(
        kind=JobKind.CRONJOB,
        name="cleanup",
        command="rake db:cleanup",
        schedule=Schedule.from_cron("0 * * * *"),
    )
    view = job_modal(MIGET_TWO_APPS.model_copy(update={"ref": "acct:A/B"}), current=current)
    assert block_ids(view) == ["name", "command"]
    assert "Every hour (UTC)" in context_text(view)
    assert "Miget cannot change a schedule in place; delete and recreate to reschedule" in (
        context_text(view)
    )


def test_provider_refusal_is_shown_at_the_top() -> None:
    view = job_modal(CRONJOB_ORG, error="cron-job.org refused the URL <deny-listed>")
    first = as_dict(view)["blocks"][0]
    assert first["type"] == "section"
    assert "refused the URL &lt;deny-listed&gt;" in first["text"]["text"]


def test_unknown_provider_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no job form"):
        job_modal(meta("djinn", "monitor"))


def test_cronhub_kind_picker_asks_scheduler_or_monitor() -> None:
    data = as_dict(kind_picker(meta("cronhub", "")))
    assert data["callback_id"] == CallbackId.CREATE_KIND
    element = data["blocks"][0]["element"]
    assert element["action_id"] == ActionId.CREATE_KIND
    assert [o["text"]["text"] for o in element["options"]] == [
        "Scheduler — calls a URL on a schedule",
        "Monitor — expects pings from your job",
    ]


def test_addon_modal_lists_types_and_allowed_versions() -> None:
    view = addon_modal(meta("miget", "addon", apps=[APP_A, APP_B]))
    data = as_dict(view)
    assert data["callback_id"] == CallbackId.ADDON_CREATE
    assert block_ids(view)[:2] == ["app", "addon_type"]
    hint = next(b for b in data["blocks"] if b.get("block_id") == "addon_version")["hint"]["text"]
    assert "postgres: 18, 17, 16, 15, 14, 13" in hint
    assert "mysql: 8.2, 8.0" in hint
    assert "app" not in block_ids(addon_modal(meta("miget", "addon", apps=[APP_A])))


def test_progress_and_result_modals_only_close() -> None:
    for view in (
        progress_modal("Creating job in cron-job.org", "Talking to cron-job.org…"),
        result_modal("Created", "Created `prod:4243`."),
    ):
        data = as_dict(view)
        assert "submit" not in data
        assert data["close"]["text"]
        assert len(data["title"]["text"]) <= 24


# -- parsing ---------------------------------------------------------------------------------


def test_cronjob_org_form_becomes_a_spec() -> None:
    values = submit(
        job_modal(CRONJOB_ORG),
        name=" nightly-backup ",
        url="https://example.com/backup",
        http_method="POST",
        cron="0  3 * * *",
        timezone="Europe/Berlin",
    )
    spec = parse_job_form(CRONJOB_ORG, values)
    assert spec == JobSpec(
        kind=JobKind.JOB,
        name="nightly-backup",
        url="https://example.com/backup",
        http_method="POST",
        schedule=Schedule.from_cron("0 3 * * *", "Europe/Berlin"),
        enabled=True,
    )
    unchecked = submit(
        job_modal(CRONJOB_ORG), name="n", url="http://x.io", cron="* * * * *", enabled=[]
    )
    assert parse_job_form(CRONJOB_ORG, unchecked).enabled is False


def test_cronhub_scheduler_cron_and_interval() -> None:
    cron = submit(
        job_modal(SCHEDULER),
        name="warm",
        url="https://e.io",
        cron="*/5 * * * *",
        http_body='{"a": 1}',
    )
    spec = parse_job_form(SCHEDULER, cron)
    assert spec.schedule == Schedule.from_cron("*/5 * * * *", "UTC")
    assert (spec.http_method, spec.http_body) == ("GET", '{"a": 1}')
    interval = submit(
        job_modal(SCHEDULER, schedule_type="interval"),
        name="warm",
        url="https://e.io",
        schedule_type="interval",
        interval_every=3,
        interval_unit="hours",
    )
    assert parse_job_form(SCHEDULER, interval).schedule == Schedule.interval(3, "hours")


def test_cronhub_monitor() -> None:
    values = submit(
        job_modal(MONITOR),
        name="invoices",
        cron="0 6 * * 1",
        timezone="Asia/Tokyo",
        grace_period=15,
    )
    spec = parse_job_form(MONITOR, values)
    assert spec.grace_period == 15
    assert spec.schedule == Schedule.from_cron("0 6 * * 1", "Asia/Tokyo")


def test_djinn_cron() -> None:
    manifest = "namespace: ops\nimage: alpine/edge\n"
    values = submit(job_modal(DJINN), name="nightly", period="weekly", manifest=manifest)
    spec = parse_job_form(DJINN, values)
    assert spec.schedule == Schedule.of_period("weekly")
    assert spec.manifest == manifest.strip()


def test_miget_create_cron_and_daily_interval_with_the_chosen_app() -> None:
    view = job_modal(MIGET_TWO_APPS)
    values = submit(view, app=APP_B, name="cleanup", command="rake db:cleanup", cron="0 * * * *")
    spec = parse_job_form(MIGET_TWO_APPS, values)
    assert spec.schedule == Schedule.from_cron("0 * * * *")
    assert spec.app == APP_B
    assert selected_app(MIGET_TWO_APPS, values) == APP_B
    daily = submit(
        job_modal(MIGET, schedule_type="interval"),
        name="c",
        command="x",
        schedule_type="interval",
        miget_interval="daily",
        daily_time="03:30",
    )
    assert parse_job_form(MIGET, daily).schedule == Schedule.interval(1, "days", at="03:30")
    assert parse_job_form(MIGET, daily).app == APP_A
    assert selected_app(MIGET, daily) == APP_A
    tenth = submit(
        job_modal(MIGET, schedule_type="interval"),
        name="c",
        command="x",
        schedule_type="interval",
        miget_interval="every_10_minutes",
        daily_time="03:30",
    )
    assert parse_job_form(MIGET, tenth).schedule == Schedule.interval(10, "minutes")


def test_miget_edit_keeps_the_current_schedule() -> None:
    current = JobSpec(
        kind=JobKind.CRONJOB, name="old", command="old", schedule=Schedule.interval(1, "hours")
    )
    editing = MIGET.model_copy(update={"ref": "apps:APP/CJ"})
    values = submit(job_modal(editing, current=current), name="new", command="rake new")
    spec = edited(parse_job_form(editing, values), current)
    assert (spec.name, spec.command, spec.schedule) == ("new", "rake new", current.schedule)


ERROR_CASES = [
    (CRONJOB_ORG, None, {"cron": "0 3 * *"}, "cron", "has 4 fields"),
    (CRONJOB_ORG, None, {"cron": "61 * * * *"}, "cron", "not a valid cron expression"),
    (CRONJOB_ORG, None, {"timezone": "Mars/Olympus"}, "timezone", "not a known timezone"),
    (CRONJOB_ORG, None, {"url": "ftp://example.com"}, "url", "http:// or https://"),
    (CRONJOB_ORG, None, {"url": "example.com"}, "url", "http:// or https://"),
    (CRONJOB_ORG, None, {"name": ""}, "name", "Give it a name"),
    (CRONJOB_ORG, None, {"name": "n" * 201}, "name", "at most 200"),
    (SCHEDULER, None, {"cron": ""}, "cron", "Enter a cron expression"),
    (SCHEDULER, "interval", {"interval_every": 0}, "interval_every", "whole number of at least 1"),
    (SCHEDULER, "interval", {"interval_every": 1.5}, "interval_every", "whole number"),
    (SCHEDULER, "interval", {"interval_unit": ""}, "interval_unit", "minutes, hours, days"),
    (MONITOR, None, {"grace_period": 61}, "grace_period", "from 1 to 60"),
    (MONITOR, None, {"grace_period": 0}, "grace_period", "from 1 to 60"),
    (DJINN, None, {"manifest": "- a\n- b"}, "manifest", "YAML mapping"),
    (DJINN, None, {"manifest": "image: [alpine"}, "manifest", "not valid YAML"),
    (DJINN, None, {"period": ""}, "period", "daily, weekly, monthly"),
    (MIGET, None, {"command": ""}, "command", "command to run"),
    (MIGET, None, {"cron": "* * *"}, "cron", "has 3 fields"),
    (MIGET, "interval", {"miget_interval": ""}, "miget_interval", "every_10_minutes"),
    (MIGET_TWO_APPS, None, {"app": ""}, "app", "applications listed"),
]
GOOD = {
    "name": "job",
    "url": "https://example.com",
    "cron": "0 3 * * *",
    "grace_period": 5,
    "manifest": "image: alpine",
    "command": "true",
    "interval_every": 5,
    "interval_unit": "minutes",
    "miget_interval": "hourly",
    "app": APP_A,
}


@pytest.mark.parametrize(("m", "stype", "bad", "block", "message"), ERROR_CASES)
def test_bad_input_is_reported_on_its_own_field(
    m: ModalMeta, stype: str | None, bad: dict[str, Any], block: str, message: str
) -> None:
    view = job_modal(m, schedule_type=stype)
    present = set(block_ids(view))
    answers = {k: v for k, v in {**GOOD, **bad}.items() if k in present}
    if stype:
        answers["schedule_type"] = stype
    with pytest.raises(FormErrors) as caught:
        parse_job_form(m, submit(view, **answers))
    assert list(caught.value.errors) == [block]
    assert message in caught.value.errors[block]


def test_every_error_is_reported_at_once() -> None:
    values = submit(job_modal(CRONJOB_ORG), name="", url="nope", cron="x", timezone="Nowhere")
    with pytest.raises(FormErrors) as caught:
        parse_job_form(CRONJOB_ORG, values)
    assert set(caught.value.errors) == {"name", "url", "cron", "timezone"}


def test_utc_only_providers_refuse_another_timezone() -> None:
    for m, provider in ((SCHEDULER, "Cronhub"), (MIGET, "Miget")):
        values = submit(
            job_modal(m),
            **{
                k: GOOD[k]
                for k in ("name", "url", "cron", "command")
                if k in block_ids(job_modal(m))
            },
        )
        values["timezone"] = {"timezone": {"type": "plain_text_input", "value": "Europe/Berlin"}}
        with pytest.raises(FormErrors) as caught:
            parse_job_form(m, values)
        assert caught.value.errors == {
            "timezone": f"{provider} runs cron schedules in UTC only; use UTC"
        }


def test_miget_without_configured_apps_reports_on_the_name() -> None:
    m = meta("miget", "cronjob")
    view = job_modal(m)
    assert "lists no applications" in context_text(view)
    values = submit(view, name="c", command="x", cron="* * * * *")
    with pytest.raises(FormErrors) as caught:
        parse_job_form(m, values)
    assert list(caught.value.errors) == ["name"]


def test_kind_picker_answer() -> None:
    view = kind_picker(meta("cronhub", ""))
    assert parse_kind(submit(view, kind="monitor")) is JobKind.MONITOR
    with pytest.raises(FormErrors) as caught:
        parse_kind(submit(view))
    assert list(caught.value.errors) == ["kind"]


ADDON = meta("miget", "addon", apps=[APP_A, APP_B])


def test_addon_form_for_a_database_and_for_storage() -> None:
    view = addon_modal(ADDON)
    postgres = parse_addon_form(
        ADDON,
        submit(
            view,
            app=APP_A,
            addon_type="postgres",
            addon_name="db",
            addon_label="Main DB",
            addon_version="17",
            addon_ram=512,
        ),
    )
    assert postgres == {
        "app": APP_A,
        "type": "postgres",
        "name": "db",
        "label": "Main DB",
        "version": "17",
        "ram_size": 512.0,
        "disk_size": None,
        "mount_point": None,
        "storage_access": None,
    }
    storage = parse_addon_form(
        ADDON,
        submit(
            view,
            app=APP_B,
            addon_type="storage",
            addon_name="files",
            addon_label="Files",
            addon_version="17",
            addon_disk=10,
            addon_mount_point="/data",
            addon_storage_access="RWX",
        ),
    )
    assert storage["version"] is None
    assert (storage["mount_point"], storage["storage_access"], storage["disk_size"]) == (
        "/data",
        "RWX",
        10.0,
    )


@pytest.mark.parametrize(
    ("answers", "errors"),
    [
        ({"addon_type": ""}, {B.ADDON_TYPE}),
        ({"addon_type": "mysql", "addon_version": "8.4"}, {B.ADDON_VERSION}),
        ({"addon_type": "valkey", "addon_version": ""}, {B.ADDON_VERSION}),
        ({"addon_name": "", "addon_label": ""}, {B.ADDON_NAME, B.ADDON_LABEL}),
        ({"addon_type": "storage"}, {B.ADDON_MOUNT_POINT, B.ADDON_STORAGE_ACCESS}),
        (
            {"addon_type": "storage", "addon_mount_point": "data", "addon_storage_access": "RWO"},
            {B.ADDON_MOUNT_POINT},
        ),
        ({"app": ""}, {B.APP}),
        ({"addon_ram": -1}, {B.ADDON_RAM}),
    ],
)
def test_addon_form_errors(answers: dict[str, Any], errors: set[str]) -> None:
    good = {
        "app": APP_A,
        "addon_type": "postgres",
        "addon_name": "db",
        "addon_label": "DB",
        "addon_version": "16",
    }
    with pytest.raises(FormErrors) as caught:
        parse_addon_form(ADDON, submit(addon_modal(ADDON), **{**good, **answers}))
    assert set(caught.value.errors) == errors


# -- values too long to fill in --------------------------------------------------------------


def test_an_edit_keeps_values_too_long_to_fill_in() -> None:
    current = JobSpec.model_construct(
        kind=JobKind.CRON, name="n" * 10_000, manifest="image: x\n" + "# c\n" * 2000,
        schedule=Schedule.of_period("daily"), enabled=True,
    )  # fmt: skip
    view = job_modal(DJINN.model_copy(update={"ref": "ci:42"}), current=current)
    inputs = {b["block_id"]: b for b in as_dict(view)["blocks"] if b["type"] == "input"}
    for block in (B.NAME, B.MANIFEST):
        assert "initial_value" not in inputs[block]["element"]
        assert "leave it empty to keep it" in inputs[block]["hint"]["text"]
        assert inputs[block]["optional"] is True
    form = meta_of(view)  # the modal says which inputs it left empty
    assert sorted(form.kept) == [B.MANIFEST, B.NAME]
    kept = edited(parse_job_form(form, submit(view, period="weekly")), current)
    assert (kept.name, kept.manifest) == (current.name, current.manifest)
    assert kept.schedule == Schedule.of_period("weekly")
    typed = edited(parse_job_form(form, submit(view, name="short", manifest="image: y")), current)
    assert (typed.name, typed.manifest) == ("short", "image: y")


def test_a_value_that_fits_is_filled_in_and_still_required() -> None:
    current = JobSpec(kind=JobKind.CRONJOB, name="ok", command="rake x", schedule=None)
    view = job_modal(MIGET.model_copy(update={"ref": "apps:APP/CJ"}), current=current)
    assert meta_of(view).kept == []
    with pytest.raises(FormErrors) as refused:
        parse_job_form(meta_of(view), submit(view, name="", command=""))
    assert set(refused.value.errors) == {B.NAME, B.COMMAND}


def test_options_and_numbers_stay_inside_what_slack_takes() -> None:
    many = meta("miget", "cronjob", apps=[f"{n:04d}" + "-a" * 10 for n in range(500)])
    assert len(many.apps) <= 100
    assert many.more_apps == 500 - len(many.apps)
    assert len(many.dump()) <= 3000
    select = next(b for b in as_dict(job_modal(many))["blocks"] if b.get("block_id") == B.APP)
    assert len(select["element"]["options"]) == len(many.apps)
    assert f"{many.more_apps} more did not fit" in select["hint"]["text"]
    odd = meta("miget", "cronjob", apps=["x" * 151, "y" * 150, "line\nbreak"])
    assert odd.apps == ["y" * 150, "line\nbreak"]
    labels = [o["text"]["text"] for b in as_dict(job_modal(odd))["blocks"]
              if b.get("block_id") == B.APP for o in b["element"]["options"]]  # fmt: skip
    assert all(len(label) <= 75 and "\n" not in label for label in labels)
    wide = JobSpec(kind=JobKind.MONITOR, name="m", grace_period=500)
    grace = next(b for b in as_dict(job_modal(MONITOR, current=wide))["blocks"]
                 if b.get("block_id") == B.GRACE_PERIOD)  # fmt: skip
    assert "initial_value" not in grace["element"]  # 500 is outside 1..60: not filled in


def test_a_name_with_line_breaks_is_not_filled_into_a_one_line_input() -> None:
    current = JobSpec(kind=JobKind.JOB, name="two\nlines", url="https://x.example", schedule=None)
    view = job_modal(CRONJOB_ORG.model_copy(update={"ref": "prod:42"}), current=current)
    name = next(b for b in as_dict(view)["blocks"] if b.get("block_id") == B.NAME)
    assert "initial_value" not in name["element"]
    assert "line breaks" in name["hint"]["text"]
    kept = edited(parse_job_form(meta_of(view), submit(view, cron="0 3 * * *")), current)
    assert kept.name == "two\nlines"


def test_a_form_shown_again_after_an_error_still_keeps_what_it_left_empty() -> None:
    """Edits are parsed before the job is read (the ack comes first): an input left empty to
    keep the job's value holds nothing to send until edited() puts the value back, and the
    form shown again after an error, the job unread, still leaves it empty to keep it."""
    current = JobSpec.model_construct(
        kind=JobKind.JOB, name="n" * 500, url="https://x.example/hook", http_method="GET",
        schedule=Schedule.from_cron("0 3 * * *"), enabled=False,
    )  # fmt: skip
    view = job_modal(CRONJOB_ORG.model_copy(update={"ref": "prod:42"}), current=current)
    spec = parse_job_form(meta_of(view), submit(view, cron="0 4 * * *"))
    assert spec.name == ""  # not the job's name yet, and never a placeholder to send
    again = job_modal(meta_of(view), current=spec, error="cron-job.org is unreachable")
    name = next(b for b in as_dict(again)["blocks"] if b.get("block_id") == B.NAME)
    assert "initial_value" not in name["element"]
    assert name["optional"] is True
    assert "leave it empty to keep it" in name["hint"]["text"]
    assert meta_of(again).kept == [B.NAME]
    saved = edited(parse_job_form(meta_of(again), submit(again)), current)
    assert saved.name == current.name
    assert saved.schedule == Schedule.from_cron("0 4 * * *")
    assert saved.url is None  # left as shown: the job keeps its real URL
    assert saved.enabled is False  # pausing is not an edit's business
    forged = CRONJOB_ORG.model_copy(update={"kept": [B.NAME]})  # a create has nothing to keep
    with pytest.raises(FormErrors) as refused:
        parse_job_form(forged, submit(job_modal(forged), url="https://x.example", cron="0 3 * * *"))
    assert set(refused.value.errors) == {B.NAME}
