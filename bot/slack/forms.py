"""Submitted modals -> a JobSpec or add-on fields, or :class:`FormErrors` keyed by block_id.

Pure: validation only, no provider call, so a rejected input changes nothing. Slack's shape is
``{block_id: {action_id: {"type": ..., "value": ...}}}``; :class:`Form` reads it one field at
a time and collects one error per block (every error keyed by an input block present in the
view: Slack rejects ``response_action: errors`` naming a block it does not have). Below it, one
reader per kind of field, then one small parser per provider and job kind (:data:`PARSERS`)
returning JobSpec fields. The modal builders (:mod:`bot.slack.render.job_fields`) offer the
choices defined here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlparse

import yaml

from bot.slack.render.ids import BlockId, ModalMeta
from providers.base import JobKind, JobSpec
from providers.miget.checks import name_problem
from providers.redact import MASK, secrets
from providers.schedule import (
    IntervalUnit,
    Period,
    Schedule,
    ScheduleError,
    validate_cron,
    validate_timezone,
)

Values = Mapping[str, Mapping[str, Any]]

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
INTERVAL_UNITS: tuple[IntervalUnit, ...] = ("minutes", "hours", "days")
PERIODS: tuple[Period, ...] = ("daily", "weekly", "monthly")
MIGET_INTERVALS: dict[str, tuple[int, IntervalUnit]] = {
    "every_10_minutes": (10, "minutes"),
    "hourly": (1, "hours"),
    "daily": (1, "days"),
}
ADDON_TYPES = ("postgres", "mysql", "valkey", "storage")
ADDON_VERSIONS: dict[str, tuple[str, ...]] = {
    "postgres": ("18", "17", "16", "15", "14", "13"),
    "mysql": ("8.2", "8.0"),
    "valkey": ("7.2", "7"),
}
STORAGE_ACCESS = ("RWO", "RWX")
NAME_MAX = 200
INPUT_MAX = 3000  # characters a Slack text input holds (its max_length, its initial_value)

#: Inputs a job's current value may be too long to fill in: shown empty, and kept as it is
#: when left empty (edits change only what the user changed).
KEEPABLE: dict[BlockId, str] = {
    BlockId.NAME: "name",
    BlockId.URL: "url",
    BlockId.HTTP_BODY: "http_body",
    BlockId.MANIFEST: "manifest",
    BlockId.COMMAND: "command",
}


MASKABLE = {  # how an error names each field that may be shown masked
    "name": "The name", "url": "The URL", "http_body": "The request body",
    "manifest": "The manifest", "command": "The command",
}  # fmt: skip

MULTILINE = frozenset({BlockId.HTTP_BODY, BlockId.MANIFEST})


def input_limit(block: BlockId) -> int:
    """The most characters the modal's input for ``block`` takes."""
    return NAME_MAX if block is BlockId.NAME else INPUT_MAX


class Kept(str):
    """What an edit's spec holds for an input left empty to keep the job's value, one its modal
    could not fill in, until :func:`edited` puts that value back (never sent: it is empty)."""

    __slots__ = ()


KEPT = Kept()


def prefillable(value: str | None, limit: int, *, multiline: bool) -> bool:
    """Whether a current value fits its input as the initial value (a one-line input takes
    no line break; a value :data:`KEPT` is not known here)."""
    if value is None:
        return True
    if isinstance(value, Kept):
        return False
    return len(value) <= limit and (multiline or not any(c in value for c in "\r\n"))


T = TypeVar("T", bound=str)


class FormErrors(Exception):
    """What is wrong with a submitted form, per input block: Slack's ``errors`` object."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{block}: {text}" for block, text in self.errors.items()))


class Form:
    """Reads ``view.state.values`` and collects one error per block."""

    def __init__(self, values: Values, kept: frozenset[str] = frozenset()) -> None:
        self.values = values
        self.errors: dict[str, str] = {}
        self.kept = kept  # blocks left empty on purpose: their current value is kept

    def has(self, block: BlockId) -> bool:
        return block.value in self.values

    def _action(self, block: BlockId) -> Mapping[str, Any]:
        actions = self.values.get(block.value) or {}
        return next(iter(actions.values()), {})

    def get(self, block: BlockId) -> str | None:
        """The typed text, chosen option's value, number or time; None when empty."""
        action = self._action(block)
        if "selected_option" in action:
            raw = (action["selected_option"] or {}).get("value")
        elif "selected_time" in action:
            raw = action["selected_time"]
        else:
            raw = action.get("value")
        text = str(raw).strip() if raw is not None else ""
        return text or None

    def checked(self, block: BlockId) -> set[str]:
        options = self._action(block).get("selected_options") or []
        return {str(choice.get("value")) for choice in options}

    def fail(self, block: BlockId, message: str) -> None:
        self.errors.setdefault(block.value, message)

    def required(self, block: BlockId, message: str) -> str:
        value = self.get(block)
        if value is None and block.value not in self.kept:
            self.fail(block, message)
        return value or ""

    def choice(self, block: BlockId, allowed: tuple[T, ...], what: str) -> T:
        value = self.get(block)
        for candidate in allowed:
            if candidate == value:
                return candidate
        self.fail(block, f"Choose {what}: {', '.join(allowed)}")
        return allowed[0]

    def raise_if_errors(self) -> None:
        if self.errors:
            raise FormErrors(self.errors)


def name(form: Form, block: BlockId = BlockId.NAME) -> str:
    value = form.required(block, "Give it a name")
    if len(value) > NAME_MAX:
        form.fail(block, f"A name has at most {NAME_MAX} characters")
    return value


def url(form: Form) -> str:
    value = form.required(BlockId.URL, "Enter the URL to call")
    parsed = urlparse(value)
    if value and (parsed.scheme not in ("http", "https") or not parsed.netloc or " " in value):
        form.fail(BlockId.URL, "Use a full http:// or https:// URL, e.g. https://example.com/cron")
    return value


def http_method(form: Form) -> str:
    if form.get(BlockId.HTTP_METHOD) is None:
        return "GET"
    return form.choice(BlockId.HTTP_METHOD, HTTP_METHODS, "an HTTP method")


def cron(form: Form) -> str:
    value = form.required(BlockId.CRON, "Enter a cron expression, e.g. `0 3 * * *`")
    if not value:
        return "* * * * *"
    try:
        return validate_cron(value)
    except ScheduleError as exc:
        form.fail(BlockId.CRON, str(exc))
        return "* * * * *"


def timezone(form: Form, *, utc_only: str | None = None) -> str:
    """The timezone typed (default UTC). ``utc_only`` names a provider that only runs in UTC."""
    value = form.get(BlockId.TIMEZONE) or "UTC"
    try:
        value = validate_timezone(value)
    except ScheduleError as exc:
        form.fail(BlockId.TIMEZONE, str(exc))
        return "UTC"
    if utc_only and value != "UTC":
        form.fail(BlockId.TIMEZONE, f"{utc_only} runs cron schedules in UTC only; use UTC")
    return value


def whole_number(form: Form, block: BlockId, low: int, high: int | None, what: str) -> int:
    raw = form.get(block)
    try:
        number = int(raw or "")
    except ValueError:
        number = low - 1
    if number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        form.fail(block, f"{what} must be a whole number {bounds}")
        return low
    return number


def selected_app(meta: ModalMeta, values: Values) -> str | None:
    """The Miget application a form is for: the chosen one, or the account's only app."""
    if BlockId.APP.value in values:
        return Form(values).get(BlockId.APP)
    return meta.apps[0] if len(meta.apps) == 1 else None


def app(form: Form, meta: ModalMeta, fallback: BlockId = BlockId.NAME) -> str:
    """The chosen app; without an app block the error goes on ``fallback``."""
    chosen = selected_app(meta, form.values)
    if chosen is None or chosen not in meta.apps:
        where = BlockId.APP if form.has(BlockId.APP) else fallback
        form.fail(where, "Choose one of the applications listed for this account in cronops.yml")
        return ""
    return chosen


def manifest(form: Form) -> str:
    value = form.required(BlockId.MANIFEST, "Paste the build manifest (YAML)")
    if not value:
        return value
    try:
        data = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        form.fail(BlockId.MANIFEST, f"The manifest is not valid YAML{where}")
        return value
    if not isinstance(data, dict):
        form.fail(BlockId.MANIFEST, "The manifest must be a YAML mapping, e.g. `image: alpine`")
    return value


def positive_number(form: Form, block: BlockId, what: str) -> float | None:
    raw = form.get(block)
    if raw is None:
        return None
    try:
        number = float(raw)
    except ValueError:
        number = 0.0
    if number <= 0:
        form.fail(block, f"{what} must be a positive number")
        return None
    return number


Parser = Callable[[Form, ModalMeta], dict[str, Any]]


def parse_job_form(meta: ModalMeta, values: Values) -> JobSpec:
    """The job a create/edit modal asks for, from the form alone (no request is made).

    A Miget create carries the chosen application in ``spec.app``. An edit's spec holds what
    the form shows; :func:`edited` completes it with what the form does not carry, the job's
    values for inputs left empty to keep them (:data:`KEPT` until then) included.
    """
    kind = JobKind(meta.kind)
    parser = PARSERS.get((meta.provider, kind))
    if parser is None:
        raise ValueError(f"no job form for {meta.provider} {meta.kind}")
    kept = left_to_keep(meta, values)
    form = Form(values, frozenset(block.value for block in kept))
    spec_fields = parser(form, meta)
    form.raise_if_errors()
    if meta.provider == "miget" and meta.ref is None:
        spec_fields["app"] = selected_app(meta, values)
    fields = [KEEPABLE[block] for block in kept]
    typed = {**spec_fields, **dict.fromkeys(fields, "kept")}  # the rest validated as typed...
    spec = JobSpec(**{"kind": kind, "enabled": True, **typed})
    return spec.model_copy(update=dict.fromkeys(fields, KEPT))  # ...the job's values to come


def left_to_keep(meta: ModalMeta, values: Values) -> list[BlockId]:
    """The inputs of an edit form that its modal could not fill in (``meta.kept``: the job's
    value was too long for them, or had line breaks) and that were left empty: they keep the
    job's value."""
    if meta.ref is None:
        return []
    form = Form(values)
    return [
        block
        for block in KEEPABLE
        if block.value in meta.kept and form.has(block) and form.get(block) is None
    ]


def unfilled(current: JobSpec) -> list[BlockId]:
    """The inputs an edit modal leaves empty, the job's value not fitting them (see
    :func:`bot.slack.render.inputs.text_input`): left empty, they keep it."""
    return [
        block
        for block, field in KEEPABLE.items()
        if not prefillable(
            getattr(current, field), input_limit(block), multiline=block in MULTILINE
        )
    ]


def kept_values(spec: JobSpec, current: JobSpec) -> dict[str, Any]:
    """The job's values for the inputs an edit left empty to keep them (:data:`KEPT`)."""
    return {
        field: getattr(current, field)
        for field in KEEPABLE.values()
        if isinstance(getattr(spec, field), Kept)
    }


def as_shown(spec: JobSpec, current: JobSpec) -> JobSpec:
    """An edit form's spec with the values it kept put back: the form to show again."""
    return spec.model_copy(update=kept_values(spec, current))


def edited(spec: JobSpec, current: JobSpec) -> JobSpec:
    """An edit form's spec completed from the job as it is: what the form does not carry
    (Miget's schedule, whether the job is paused) stays as it was, so does a value the modal
    could not fill in and that was left empty (:func:`kept_values`), and so does a value left
    as shown when it was shown masked (a URL's credentials, a secret the bot knows in a
    command): the mask is never sent. A URL left as shown is not sent at all (``url`` None
    keeps the real one, which the job does not carry).

    A value changed but still holding a mask would send the mask: refused.
    """
    spec = as_shown(spec, current)
    unmasked: dict[str, Any] = {}
    for block, field in KEEPABLE.items():
        typed, real = getattr(spec, field), getattr(current, field)
        if typed is not None and typed == (shown := secrets.scrub(real or "")):
            unmasked[field] = None if field == "url" else real  # left as it was shown
        elif isinstance(typed, str) and MASK in typed and typed != shown:
            raise FormErrors(
                {
                    block: f"{MASKABLE[field]} still holds a hidden value ({MASK}); type it "
                    "whole, secret included, or leave it as it was shown to keep it"
                }
            )
    return spec.model_copy(
        update={
            "enabled": current.enabled,
            "schedule": spec.schedule if spec.schedule is not None else current.schedule,
            **unmasked,
        }
    )


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
    kind = form.choice(BlockId.ADDON_TYPE, ADDON_TYPES, "an add-on type")
    result: dict[str, Any] = {
        "app": app(form, meta, fallback=BlockId.ADDON_NAME),
        "type": kind,
        "name": name(form, BlockId.ADDON_NAME),
        "label": form.required(BlockId.ADDON_LABEL, "Give it a label (its display name)"),
        "version": _addon_version(form, kind),
        "ram_size": positive_number(form, BlockId.ADDON_RAM, "RAM"),
        "disk_size": positive_number(form, BlockId.ADDON_DISK, "Disk"),
        "mount_point": None,
        "storage_access": None,
    }
    if kind == "storage":
        result["mount_point"] = _mount_point(form)
        result["storage_access"] = form.choice(
            BlockId.ADDON_STORAGE_ACCESS, STORAGE_ACCESS, "how the storage is shared"
        )
    form.raise_if_errors()
    return result


def _addon_version(form: Form, kind: str) -> str | None:
    allowed = ADDON_VERSIONS.get(kind)
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


def _cronjob_org(form: Form, meta: ModalMeta) -> dict[str, Any]:
    return {
        "name": name(form),
        "url": url(form),
        "http_method": http_method(form),
        "schedule": Schedule.from_cron(cron(form), timezone(form)),
        "enabled": "enabled" in form.checked(BlockId.ENABLED),
    }


def _cronhub_scheduler(form: Form, meta: ModalMeta) -> dict[str, Any]:
    if _schedule_type(form) == "interval":
        every = whole_number(form, BlockId.INTERVAL_EVERY, 1, None, "The interval")
        unit = form.choice(BlockId.INTERVAL_UNIT, INTERVAL_UNITS, "a unit")
        schedule = Schedule.interval(every, unit)
    else:
        schedule = Schedule.from_cron(cron(form), timezone(form, utc_only="Cronhub"))
    return {
        "name": name(form),
        "url": url(form),
        "http_method": http_method(form),
        "http_body": form.get(BlockId.HTTP_BODY),
        "schedule": schedule,
    }


def _cronhub_monitor(form: Form, meta: ModalMeta) -> dict[str, Any]:
    return {
        "name": name(form),
        "schedule": Schedule.from_cron(cron(form), timezone(form)),
        "grace_period": whole_number(form, BlockId.GRACE_PERIOD, 1, 60, "The grace period"),
    }


def _djinn(form: Form, meta: ModalMeta) -> dict[str, Any]:
    return {
        "name": name(form),
        "schedule": Schedule.of_period(form.choice(BlockId.PERIOD, PERIODS, "a period")),
        "manifest": manifest(form),
    }


def _miget(form: Form, meta: ModalMeta) -> dict[str, Any]:
    spec = {
        "name": name(form),
        "command": form.required(BlockId.COMMAND, "Enter the command to run, e.g. `rake cleanup`"),
    }
    editing = meta.ref is not None
    if not editing and spec["name"] and (problem := name_problem(spec["name"])):
        form.fail(BlockId.NAME, problem[0].upper() + problem[1:])  # the client's own rule
    if editing:  # Miget cannot reschedule in place: the form has no schedule
        return spec
    return {**spec, "app": app(form, meta), "schedule": _miget_schedule(form)}


def _miget_schedule(form: Form) -> Schedule:
    if _schedule_type(form) == "cron":
        return Schedule.from_cron(cron(form), timezone(form, utc_only="Miget"))
    preset = form.choice(BlockId.MIGET_INTERVAL, tuple(MIGET_INTERVALS), "an interval")
    every, unit = MIGET_INTERVALS[preset]
    at = form.get(BlockId.DAILY_TIME) if preset == "daily" else None
    return Schedule.interval(every, unit, at=at)


PARSERS: dict[tuple[str, JobKind], Parser] = {
    ("cronjob-org", JobKind.JOB): _cronjob_org,
    ("cronhub", JobKind.SCHEDULER): _cronhub_scheduler,
    ("cronhub", JobKind.MONITOR): _cronhub_monitor,
    ("djinn", JobKind.CRON): _djinn,
    ("miget", JobKind.CRONJOB): _miget,
}
