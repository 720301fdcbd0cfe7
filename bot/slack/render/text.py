"""mrkdwn pieces shared by the builders: Slack dates, escaping, refs, icons, schedules, times."""

from __future__ import annotations

import re
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


HEADER_LIMIT = 150  # characters of a header block
REF_LIMIT = 200  # characters of a ref or a target shown as code
LINK_URL_LIMIT = 1000  # longer URLs are not linked: a section holds 3000 characters
NO_NAME = "(no name)"
TOKEN_REACH = LINK_URL_LIMIT * 5 + 100  # the longest <…> token the bot writes, escaped
_TOKEN = re.compile(r"<[^<>]*>|&(?:amp|lt|gt);")
_BREAK_CHARS = re.compile(r"[\r\n\v\f\u2028\u2029\x85]")
_BREAKS = re.compile(r"\s*[\r\n\v\f\u2028\u2029\x85]+\s*")


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


def inline(text: str, limit: int) -> str:
    """Provider or user text for one line of mrkdwn: on one line, shortened, escaped."""
    return escape(truncate(one_line(text), limit))


def job_name(name: str, limit: int) -> str:
    """A job's name for one line of mrkdwn (``(no name)`` for a blank one)."""
    return inline(name, limit) or NO_NAME


def header_text(name: str) -> str:
    """A name as a header's plain text: one line of at most 150 characters, never empty."""
    return truncate(one_line(name), HEADER_LIMIT) or NO_NAME


def code(text: str) -> str:
    """Inline code, escaped: a cron expression, an account."""
    return f"`{escape(truncate(one_line(text), REF_LIMIT))}`"


def shown_ref(ref: Job | str) -> str:
    """A ref as messages show it (a trailing UUID cut to 8 characters), escaped."""
    return escape(truncate(one_line(short_ref(ref)), REF_LIMIT))


def ref_code(ref: Job | str) -> str:
    """A ref (or a subscription target) as messages show it, as code: ``hub:monitor/b5e5e820…``."""
    return f"`{shown_ref(ref)}`"


def link(url: str, label: str) -> str:
    """A mrkdwn link; the label is escaped and ``|`` cannot end the URL early. A URL too long
    to fit a message is left out: the label alone."""
    if len(url) > LINK_URL_LIMIT:
        return escape(label)
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def truncate(text: str, limit: int) -> str:
    """Plain text shortened to ``limit`` characters, the last one "…"."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def fit(text: str, limit: int) -> str:
    """mrkdwn shortened to ``limit`` characters with "…", never cutting a link, a mention, a
    date or an escaped character (``&lt;``) in two."""
    if len(text) <= limit:
        return text
    return text[: safe_cut(text, limit - 1)] + "…"


def safe_cut(text: str, at: int) -> int:
    """The last index up to ``at`` that is not inside a ``<…>`` token or an entity."""
    for token in _TOKEN.finditer(text, max(0, at - TOKEN_REACH)):
        if token.start() >= at:
            break
        if token.end() > at:
            return token.start()
    return at


def one_line(text: str) -> str:
    """Line breaks (and the blanks around them) as one space: names that stay on their line."""
    return _BREAKS.sub(" ", text).strip() if _BREAK_CHARS.search(text) else text.strip()


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
