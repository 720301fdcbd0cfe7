"""Submitted modals -> a JobSpec or add-on fields, or :class:`FormErrors` keyed by block_id.

Pure: validation only, no provider call, so a rejected input changes nothing. Each provider
and job kind has one small parser returning JobSpec fields; readers live in
:mod:`bot.render.fields`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.render import fields as f
from bot.render.fields import Form, FormErrors, Values, selected_app
from bot.render.ids import BlockId, ModalMeta
from providers.base import JobKind, JobSpec
from providers.miget.checks import name_problem
from providers.schedule import Schedule

__all__ = [
    "FormErrors",
    "parse_addon_form",
    "parse_job_form",
    "parse_kind",
    "selected_app",
]

Parser = Callable[[Form, ModalMeta, JobSpec | None], dict[str, Any]]


def parse_job_form(meta: ModalMeta, values: Values, *, current: JobSpec | None = None) -> JobSpec:
    """The job a create/edit modal asks for. ``current`` is the job being edited.

    A Miget create carries the chosen application in ``spec.app`` (an edit keeps the job's).
    """
    kind = JobKind(meta.kind)
    parser = PARSERS.get((meta.provider, kind))
    if parser is None:
        raise ValueError(f"no job form for {meta.provider} {meta.kind}")
    form = Form(values)
    spec_fields = parser(form, meta, current)
    form.raise_if_errors()
    enabled = current.enabled if current is not None else True
    return JobSpec(**{"kind": kind, "enabled": enabled, **spec_fields})


def parse_kind(values: Values) -> JobKind:
    """The Cronhub kind picker's answer: scheduler or monitor."""
    form = Form(values)
    kinds = (JobKind.SCHEDULER.value, JobKind.MONITOR.value)
    value = form.choice(BlockId.KIND, kinds, "what to create")
    form.raise_if_errors()
    return JobKind(value)


def parse_addon_form(meta: ModalMeta, values: Values) -> dict[str, Any]:
    """Miget add-on fields: app, type, name, label, version, ram_size (MiB), disk_size (GiB),
    mount_point, storage_access. Fields a type does not take are None."""
    form = Form(values)
    kind = form.choice(BlockId.ADDON_TYPE, f.ADDON_TYPES, "an add-on type")
    result: dict[str, Any] = {
        "app": f.app(form, meta, fallback=BlockId.ADDON_NAME),
        "type": kind,
        "name": f.name(form, BlockId.ADDON_NAME),
        "label": form.required(BlockId.ADDON_LABEL, "Give it a label (its display name)"),
        "version": _addon_version(form, kind),
        "ram_size": f.positive_number(form, BlockId.ADDON_RAM, "RAM"),
        "disk_size": f.positive_number(form, BlockId.ADDON_DISK, "Disk"),
        "mount_point": None,
        "storage_access": None,
    }
    if kind == "storage":
        result["mount_point"] = _mount_point(form)
        result["storage_access"] = form.choice(
            BlockId.ADDON_STORAGE_ACCESS, f.STORAGE_ACCESS, "how the storage is shared"
        )
    form.raise_if_errors()
    return result


def _addon_version(form: Form, kind: str) -> str | None:
    allowed = f.ADDON_VERSIONS.get(kind)
    if allowed is None:
        return None
    value = form.get(BlockId.ADDON_VERSION)
    if value not in allowed:
        form.fail(BlockId.ADDON_VERSION, f"{kind} versions are {', '.join(allowed)}")
    return value


def _mount_point(form: Form) -> str:
    value = form.required(BlockId.ADDON_MOUNT_POINT, "Storage needs a mount point, e.g. /data")
    if value and not value.startswith("/"):
        form.fail(BlockId.ADDON_MOUNT_POINT, "A mount point is an absolute path, e.g. /data")
    return value


def _schedule_type(form: Form) -> str:
    if form.get(BlockId.SCHEDULE_TYPE) is None:
        return "cron"
    return form.choice(BlockId.SCHEDULE_TYPE, ("cron", "interval"), "a schedule type")


def _cronjob_org(form: Form, meta: ModalMeta, current: JobSpec | None) -> dict[str, Any]:
    return {
        "name": f.name(form),
        "url": f.url(form),
        "http_method": f.http_method(form),
        "schedule": Schedule.from_cron(f.cron(form), f.timezone(form)),
        "enabled": "enabled" in form.checked(BlockId.ENABLED),
    }


def _cronhub_scheduler(form: Form, meta: ModalMeta, current: JobSpec | None) -> dict[str, Any]:
    if _schedule_type(form) == "interval":
        every = f.whole_number(form, BlockId.INTERVAL_EVERY, 1, None, "The interval")
        unit = form.choice(BlockId.INTERVAL_UNIT, f.INTERVAL_UNITS, "a unit")
        schedule = Schedule.interval(every, unit)
    else:
        schedule = Schedule.from_cron(f.cron(form), f.timezone(form, utc_only="Cronhub"))
    return {
        "name": f.name(form),
        "url": f.url(form),
        "http_method": f.http_method(form),
        "http_body": form.get(BlockId.HTTP_BODY),
        "schedule": schedule,
    }


def _cronhub_monitor(form: Form, meta: ModalMeta, current: JobSpec | None) -> dict[str, Any]:
    return {
        "name": f.name(form),
        "schedule": Schedule.from_cron(f.cron(form), f.timezone(form)),
        "grace_period": f.whole_number(form, BlockId.GRACE_PERIOD, 1, 60, "The grace period"),
    }


def _djinn(form: Form, meta: ModalMeta, current: JobSpec | None) -> dict[str, Any]:
    return {
        "name": f.name(form),
        "schedule": Schedule.of_period(form.choice(BlockId.PERIOD, f.PERIODS, "a period")),
        "manifest": f.manifest(form),
    }


def _miget(form: Form, meta: ModalMeta, current: JobSpec | None) -> dict[str, Any]:
    spec = {
        "name": f.name(form),
        "command": form.required(BlockId.COMMAND, "Enter the command to run, e.g. `rake cleanup`"),
    }
    if current is None and spec["name"] and (problem := name_problem(spec["name"])):
        form.fail(BlockId.NAME, problem[0].upper() + problem[1:])  # the client's own rule
    if current is not None:  # Miget cannot reschedule in place: the form has no schedule
        return {**spec, "schedule": current.schedule}
    return {**spec, "app": f.app(form, meta), "schedule": _miget_schedule(form)}


def _miget_schedule(form: Form) -> Schedule:
    if _schedule_type(form) == "cron":
        return Schedule.from_cron(f.cron(form), f.timezone(form, utc_only="Miget"))
    preset = form.choice(BlockId.MIGET_INTERVAL, tuple(f.MIGET_INTERVALS), "an interval")
    every, unit = f.MIGET_INTERVALS[preset]
    at = form.get(BlockId.DAILY_TIME) if preset == "daily" else None
    return Schedule.interval(every, unit, at=at)


PARSERS: dict[tuple[str, JobKind], Parser] = {
    ("cronjob-org", JobKind.JOB): _cronjob_org,
    ("cronhub", JobKind.SCHEDULER): _cronhub_scheduler,
    ("cronhub", JobKind.MONITOR): _cronhub_monitor,
    ("djinn", JobKind.CRON): _djinn,
    ("miget", JobKind.CRONJOB): _miget,
}
