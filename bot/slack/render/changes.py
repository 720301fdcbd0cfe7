"""What the bot says about a change: the channel announcement, the audit post, the answers
that close a change (a flipped card, a deleted job, a saved modal) and timed resumes.

Every sentence names who (a mention that works), what and which job; the job's name and ref
are escaped, so a job named ``<!channel>`` pings nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.chat.durations import humanize
from bot.slack.render.text import inline, job_name, ref_code, shown_ref, slack_date
from providers.base import Job

NAME_LIMIT = 200  # characters of a job's name in a sentence


def change_text(actor_id: str, verb: str, job: Job) -> str:
    """``<@U1> paused `prod:4242` nightly-backup`` for the channel and the audit log."""
    return f"<@{actor_id}> {verb} {ref_code(job)} {job_name(job.name, NAME_LIMIT)}"


def delayed_text(announcement: str) -> str:
    """Told to whoever made a change whose announcement Slack is slow to take: it follows."""
    return f"{announcement}\n_(Slack is slow to take the post in the channel; it follows shortly.)_"


def audit_text(actor_id: str, action: str, job: Job | str) -> str:
    """The audit channel's line: who did what to which job (or to a bare ref)."""
    if isinstance(job, str):
        return f"<@{actor_id}> {inline(action, 100)} {ref_code(job)}"
    return change_text(actor_id, inline(action, 100), job)


def by_line(verb: str, actor_id: str, when: datetime) -> str:
    """``Paused by <@U1> <!date^…>``: who pressed a button, and when."""
    return f"{verb} by <@{actor_id}> {slack_date(when)}"


def flipped_text(verb: str, job: Job) -> str:
    """The notification of a card flipped in place: ``Paused prod:4242``."""
    return f"{verb} {shown_ref(job)}"


def deleted_text(job: Job, actor_id: str, when: datetime) -> str:
    by = by_line("deleted", actor_id, when)
    return f"🗑️ Deleted {ref_code(job)} {job_name(job.name, NAME_LIMIT)} — {by}"


def kept_text(ref: str) -> str:
    return f"Kept {ref_code(ref)}; nothing was deleted."


def saved_text(verb: str, job: Job) -> str:
    """A create/edit modal's last word: ``Created `prod:4242` nightly-backup.``"""
    return f"{verb.capitalize()} {ref_code(job)} {job_name(job.name, NAME_LIMIT)}."


def addon_created_text(actor_id: str, addon_type: str, name: str, account: str) -> str:
    what = f"{inline(addon_type, 50)} add-on `{job_name(name, NAME_LIMIT)}`"
    return f"<@{actor_id}> created {what} in `{inline(account, 100)}`"


def paused_text(job: Job, provider_label: str) -> str:
    """The Pause button on an alert: pausing stops the provider from running the job."""
    label = inline(provider_label, 100)
    return f"Paused {ref_code(job)}: {label} will not run it until it is resumed."


def timed_resume_text(job: Job, paused_for: timedelta, requested_by: str) -> str:
    """The thread reply when cronops resumes a job whose timed pause ended."""
    return (
        f"▶️ Resumed {ref_code(job)} {job_name(job.name, NAME_LIMIT)} as planned, "
        f"{humanize(paused_for)} after <@{requested_by}> paused it."
    )


def timed_resume_failed_text(ref: str, problem: str) -> str:
    """``problem`` is mrkdwn from :mod:`bot.slack.render.problems`."""
    return f"⚠️ Could not resume {ref_code(ref)} as planned: {problem}"
