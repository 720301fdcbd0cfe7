"""Job messages: the detail card, execution history, delete confirmation, and their texts.

``job_list`` (in :mod:`bot.slack.render.lists`), ``change_text`` (in
:mod:`bot.slack.render.changes`) and the plain messages (in :mod:`bot.slack.render.messages`)
are re-exported here so listeners import jobs from one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.slack.render.changes import change_text
from bot.slack.render.conceal import masked, shown_url
from bot.slack.render.ids import ActionId, JobValue
from bot.slack.render.lists import job_list
from bot.slack.render.messages import (
    MESSAGE_BLOCKS,
    error,
    help_blocks,
    mrkdwn,
    notice,
    packed_sections,
    section,
)
from bot.slack.render.text import (
    KIND_LABELS,
    ago,
    code,
    duration,
    escape,
    fit,
    header_text,
    inline,
    job_name,
    job_status,
    kind_label,
    link,
    one_line,
    provider_label,
    ref_code,
    result_icon,
    schedule_line,
    shown_ref,
    slack_date,
    truncate,
)
from providers.base import UNSUPPORTED_SENTENCES, Capability, Execution, Job
from providers.schedule import ScheduleKind

__all__ = [
    "card_buttons",
    "card_text",
    "change_text",
    "delete_confirm",
    "delete_text",
    "error",
    "help_blocks",
    "history_blocks",
    "history_text",
    "job_card",
    "job_list",
    "notice",
]

FIELD_LIMIT = 2000  # characters in one section field
CONTEXT_LIMIT = 2000  # characters in one context element
CONFIRM_LIMIT = 300  # characters of a confirmation dialog's text
VALUE_LIMIT = 2000  # characters of a button's value
COMMAND_LIMIT = 1500
MANIFEST_LINES = 8
_NO_BUTTONS = "This job's id is too long for Slack's buttons; delete it at the provider."


def job_card(job: Job, *, now: datetime, note: str | None = None) -> list[Block]:
    """Everything about one job, with buttons for exactly what its provider can do."""
    blocks: list[Block] = [
        HeaderBlock(text=header_text(job.name)),
        SectionBlock(fields=[mrkdwn(fit(f, FIELD_LIMIT)) for f in _card_fields(job, now)]),
    ]
    target = _target(job)
    if target:
        blocks.append(section(target))
    if job.details:
        details = [_detail(label, value) for label, value in job.details[:10]]
        blocks.append(SectionBlock(fields=[mrkdwn(fit(d, FIELD_LIMIT)) for d in details]))
    context = _card_context(job, note)
    if context:
        blocks.append(ContextBlock(elements=[mrkdwn(fit(c, CONTEXT_LIMIT)) for c in context]))
    buttons = card_buttons(job)
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return blocks


def card_text(job: Job) -> str:
    """The card's notification text: ``nightly-backup (prod:4242)``."""
    return f"{job_name(job.name, 150)} ({shown_ref(job)})"


def history_text(job: Job) -> str:
    return f"History of {shown_ref(job)}"


def delete_text(job: Job) -> str:
    return f"Delete {shown_ref(job)}?"


def card_buttons(job: Job) -> list[ButtonElement]:
    """Pause/Resume, History, Edit, Delete — only those the job's provider declares (none for
    a ref too long for a button to carry)."""
    value = JobValue(ref=job.ref).dump()
    if len(value) > VALUE_LIMIT:
        return []
    buttons: list[ButtonElement] = []
    if not job.paused and job.can(Capability.PAUSE):
        buttons.append(_button("Pause", ActionId.JOB_PAUSE, value))
    if job.paused and job.can(Capability.RESUME):
        buttons.append(_button("Resume", ActionId.JOB_RESUME, value, style="primary"))
    if job.can(Capability.HISTORY):
        buttons.append(_button("History", ActionId.JOB_HISTORY, value))
    if job.can(Capability.UPDATE):
        buttons.append(_button("Edit", ActionId.JOB_EDIT, value))
    if job.can(Capability.DELETE):
        confirm = ConfirmObject(
            title="Delete this job?",
            text=fit(_delete_question(job), CONFIRM_LIMIT),
            confirm="Delete",
            deny="Cancel",
            style="danger",
        )
        buttons.append(_button("Delete", ActionId.JOB_DELETE, value, "danger", confirm))
    return buttons


def history_blocks(job: Job, executions: Sequence[Execution], *, now: datetime) -> list[Block]:
    """Recent executions, one line each: time, result, HTTP status, duration, build link."""
    head = f"*History* of *{job_name(job.name, 150)}* {ref_code(job)}"
    if not executions:
        return [section(f"{head}\nNo executions recorded yet.")]
    latest = max(execution.time for execution in executions)
    count = len(executions)
    head += f" — last {count} execution{'s' if count != 1 else ''}, latest {ago(latest, now)}"
    lines = [_execution_line(execution, job.ref) for execution in executions]
    return [section(head), *packed_sections(lines, MESSAGE_BLOCKS - 1)]


def delete_confirm(job: Job) -> list[Block]:
    """The `/cron delete REF` question, with Delete and Cancel buttons."""
    value = JobValue(ref=job.ref).dump()
    if len(value) > VALUE_LIMIT:
        return [section(_delete_question(job)), section(_NO_BUTTONS)]
    buttons = [
        _button("Delete", ActionId.JOB_DELETE_CONFIRM, value, style="danger"),
        _button("Cancel", ActionId.JOB_DELETE_CANCEL, value),
    ]
    return [section(_delete_question(job)), ActionsBlock(elements=buttons)]


def _button(
    text: str,
    action: ActionId,
    value: str,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=text, action_id=action.value, value=value, style=style, confirm=confirm
    )


def _delete_question(job: Job) -> str:
    return f"Delete {ref_code(job)} {job_name(job.name, 120)}? This cannot be undone."


def _card_fields(job: Job, now: datetime) -> list[str]:
    fields = [
        f"*Ref*\n{ref_code(job)}",
        f"*Account*\n`{escape(job.account)}` · {escape(kind_label(job))}",
        f"*Status*\n{job_status(job)}",
        f"*Schedule*\n{_schedule_text(job)}",
        f"*Next runs*\n{_next_runs(job, now)}",
        f"*Last run*\n{_last_run(job, now)}",
    ]
    if job.grace_period is not None:
        fields.append(f"*Grace period*\n{job.grace_period} min")
    return fields


def _schedule_text(job: Job) -> str:
    text = escape(schedule_line(job))
    if job.schedule is not None and job.schedule.kind is ScheduleKind.CRON and job.schedule.cron:
        text += f"\n{code(job.schedule.cron)}"
    return text


def _next_runs(job: Job, now: datetime) -> str:
    if job.paused:
        return "none while paused"
    runs = job.upcoming(now, 3)
    return "\n".join(slack_date(run) for run in runs) or "not reported by the provider"


def _last_run(job: Job, now: datetime) -> str:
    if job.last_run is None:
        return "never ran"
    lines = [f"{slack_date(job.last_run)} ({ago(job.last_run, now)})"]
    result = f"{result_icon(job.last_result)} {escape(job.last_status or job.last_result.value)}"
    if job.last_duration_ms is not None:
        result += f" · {duration(job.last_duration_ms)}"
    return "\n".join([*lines, result])


def _target(job: Job) -> str:
    """What the job runs: the URL it calls, its command, or its Djinn manifest's first lines."""
    url = shown_url(job.url, job.ref)
    if url:
        method = f"{one_line(job.http_method).upper()} " if job.http_method else ""
        return f"*Calls* `{escape(truncate(method + one_line(url), 1000))}`"
    if job.command:
        command = truncate(masked(truncate(job.command, 2 * COMMAND_LIMIT)), COMMAND_LIMIT)
        return f"*Command*\n```{escape(command)}```"
    if job.manifest:
        lines = job.manifest.strip("\n").splitlines()
        head = [truncate(masked(line[:400]), 200) for line in lines[:MANIFEST_LINES]]
        title = "*Manifest*"
        if len(lines) > MANIFEST_LINES:
            title += f" (first {MANIFEST_LINES} of {len(lines)} lines)"
        return f"{title}\n```{escape(chr(10).join(head))}```"
    return ""


def _detail(label: str, value: str) -> str:
    """A provider's extra field; its value masked, as commands are."""
    shown = truncate(masked(truncate(value, 2 * FIELD_LIMIT)), FIELD_LIMIT)
    return f"*{inline(label, 200) or '…'}*\n{escape(shown)}"


def _card_context(job: Job, note: str | None) -> list[str]:
    context: list[str] = []
    if note:
        context.append(note)
    if job.paused and not job.can(Capability.RESUME):
        what = f"{KIND_LABELS.get(job.kind, 'job')}s"
        sentence = UNSUPPORTED_SENTENCES[Capability.RESUME].format(what=what)
        context.append(f"{provider_label(job.provider)} {sentence}.")
    url = shown_url(job.link, job.ref)
    if url:
        context.append(link(url, f"Open in {provider_label(job.provider)}"))
    return context


def _execution_line(execution: Execution, ref: str) -> str:
    result = execution.result
    parts = [slack_date(execution.time), f"{result_icon(result)} *{result.value}*"]
    if execution.status_text and execution.status_text.lower() != result.value:
        parts[-1] += f" — {inline(execution.status_text, 120)}"
    if execution.http_status is not None:
        parts.append(f"HTTP {execution.http_status}")
    if execution.duration_ms is not None:
        parts.append(duration(execution.duration_ms))
    url = shown_url(execution.url, ref)
    if url:
        parts.append(link(url, "build"))
    return " · ".join(parts)
