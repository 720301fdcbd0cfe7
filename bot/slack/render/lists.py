"""`/cron list`: a summary, one compact section per job, failed accounts, and "More"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    SectionBlock,
)

from bot.chat.durations import humanize
from bot.slack.render.conceal import short_ref
from bot.slack.render.ids import ActionId, JobValue, PageValue
from bot.slack.render.messages import SECTION_LIMIT, mrkdwn, section
from bot.slack.render.text import (
    escape,
    fit,
    inline,
    is_failing,
    job_name,
    ref_code,
    result_icon,
    schedule_line,
    slack_date,
    status_icon,
)
from providers.base import Job, RunResult

VALUE_LIMIT = 2000  # characters of a button's value
MAX_FAILURE_LINES = 10  # a context block holds at most 10 elements
MAX_ROWS = 45  # 50 blocks per message, less summary, failures, age and "More"


def job_list(
    jobs: Sequence[Job],
    *,
    now: datetime,
    page: PageValue,
    page_size: int = 15,
    failures: Sequence[tuple[str, str]] = (),
    as_of: datetime | None = None,
) -> list[Block]:
    """One page of jobs. ``jobs`` is the whole filtered list; ``page.offset`` picks the page.

    ``failures`` are ``(account, message)`` for accounts that could not be listed; the message
    (a provider error's ``user_message``) names the provider.
    """
    shown = jobs[page.offset : page.offset + min(page_size, MAX_ROWS)]
    blocks: list[Block] = [_summary(jobs, page, len(shown)) if jobs else _empty(page)]
    blocks += [_row(job, now) for job in shown]
    if failures:
        blocks.append(_failures(failures))
    if as_of is not None:
        age = humanize(max(now - as_of, timedelta(0)))
        blocks.append(ContextBlock(elements=[mrkdwn(f"🕒 as of {age} ago")]))
    remaining = len(jobs) - page.offset - len(shown)
    if remaining > 0 and shown:
        blocks.append(_more(page, page.offset + len(shown), remaining))
    return blocks


def filter_words(page: PageValue) -> str:
    """``account `prod` · failing · matching “backup”``, or "" without a filter."""
    parts = []
    if page.account:
        parts.append(f"account `{inline(page.account, 100)}`")
    if page.status:
        parts.append(inline(page.status, 20))
    if page.text:
        parts.append(f"matching “{inline(short_ref(page.text), 100)}”")
    return " · ".join(parts)


def _summary(jobs: Sequence[Job], page: PageValue, count: int) -> SectionBlock:
    failing = sum(1 for job in jobs if is_failing(job))
    paused = sum(1 for job in jobs if job.paused)
    noun = "job" if len(jobs) == 1 else "jobs"
    text = f"*{len(jobs)} {noun}* · {failing} failing · {paused} paused"
    words = filter_words(page)
    if words:
        text += f" — {words}"
    if count < len(jobs):
        text += f"\nShowing {page.offset + 1}–{page.offset + count}"
    return section(text)


def _empty(page: PageValue) -> SectionBlock:
    words = filter_words(page)
    if words:
        return section(f"No jobs found — {words}.")
    return section("No jobs found in any account.")


def _row(job: Job, now: datetime) -> SectionBlock:
    head = f"{status_icon(job)} *{job_name(job.name, 150)}* {ref_code(job)}"
    parts = [escape(schedule_line(job)), _last_run(job, now), _next_run(job, now)]
    text = head + "\n" + " · ".join(part for part in parts if part)
    value = JobValue(ref=job.ref).dump()
    if len(value) > VALUE_LIMIT:  # no button can carry the ref
        return SectionBlock(text=mrkdwn(fit(text, SECTION_LIMIT)))
    button = ButtonElement(text="Show", action_id=ActionId.JOB_SHOW.value, value=value)
    return SectionBlock(text=mrkdwn(fit(text, SECTION_LIMIT)), accessory=button)


def _last_run(job: Job, now: datetime) -> str:
    if job.last_run is None:
        return "never ran" if job.last_result is RunResult.NONE else result_icon(job.last_result)
    text = f"last {slack_date(job.last_run)} {result_icon(job.last_result)}"
    if job.last_result in (RunResult.FAILED, RunResult.WARNING) and job.last_status:
        text += f" {inline(job.last_status, 80)}"
    return text


def _next_run(job: Job, now: datetime) -> str:
    if job.paused:
        return "paused"
    upcoming = job.upcoming(now, 1)
    return f"next {slack_date(upcoming[0])}" if upcoming else ""


def _failures(failures: Sequence[tuple[str, str]]) -> ContextBlock:
    lines = [
        f"⚠️ `{inline(account, 100)}` could not be listed: {inline(message, 300)}"
        for account, message in failures
    ]
    if len(lines) > MAX_FAILURE_LINES:
        rest = len(lines) - MAX_FAILURE_LINES + 1
        lines = [*lines[: MAX_FAILURE_LINES - 1], f"⚠️ … and {rest} more accounts"]
    return ContextBlock(elements=[mrkdwn(line) for line in lines])


def _more(page: PageValue, offset: int, remaining: int) -> Block:
    value = page.model_copy(update={"offset": offset}).dump()
    if len(value) > VALUE_LIMIT:  # a filter too long for a button to carry
        return ContextBlock(elements=[mrkdwn(f"… {remaining} more: narrow the filter to see them")])
    button = ButtonElement(
        text=f"More ({remaining} left)", action_id=ActionId.LIST_MORE.value, value=value
    )
    return ActionsBlock(elements=[button])
