"""mrkdwn pieces shared by the builders: Slack dates, escaping, refs, icons, schedules, times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.chat.durations import humanize
from bot.slack.render.conceal import short_ref
from providers.base import Job, JobKind, RunResult
from providers.schedule import ScheduleKind

PROVIDER_LABELS: dict[str, str] = {
    "cronjob-org": "cron-job.org",
    "cronhub": "Cronhub",
    "djinn": "Djinn CI",
    "miget": "Miget",
}

KIND_LABELS: dict[JobKind, str] = {
    JobKind.JOB: "job",
    JobKind.SCHEDULER: "scheduler",
    JobKind.MONITOR: "monitor",
    JobKind.CRON: "cron",
    JobKind.CRONJOB: "cron job",
}

RESULT_ICONS: dict[RunResult, str] = {
    RunResult.OK: "✅",
    RunResult.FAILED: "❌",
    RunResult.WARNING: "⚠️",
    RunResult.RUNNING: "⏳",
    RunResult.NONE: "▫️",
    RunResult.UNKNOWN: "❔",
}


def provider_label(slug: str) -> str:
    return PROVIDER_LABELS.get(slug, slug)


def slack_date(dt: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """``<!date^UNIX^FMT|2026-11-23 14:05 UTC>``: each reader sees their own timezone.

    A naive datetime is taken to be UTC.
    """
    aware = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    fallback = aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(aware.timestamp())}^{fmt}|{fallback}>"


def escape(text: str) -> str:
    """Escape Slack's three control characters so user text cannot form links or mentions.

    The one escaping helper: every renderer passes provider and user text through it exactly
    once, on its way into mrkdwn (a message's ``text`` included). Text Slack sent us escaped
    (command text) is decoded first (:func:`bot.chat.grammar.parse`), so ``&amp;`` never
    becomes ``&amp;amp;``.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def job_name(name: str, limit: int) -> str:
    """A job's name for mrkdwn: shortened to ``limit`` characters, then escaped."""
    return escape(truncate(name, limit))


def code(text: str) -> str:
    """Inline code, escaped: a cron expression, an account."""
    return f"`{escape(text)}`"


def shown_ref(ref: Job | str) -> str:
    """A ref as messages show it (a trailing UUID cut to 8 characters), escaped."""
    return escape(short_ref(ref))


def ref_code(ref: Job | str) -> str:
    """A ref (or a subscription target) as messages show it, as code: ``hub:monitor/b5e5e820…``."""
    return f"`{shown_ref(ref)}`"


def link(url: str, label: str) -> str:
    """A mrkdwn link; the label is escaped and ``|`` cannot end the URL early."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def result_icon(result: RunResult) -> str:
    return RESULT_ICONS[result]


def is_failing(job: Job) -> bool:
    return not job.paused and job.last_result is RunResult.FAILED


def status_icon(job: Job) -> str:
    if job.paused:
        return "⏸️"
    return "🔴" if is_failing(job) else "🟢"


def job_status(job: Job) -> str:
    """``⏸️ paused``, ``🔴 failing`` or ``🟢 active``."""
    if job.paused:
        return "⏸️ paused"
    return "🔴 failing" if is_failing(job) else "🟢 active"


def schedule_line(job: Job) -> str:
    """The schedule in words with its timezone: ``Every 15 minutes (Europe/Berlin)``.

    Djinn periods already say "UTC" in their words; plain intervals have no timezone.
    """
    schedule = job.schedule
    if schedule is None:
        return "no schedule"
    words = schedule.describe()
    if schedule.kind is ScheduleKind.PERIOD:
        return words
    if schedule.kind is ScheduleKind.INTERVAL and not schedule.at:
        return words
    return f"{words} ({schedule.timezone})"


def ago(dt: datetime, now: datetime) -> str:
    """``2 h 14 min ago`` (or ``in 5 min`` for a time still ahead)."""
    delta = now - dt
    if delta < timedelta(0):
        return f"in {humanize(-delta)}"
    return f"{humanize(delta)} ago"


def duration(ms: int) -> str:
    """``850 ms``, ``1.2 s``, ``2 min``, ``1 h 5 min``."""
    if ms < 1000:
        return f"{max(ms, 0)} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return humanize(timedelta(milliseconds=ms))


def kind_label(job: Job) -> str:
    return f"{provider_label(job.provider)} {KIND_LABELS.get(job.kind, job.kind.value)}"
