"""Modal input blocks per provider and job kind, filled from ``current`` when editing.

:data:`FIELDS` maps ``(provider slug, JobKind)`` to a builder; ``stype`` is the chosen
schedule type ("cron" or "interval") for the providers that offer both.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.models.blocks import Block

from bot.slack.forms import HTTP_METHODS, INTERVAL_UNITS, NAME_MAX
from bot.slack.render.ids import ActionId, BlockId, ModalMeta
from bot.slack.render.inputs import (
    checkbox_input,
    context,
    number_input,
    radio_input,
    select_input,
    text_input,
    time_input,
)
from bot.slack.render.text import escape
from providers.base import JobKind, JobSpec
from providers.schedule import Schedule, ScheduleKind

Fields = Callable[[ModalMeta, JobSpec | None, str], list[Block]]

CRON_HINT = (
    "5 fields: minute hour day-of-month month day-of-week. Examples: */15 * * * * (every "
    "15 minutes), 0 3 * * * (03:00 daily), 0 9 * * 1-5 (09:00 on weekdays)."
)
SCHEDULE_TYPES = (("cron", "Cron expression"), ("interval", "Interval"))
MIGET_PRESETS = (("every_10_minutes", "Every 10 minutes"), ("hourly", "Hourly"), ("daily", "Daily"))
MIGET_RESCHEDULE = "Miget cannot change a schedule in place; delete and recreate to reschedule."


def schedule_type_of(current: JobSpec | None) -> str:
    schedule = current.schedule if current is not None else None
    return "interval" if schedule is not None and schedule.kind is ScheduleKind.INTERVAL else "cron"


def _cron_of(current: JobSpec | None) -> Schedule | None:
    schedule = current.schedule if current is not None else None
    return schedule if schedule is not None and schedule.kind is ScheduleKind.CRON else None


def _name(current: JobSpec | None) -> Block:
    initial = current.name if current is not None else None
    return text_input(BlockId.NAME, "Name", initial=initial, max_length=NAME_MAX)


def _url_and_method(current: JobSpec | None) -> list[Block]:
    method = (current.http_method or "GET").upper() if current is not None else "GET"
    return [
        text_input(
            BlockId.URL,
            "URL",
            initial=current.url if current is not None else None,
            placeholder="https://example.com/cron",
            hint="A full http:// or https:// URL.",
        ),
        select_input(
            BlockId.HTTP_METHOD, "HTTP method", [(m, m) for m in HTTP_METHODS], initial=method
        ),
    ]


def _cron(current: JobSpec | None) -> Block:
    schedule = _cron_of(current)
    initial = schedule.cron if schedule is not None else None
    return text_input(
        BlockId.CRON, "Cron expression", initial=initial, placeholder="0 3 * * *", hint=CRON_HINT
    )


def _timezone(current: JobSpec | None) -> Block:
    schedule = _cron_of(current)
    initial = schedule.timezone if schedule is not None else "UTC"
    return text_input(
        BlockId.TIMEZONE, "Timezone", initial=initial, hint="IANA name like Europe/Berlin"
    )


def _schedule_type(stype: str) -> Block:
    return radio_input(
        BlockId.SCHEDULE_TYPE,
        "Schedule type",
        SCHEDULE_TYPES,
        action_id=ActionId.FORM_SCHEDULE_TYPE.value,
        initial=stype,
        dispatch=True,
    )


def app_select(meta: ModalMeta) -> list[Block]:
    if not meta.apps:
        why = "lists no applications" if not meta.more_apps else "has no application id Slack"
        why += " can offer" if meta.more_apps else ""
        return [context(f":warning: This account {why} (`apps:` in cronops.yml).")]
    if len(meta.apps) > 1 or meta.more_apps:
        hint = None
        if meta.more_apps:
            hint = f"The first {len(meta.apps)} applications; {meta.more_apps} more did not fit."
        choices = [(a, a) for a in meta.apps]
        return [select_input(BlockId.APP, "Application", choices, hint=hint)]
    return []


def _cronjob_org(meta: ModalMeta, current: JobSpec | None, stype: str) -> list[Block]:
    enabled = current.enabled if current is not None else True
    return [
        _name(current),
        *_url_and_method(current),
        _cron(current),
        _timezone(current),
        checkbox_input(BlockId.ENABLED, "Status", ("enabled", "Enabled"), enabled),
    ]


def _cronhub_scheduler(meta: ModalMeta, current: JobSpec | None, stype: str) -> list[Block]:
    body = current.http_body if current is not None else None
    blocks: list[Block] = [
        _name(current),
        *_url_and_method(current),
        text_input(
            BlockId.HTTP_BODY,
            "Body",
            initial=body,
            multiline=True,
            optional=True,
            hint="Sent with POST, PUT and PATCH requests.",
        ),
        _schedule_type(stype),
    ]
    if stype == "interval":
        return [*blocks, *_interval(current)]
    return [*blocks, _cron(current), context("Cronhub runs cron schedules in UTC.")]


def _interval(current: JobSpec | None) -> list[Block]:
    schedule = current.schedule if current is not None else None
    every = schedule.every if schedule is not None else None
    unit = (schedule.unit if schedule is not None else None) or "minutes"
    return [
        number_input(BlockId.INTERVAL_EVERY, "Every", initial=every, minimum=1),
        select_input(BlockId.INTERVAL_UNIT, "Unit", [(u, u) for u in INTERVAL_UNITS], initial=unit),
    ]


def _cronhub_monitor(meta: ModalMeta, current: JobSpec | None, stype: str) -> list[Block]:
    grace = current.grace_period if current is not None else None
    return [
        _name(current),
        _cron(current),
        _timezone(current),
        number_input(
            BlockId.GRACE_PERIOD,
            "Grace period (minutes)",
            initial=grace or 5,
            minimum=1,
            maximum=60,
            hint="How long Cronhub waits for a late ping (1–60).",
        ),
        context("Cronhub alerts when no ping arrives within the grace period after a run."),
    ]


def _djinn(meta: ModalMeta, current: JobSpec | None, stype: str) -> list[Block]:
    schedule = current.schedule if current is not None else None
    period = (schedule.period if schedule is not None else None) or "daily"
    periods = [("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly")]
    manifest = current.manifest if current is not None else None
    return [
        _name(current),
        select_input(
            BlockId.PERIOD,
            "Schedule",
            periods,
            initial=period,
            hint="Fires at the start of the next UTC day, week or month.",
        ),
        text_input(
            BlockId.MANIFEST,
            "Build manifest (YAML)",
            initial=manifest,
            multiline=True,
            placeholder="image: alpine/edge",
            hint="The .djinn.yml to build.",
        ),
    ]


def _miget(meta: ModalMeta, current: JobSpec | None, stype: str) -> list[Block]:
    command = current.command if current is not None else None
    blocks: list[Block] = [
        _name(current),
        text_input(BlockId.COMMAND, "Command", initial=command, placeholder="rake db:cleanup"),
    ]
    if current is not None:
        words = current.schedule.describe() if current.schedule is not None else "unknown"
        return [*blocks, context(f"*Schedule:* {escape(words)} (UTC). {MIGET_RESCHEDULE}")]
    blocks = [*app_select(meta), *blocks, _schedule_type(stype)]
    if stype == "interval":
        return [
            *blocks,
            select_input(BlockId.MIGET_INTERVAL, "Interval", MIGET_PRESETS),
            time_input(BlockId.DAILY_TIME, "Time of day (UTC)", hint="Only used for Daily."),
        ]
    return [*blocks, _cron(current), context("Miget runs cron schedules in UTC.")]


FIELDS: dict[tuple[str, JobKind], Fields] = {
    ("cronjob-org", JobKind.JOB): _cronjob_org,
    ("cronhub", JobKind.SCHEDULER): _cronhub_scheduler,
    ("cronhub", JobKind.MONITOR): _cronhub_monitor,
    ("djinn", JobKind.CRON): _djinn,
    ("miget", JobKind.CRONJOB): _miget,
}
