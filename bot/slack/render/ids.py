"""Identifiers shared by the renderer and the listeners, and the values buttons carry.

Every interactive element gets its ``action_id`` from :class:`ActionId`; every modal its
``callback_id`` from :class:`CallbackId`; every modal input its ``block_id`` from
:class:`BlockId` (the keys of ``view.state.values`` and of ``response_action: errors``).
Button values and ``private_metadata`` are the frozen models below, serialised as JSON with
``.dump()`` and read back with ``.load()``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ActionId(StrEnum):
    JOB_SHOW = "job.show"
    JOB_PAUSE = "job.pause"
    JOB_RESUME = "job.resume"
    JOB_HISTORY = "job.history"
    JOB_EDIT = "job.edit"
    JOB_DELETE = "job.delete"
    JOB_DELETE_CONFIRM = "job.delete_confirm"
    JOB_DELETE_CANCEL = "job.delete_cancel"
    LIST_MORE = "list.more"
    ALERT_ACK = "alert.ack"
    ALERT_PAUSE = "alert.pause"
    ALERT_MUTE = "alert.mute"
    ALERT_HISTORY = "alert.history"
    HOME_REFRESH = "home.refresh"  # the Home tab: read the job lists again and re-publish
    HOME_UNMUTE = "home.unmute"  # the Home tab's muted jobs (value: JobValue)
    CREATE_KIND = "create.kind"  # Cronhub: scheduler or monitor (read on submit)
    FORM_SCHEDULE_TYPE = "form.schedule_type"  # dispatches: re-render cron vs interval fields


class CallbackId(StrEnum):
    CREATE = "job.create"
    EDIT = "job.edit"
    CREATE_KIND = "job.create_kind"
    ADDON_CREATE = "addon.create"


class BlockId(StrEnum):
    """Modal input blocks. Each input's action_id equals its block_id, except the two radios
    that carry an :class:`ActionId` (``KIND`` and ``SCHEDULE_TYPE``)."""

    KIND = "kind"
    APP = "app"
    NAME = "name"
    URL = "url"
    HTTP_METHOD = "http_method"
    HTTP_BODY = "http_body"
    SCHEDULE_TYPE = "schedule_type"
    CRON = "cron"
    TIMEZONE = "timezone"
    INTERVAL_EVERY = "interval_every"
    INTERVAL_UNIT = "interval_unit"
    MIGET_INTERVAL = "miget_interval"
    DAILY_TIME = "daily_time"
    GRACE_PERIOD = "grace_period"
    PERIOD = "period"
    MANIFEST = "manifest"
    COMMAND = "command"
    ENABLED = "enabled"
    ADDON_TYPE = "addon_type"
    ADDON_NAME = "addon_name"
    ADDON_LABEL = "addon_label"
    ADDON_VERSION = "addon_version"
    ADDON_RAM = "addon_ram"
    ADDON_DISK = "addon_disk"
    ADDON_MOUNT_POINT = "addon_mount_point"
    ADDON_STORAGE_ACCESS = "addon_storage_access"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def load(cls, raw: str) -> Self:
        return cls.model_validate_json(raw)


class JobValue(_Value):
    """Value of every per-job button."""

    ref: str


class PageValue(_Value):
    """A `/cron list` query and where the page starts: the "More" button's value."""

    account: str | None = None
    status: str | None = None  # failing | paused | active
    text: str | None = None
    offset: int = Field(default=0, ge=0)


class IncidentValue(_Value):
    """Value of the alert buttons."""

    incident_id: int
    ref: str


METADATA_LIMIT = 3000  # characters of a view's private_metadata
APP_LIMIT = 150  # characters of a select option's value: longer app ids cannot be chosen
APPS_MAX = 100  # options in a select


class ModalMeta(_Value):
    """A modal's ``private_metadata``: which account and job kind the form is for.

    Slack keeps at most 3000 characters of it: ``apps`` holds as many of the account's Miget
    applications as fit (at most 100, the options of a select), ``more_apps`` counts the rest.
    """

    account: str
    provider: str  # cronjob-org | cronhub | djinn | miget
    kind: str  # a JobKind value, "addon", or "" while Cronhub's kind is not chosen yet
    ref: str | None = None  # set when editing
    channel: str | None = None  # where the command was typed, for the in-channel post
    apps: list[str] = Field(default_factory=list)  # Miget application UUIDs
    more_apps: int = 0  # applications left out: they did not fit
    #: Edit modals: the inputs (block ids) left empty because the job's value does not fit
    #: them; submitted empty, they keep that value (:func:`bot.slack.forms.left_to_keep`).
    kept: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _fit(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not data.get("apps"):
            return data
        given = list(data["apps"])
        rest = {k: v for k, v in data.items() if k not in ("apps", "more_apps")}
        room = METADATA_LIMIT - len(json.dumps(rest)) - len(',"apps":[],"more_apps":99999') - 20
        kept: list[str] = []
        size = 2  # []
        for app in (a for a in given if 0 < len(a) <= APP_LIMIT):
            size += len(json.dumps(app)) + 2
            if len(kept) == APPS_MAX or size > room:
                break
            kept.append(app)
        dropped = data.get("more_apps", 0) + len(given) - len(kept)
        return {**data, "apps": kept, "more_apps": dropped}
