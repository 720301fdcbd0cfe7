"""The `/cron` commands as data: one frozen dataclass per command, and the help table.

``Command`` is what ``bot.commands.parse`` returns and what the listeners match on. The help
table is the single source of each command's usage line (``USAGE``) and of ``/cron help``
(``HELP_TEXT``). Pure: no I/O, no clock, no Slack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, get_args

JobStatus = Literal["failing", "paused", "active"]
STATUSES: tuple[str, ...] = get_args(JobStatus)
HISTORY_DEFAULT = 10
HISTORY_MAX = 50


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class ListJobs:
    account: str | None = None
    status: JobStatus | None = None
    text: str | None = None


@dataclass(frozen=True)
class Show:
    ref: str


@dataclass(frozen=True)
class History:
    ref: str
    limit: int = HISTORY_DEFAULT


@dataclass(frozen=True)
class Pause:
    ref: str
    duration: timedelta | None = None


@dataclass(frozen=True)
class Resume:
    ref: str


@dataclass(frozen=True)
class Create:
    account: str | None = None


@dataclass(frozen=True)
class Edit:
    ref: str


@dataclass(frozen=True)
class Delete:
    ref: str


@dataclass(frozen=True)
class AddonCreate:
    account: str


@dataclass(frozen=True)
class Status:
    pass


@dataclass(frozen=True)
class Subscribe:
    target: str | None = None


@dataclass(frozen=True)
class Unsubscribe:
    target: str | None = None


@dataclass(frozen=True)
class Subscriptions:
    pass


@dataclass(frozen=True)
class Mute:
    ref: str
    duration: timedelta | None = None


@dataclass(frozen=True)
class Unmute:
    ref: str


Command = (
    Help | ListJobs | Show | History | Pause | Resume | Create | Edit | Delete | AddonCreate
    | Status | Subscribe | Unsubscribe | Subscriptions | Mute | Unmute
)  # fmt: skip

# name, syntax, what it does, example — the single source of USAGE and HELP_TEXT
_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("help", "/cron help [COMMAND]", "usage, with examples", "/cron help pause"),
    ("list", "/cron list [ACCOUNT] [failing|paused|active] [TEXT]",
     "every job across accounts, paged", "/cron list prod failing"),
    ("show", "/cron show REF", "a job's card: Pause/Resume, History, Edit, Delete",
     "/cron show prod:4242"),
    ("history", "/cron history REF [N]", f"the last N executions (default {HISTORY_DEFAULT})",
     "/cron history prod:4242 20"),
    ("pause", "/cron pause REF [DURATION]",
     "the provider stops running the job; with a duration the bot resumes it afterwards",
     "/cron pause prod:4242 2h"),
    ("resume", "/cron resume REF", "the provider runs the job again", "/cron resume prod:4242"),
    ("create", "/cron create [ACCOUNT]", "a form to create a job", "/cron create prod"),
    ("edit", "/cron edit REF", "the same form, filled in", '/cron edit "nightly backup"'),
    ("delete", "/cron delete REF", "asks to confirm, then deletes", "/cron delete prod:4242"),
    ("addon", "/cron addon create ACCOUNT",
     "Miget: a form to create an add-on (postgres, mysql, valkey, storage)",
     "/cron addon create apps"),
    ("status", "/cron status", "each account: reachable, auth ok, requests used / budget",
     "/cron status"),
    ("subscribe", "/cron subscribe [ACCOUNT|REF|TEXT]",
     "send alerts for matching jobs to this channel", "/cron subscribe prod"),
    ("unsubscribe", "/cron unsubscribe [ACCOUNT|REF|TEXT]", "stop sending them here",
     "/cron unsubscribe prod"),
    ("subscriptions", "/cron subscriptions", "what this channel is subscribed to",
     "/cron subscriptions"),
    ("mute", "/cron mute REF [DURATION]",
     "the bot stops alerting on the job (it keeps running), until it recovers or for DURATION",
     "/cron mute prod:4242 1h"),
    ("unmute", "/cron unmute REF", "the bot alerts on the job again", "/cron unmute prod:4242"),
)  # fmt: skip

USAGE: dict[str, str] = {name: f"`{syntax}` — e.g. `{ex}`" for name, syntax, _, ex in _TABLE}
HELP_TEXT = "\n".join(
    [f"`{syntax}` — {does}; e.g. `{ex}`" for _, syntax, does, ex in _TABLE]
    + [
        "REF is a job's ref as lists show it (`prod:4242`) or its name; quote names with "
        'spaces: `"nightly backup"`. DURATION: `30m`, `2h`, `1d`, `1h30m` (at least 1m).'
    ]
)
