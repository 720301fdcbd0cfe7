"""Reading ``view.state.values`` one field at a time, collecting errors per block_id.

``values`` is Slack's shape: ``{block_id: {action_id: {"type": ..., "value": ...}}}``; selects
and radios carry ``selected_option``, checkboxes ``selected_options``, timepickers
``selected_time``. Every error is keyed by an input block present in ``values``: Slack rejects
``response_action: errors`` naming a block the view does not have.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlparse

import yaml

from bot.render.ids import BlockId, ModalMeta
from providers.schedule import (
    IntervalUnit,
    Period,
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

T = TypeVar("T", bound=str)


class FormErrors(Exception):
    """What is wrong with a submitted form, per input block: Slack's ``errors`` object."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{block}: {text}" for block, text in self.errors.items()))


class Form:
    """Reads ``view.state.values`` and collects one error per block."""

    def __init__(self, values: Values) -> None:
        self.values = values
        self.errors: dict[str, str] = {}

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
        if value is None:
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
