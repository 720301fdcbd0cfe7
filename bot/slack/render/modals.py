"""Modals: create/edit a job (fields per provider and kind), Cronhub's kind picker, Miget
add-ons, and close-only progress/result views. Parsing submissions is in
:mod:`bot.slack.forms` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack.forms import (
    ADDON_TYPES,
    ADDON_VERSIONS,
    NAME_MAX,
    STORAGE_ACCESS,
    FormErrors,
    parse_addon_form,
    parse_job_form,
    parse_kind,
    unfilled,
)
from bot.slack.render.ids import ActionId, BlockId, CallbackId, ModalMeta
from bot.slack.render.inputs import (
    close_only,
    error_section,
    number_input,
    radio_input,
    select_input,
    text_input,
)
from bot.slack.render.job_fields import FIELDS, app_select, schedule_type_of
from bot.slack.render.messages import section
from bot.slack.render.text import escape, one_line, truncate
from providers.base import JobKind, JobSpec

__all__ = [
    "FormErrors",
    "addon_modal",
    "answer_modal",
    "job_modal",
    "kind_picker",
    "parse_addon_form",
    "parse_job_form",
    "parse_kind",
    "progress_modal",
    "result_modal",
]

VIEW_BLOCKS = 100  # blocks in a modal

TITLES: dict[tuple[str, JobKind], str] = {
    ("cronjob-org", JobKind.JOB): "New cron-job.org job",
    ("cronhub", JobKind.SCHEDULER): "New Cronhub scheduler",
    ("cronhub", JobKind.MONITOR): "New Cronhub monitor",
    ("djinn", JobKind.CRON): "New Djinn CI cron",
    ("miget", JobKind.CRONJOB): "New Miget cron job",
}


def job_modal(
    meta: ModalMeta,
    *,
    current: JobSpec | None = None,
    schedule_type: str | None = None,
    error: str | None = None,
) -> View:
    """Create (``current`` None) or edit modal for ``meta``'s provider and job kind.

    ``schedule_type`` ("cron"/"interval") re-renders after the schedule-type radio changes;
    ``error`` is a provider's refusal after submit, shown at the top.
    """
    key = (meta.provider, JobKind(meta.kind))
    if key not in FIELDS:
        raise ValueError(f"no job form for {meta.provider} {meta.kind}")
    stype = schedule_type or schedule_type_of(current)
    blocks: list[Block] = [error_section(escape(error))] if error else []
    blocks += FIELDS[key](meta, current, stype)
    editing = current is not None
    if current is not None:  # the inputs the job's values do not fit: left empty, they keep them
        shown = {getattr(block, "block_id", None) for block in blocks}
        kept = [block.value for block in unfilled(current) if block.value in shown]
        meta = ModalMeta.model_validate({**meta.model_dump(), "kept": kept})
    return View(
        type="modal",
        callback_id=(CallbackId.EDIT if editing else CallbackId.CREATE).value,
        title="Edit job" if editing else TITLES[key],
        submit="Save" if editing else "Create",
        close="Cancel",
        private_metadata=meta.dump(),
        blocks=blocks,
    )


def kind_picker(meta: ModalMeta) -> View:
    """Cronhub: choose scheduler or monitor before the real form."""
    choices = (
        (JobKind.SCHEDULER.value, "Scheduler — calls a URL on a schedule"),
        (JobKind.MONITOR.value, "Monitor — expects pings from your job"),
    )
    radio = radio_input(
        BlockId.KIND, "What do you want to create?", choices, action_id=ActionId.CREATE_KIND.value
    )
    return View(
        type="modal",
        callback_id=CallbackId.CREATE_KIND.value,
        title="New Cronhub job",
        submit="Next",
        close="Cancel",
        private_metadata=meta.dump(),
        blocks=[radio],
    )


def addon_modal(meta: ModalMeta) -> View:
    """Miget: create a postgres, mysql, valkey or storage add-on."""
    versions = " · ".join(f"{kind}: {', '.join(v)}" for kind, v in ADDON_VERSIONS.items())
    blocks: list[Block] = [
        *app_select(meta),
        select_input(BlockId.ADDON_TYPE, "Type", [(t, t) for t in ADDON_TYPES]),
        text_input(BlockId.ADDON_NAME, "Name", max_length=NAME_MAX, hint=_SUFFIX_HINT),
        text_input(BlockId.ADDON_LABEL, "Label", hint="The name people see in Miget."),
        text_input(
            BlockId.ADDON_VERSION,
            "Version",
            optional=True,
            hint=f"Required for databases. {versions}. Not used for storage.",
        ),
        number_input(BlockId.ADDON_RAM, "RAM (MiB)", minimum=1, decimal=True, optional=True),
        number_input(BlockId.ADDON_DISK, "Disk (GiB)", minimum=1, decimal=True, optional=True),
        text_input(
            BlockId.ADDON_MOUNT_POINT,
            "Mount point",
            placeholder="/data",
            optional=True,
            hint="Storage only: where the volume is mounted in the app.",
        ),
        select_input(
            BlockId.ADDON_STORAGE_ACCESS,
            "Storage access",
            [(a, a) for a in STORAGE_ACCESS],
            optional=True,
            hint="Storage only: RWO = one instance writes, RWX = all instances.",
        ),
    ]
    return View(
        type="modal",
        callback_id=CallbackId.ADDON_CREATE.value,
        title="New Miget add-on",
        submit="Create",
        close="Cancel",
        private_metadata=meta.dump(),
        blocks=blocks,
    )


def progress_modal(title: str, text: str) -> View:
    """Shown while a slow provider call runs (``response_action: update``); ``text`` is a plain
    sentence (it may name an account), escaped here."""
    return close_only(title, f"⏳ {escape(text)}")


def answer_modal(title: str, blocks: Sequence[Block | dict[str, Any]]) -> View:
    """A reply's blocks in a close-only modal: what a button on the Home tab answers (there is
    no channel to answer in); ``title`` is plain text written by the bot."""
    shown = list(blocks)[:VIEW_BLOCKS] or [section("Nothing to show.")]
    title = truncate(one_line(title), 24) or "cronops"
    return View(type="modal", title=title, close="Close", blocks=shown)


def result_modal(title: str, text: str) -> View:
    """The last view of a modal; ``text`` is mrkdwn from :mod:`bot.slack.render.changes` or
    :mod:`bot.slack.render.problems`."""
    return close_only(title, text, close="Done")


_SUFFIX_HINT = "Miget adds a random suffix, e.g. db → db-pfhqv."
