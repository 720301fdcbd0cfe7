"""`/cron` text -> a typed command. Pure: no I/O, no clock, no Slack.

Words split like a shell (``shlex``), so a name with spaces can be quoted, Slack's smart
quotes included. Users forget quotes, so several unquoted words are read as one name
(`/cron pause nightly backup 2h`). Whether a job exists is not decided here: a ref is the
text the user typed, resolved later against the accounts' jobs.

Top to bottom: the commands as data (one frozen dataclass each, :data:`Command`), the help
table (the single source of each usage line, :data:`USAGE`, and of ``/cron help``), then the
parser (:func:`parse`), one small function per command word in :data:`_PARSERS`.
"""

from __future__ import annotations

import difflib
import io
import re
import shlex
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, cast, get_args

from bot.chat.durations import DurationError, parse_duration

JobStatus = Literal["failing", "paused", "active"]
STATUSES: tuple[str, ...] = get_args(JobStatus)
HISTORY_DEFAULT = 10
HISTORY_MAX = 50
TARGET_MAX = 200  # characters of a subscription's target, and of its --except text
EXCEPT = "--except"
EVERYTHING = "*"  # the subscription target of every job

#: What a subscription's target names: every job, an account, one job (its ref), or text in
#: job names.
TargetKind = Literal["all", "account", "job", "text"]


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
    """``target`` None: every job; ``except_text``: leave out jobs whose names contain it."""

    target: str | None = None
    except_text: str | None = None


@dataclass(frozen=True)
class Unsubscribe:
    target: str | None = None
    except_text: str | None = None


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
    ("subscribe", "/cron subscribe [ACCOUNT|REF|TEXT] [--except TEXT]",
     "also send alerts to this channel: of every job, an account, one job (by its ref, even "
     "once renamed) or jobs whose names contain TEXT; `--except` leaves out jobs whose names "
     "contain its text", '/cron subscribe prod --except "staging"'),
    ("unsubscribe", "/cron unsubscribe [ACCOUNT|REF|TEXT] [--except TEXT]",
     "stop one subscription of this channel, named as it was made", "/cron unsubscribe prod:4242"),
    ("subscriptions", "/cron subscriptions",
     "this channel's subscriptions: each with its filter, who made it and when",
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
        'spaces: `"nightly backup"`. DURATION: `30m`, `2h`, `1d`, `1h30m` (at least 1m).',
        "A subscription adds a channel; `alerts.channel` still gets every alert. A daily "
        "digest, if configured, sums up the day in `alerts.digest.channel`.",
        "The bot's *Home* tab (open cronops in the sidebar) shows what needs you: failing, "
        "paused and muted jobs, your channels' subscriptions and the accounts, with buttons.",
    ]
)


class ParseError(ValueError):
    """What the user typed is not a command; ``message`` says what, ``usage`` how."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


@dataclass(frozen=True)
class _Word:
    text: str
    quoted: bool


@dataclass(frozen=True)
class _Args:
    command: str
    words: Sequence[_Word]
    accounts: Mapping[str, str]  # lower-case -> as configured

    def error(self, message: str) -> ParseError:
        return ParseError(message, USAGE[self.command])


_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_REF = re.compile(r"^([A-Za-z0-9-]+):(\S+)$")
_DURATION_LIKE = re.compile(r"^\d+[a-z][a-z0-9]*$", re.IGNORECASE)  # `1h30m`, `2x`, `10min`
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")  # bob's: not a quote
_KEEP = "\ue000"  # stands in for an apostrophe while shlex splits
_NUMBER_LIKE = re.compile(r"^[+-]?\d+$")


def parse(text: str, accounts: Collection[str] = ()) -> Command:
    """``"pause prod:4242 2h"`` -> ``Pause("prod:4242", timedelta(hours=2))``."""
    words = _words(text)
    if not words:
        return Help(None)
    name = words[0].text.lower()
    parser = _PARSERS.get(name)
    if parser is None:
        raise _unknown(words[0].text)
    rest = words[1:]
    if name != "help" and [w.text.lower() for w in rest] in (["--help"], ["-h"]):
        return Help(name)
    return parser(_Args(name, rest, {a.lower(): a for a in accounts}))


def _words(text: str) -> list[_Word]:
    # Slack escapes these three in command text; smart quotes come from autocorrect.
    source = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    source = _APOSTROPHE.sub(_KEEP, source.translate(_SMART_QUOTES))
    stream = io.StringIO(source)
    lexer = shlex.shlex(stream, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = ""  # a backslash is just a character in Slack
    words: list[_Word] = []
    start = 0
    try:
        while (token := lexer.get_token()) is not None:
            end = stream.tell()
            quoted = any(q in source[start:end] for q in "\"'")
            words.append(_Word(token.replace(_KEEP, "'"), quoted))
            start = end
    except ValueError:
        first = source.split(maxsplit=1)[:1]
        usage = USAGE.get(first[0].lower(), USAGE["help"]) if first else USAGE["help"]
        raise ParseError(
            "a quote is opened but never closed; put a name with spaces in matching quotes, "
            'e.g. `"nightly backup"`',
            usage,
        ) from None
    return words


def _quote(text: str) -> str:
    text = text.replace("`", "'")
    return f"`{text[:40]}…`" if len(text) > 40 else f"`{text}`"


def _closest(word: str, choices: Collection[str]) -> str | None:
    found = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _unknown(word: str) -> ParseError:
    message = f"{_quote(word)} is not a `/cron` command"
    if _REF.match(word):
        message += f"; to see that job use `/cron show {word}`"
    elif close := _closest(word, USAGE):
        message += f"; did you mean `/cron {close}`?"
    return ParseError(message + " — `/cron help` lists every command", USAGE["help"])


def _help(args: _Args) -> Help:
    if not args.words:
        return Help(None)
    topic = args.words[0].text.lower().removeprefix("/cron").strip() or "help"
    if topic in USAGE:
        return Help(topic)
    close = _closest(topic, USAGE)
    hint = f"; did you mean `/cron help {close}`?" if close else "; `/cron help` lists them all"
    raise args.error(f"there is no `/cron` command {_quote(topic)}{hint}")


def _list(args: _Args) -> ListJobs:
    account: str | None = None
    status: JobStatus | None = None
    text: list[str] = []
    for word in args.words:
        low = word.text.lower()
        if not word.quoted and low in STATUSES:
            if status is not None and status != low:
                raise args.error(f"choose one status, not both `{status}` and `{low}`")
            status = cast(JobStatus, low)
        elif not word.quoted and low in args.accounts:
            if account is not None and account != args.accounts[low]:
                raise args.error(
                    f"list one account or all, not both `{account}` and `{args.accounts[low]}` "
                    f'(to search for a word, quote it: `"{word.text}"`)'
                )
            account = args.accounts[low]
        else:
            text.append(word.text)
    return ListJobs(account=account, status=status, text=" ".join(text) or None)


def _canonical_ref(text: str, accounts: Mapping[str, str]) -> str:
    match = _REF.match(text)
    if match and match[1].lower() in accounts:
        return f"{accounts[match[1].lower()]}:{match[2]}"
    return text


def _is_ref(text: str, accounts: Mapping[str, str]) -> bool:
    match = _REF.match(text)
    return match is not None and (not accounts or match[1].lower() in accounts)


def _job(args: _Args, tail_pattern: re.Pattern[str] | None) -> tuple[str, list[str]]:
    """The job and the words after it: one ref or quoted name, or several words as a name."""
    words = [w for w in args.words if w.text.strip()]
    if not words:
        raise args.error(
            f"`/cron {args.command}` needs a job: a ref like `prod:4242` or a job name"
        )
    if words[0].quoted or _is_ref(words[0].text, args.accounts):
        return _canonical_ref(words[0].text, args.accounts), [w.text for w in words[1:]]
    tail: list[str] = []
    while tail_pattern and len(words) > 1 and _is_tail(words[-1], tail_pattern):
        tail.insert(0, words.pop().text)
    return " ".join(w.text for w in words), tail


def _is_tail(word: _Word, pattern: re.Pattern[str]) -> bool:
    return not word.quoted and bool(pattern.match(word.text))


def _no_tail(args: _Args, tail: Sequence[str]) -> None:
    if tail:
        raise args.error(
            f"`/cron {args.command}` takes one job, but {_quote(' '.join(tail))} follows it; "
            'quote a name with spaces: `"nightly backup"`'
        )


def _duration(args: _Args, tail: Sequence[str]) -> timedelta | None:
    if not tail:
        return None
    if len(tail) > 1 and not all(_DURATION_LIKE.match(t) for t in tail):
        raise args.error(f"expected one duration after the job, got {_quote(' '.join(tail))}")
    try:
        return parse_duration("".join(tail))
    except DurationError as err:
        raise args.error(str(err)) from None


def _history_limit(args: _Args, tail: Sequence[str]) -> int:
    if not tail:
        return HISTORY_DEFAULT
    if len(tail) > 1 or not _NUMBER_LIKE.match(tail[0]):
        raise args.error(
            f"{_quote(' '.join(tail))} is not a number of executions; "
            f"expected a whole number from 1 to {HISTORY_MAX}"
        )
    limit = int(tail[0])
    if not 1 <= limit <= HISTORY_MAX:
        raise args.error(f"history shows 1 to {HISTORY_MAX} executions, not {limit}")
    return limit


def _plain_ref(make: Callable[[str], Command]) -> Callable[[_Args], Command]:
    def parse_ref(args: _Args) -> Command:
        ref, tail = _job(args, None)
        _no_tail(args, tail)
        return make(ref)

    return parse_ref


def _timed(
    make: Callable[[str, timedelta | None], Command],
) -> Callable[[_Args], Command]:
    def parse_timed(args: _Args) -> Command:
        ref, tail = _job(args, _DURATION_LIKE)
        return make(ref, _duration(args, tail))

    return parse_timed


def _history(args: _Args) -> History:
    ref, tail = _job(args, _NUMBER_LIKE)
    return History(ref, _history_limit(args, tail))


def _account(args: _Args, word: _Word) -> str:
    if not args.accounts or word.text.lower() in args.accounts:
        return args.accounts.get(word.text.lower(), word.text)
    close = _closest(word.text, args.accounts)
    hint = f"did you mean `{args.accounts[close]}`? " if close else ""
    known = ", ".join(f"`{a}`" for a in sorted(args.accounts.values()))
    raise args.error(f"there is no account {_quote(word.text)}; {hint}accounts: {known}")


def _create(args: _Args) -> Create:
    if len(args.words) > 1:
        raise args.error("`/cron create` takes at most one account, e.g. `/cron create prod`")
    return Create(_account(args, args.words[0]) if args.words else None)


def _addon(args: _Args) -> AddonCreate:
    words = list(args.words)
    if not words or words[0].text.lower() != "create":
        got = f"{_quote(words[0].text)} is not one" if words else "say which"
        raise args.error(
            f"`/cron addon` only creates add-ons ({got}): `/cron addon create ACCOUNT`"
        )
    if len(words) != 2:
        problem = "needs a Miget account" if len(words) < 2 else "takes one account"
        raise args.error(f"`/cron addon create` {problem}, e.g. `/cron addon create apps`")
    return AddonCreate(_account(args, words[1]))


def _no_args(make: Callable[[], Command]) -> Callable[[_Args], Command]:
    def parse_bare(args: _Args) -> Command:
        if args.words:
            extra = _quote(" ".join(w.text for w in args.words))
            raise args.error(f"`/cron {args.command}` takes nothing after it; got {extra}")
        return make()

    return parse_bare


def target_kind(target: str, accounts: Collection[str]) -> TargetKind:
    """What a subscription's ``target`` names, given the configured ``accounts``: ``*`` every
    job, an account's name the account, ``ACCOUNT:ID`` that one job, anything else text in
    job names."""
    known = {a.casefold() for a in accounts}
    if target == EVERYTHING:
        return "all"
    if target.casefold() in known:
        return "account"
    match = _REF.match(target)
    return "job" if match and match[1].casefold() in known else "text"


def _subscription(
    make: Callable[[str | None, str | None], Command],
) -> Callable[[_Args], Command]:
    def parse_subscription(args: _Args) -> Command:
        words, except_text = _except(args)
        text = " ".join(w.text for w in words).strip()
        if len(words) == 1 and not words[0].quoted:
            text = args.accounts.get(text.lower(), _canonical_ref(text, args.accounts))
        _fits(args, "names an account, a job or some text", text)
        if except_text is not None:
            _filter_fits(args, text, except_text)
        return make(text or None, except_text)

    return parse_subscription


def _except(args: _Args) -> tuple[list[_Word], str | None]:
    """The words of the target, and the text after ``--except`` (None without it)."""
    words = list(args.words)
    flags = [
        i for i, w in enumerate(words)
        if not w.quoted and w.text.lower().partition("=")[0] == EXCEPT
    ]  # fmt: skip
    if not flags:
        return words, None
    if len(flags) > 1:
        raise args.error(
            f"one `{EXCEPT}` per subscription; put the text to leave out after it, e.g. "
            f'`/cron {args.command} prod {EXCEPT} "staging"`'
        )
    at = flags[0]
    inline_text = words[at].text.partition("=")[2]
    rest = [inline_text] if inline_text else []
    text = " ".join(rest + [w.text for w in words[at + 1 :]]).strip()
    if not text:
        raise args.error(
            f"`{EXCEPT}` needs the text to leave out: jobs whose names contain it get no alerts "
            f'here, e.g. `/cron {args.command} prod {EXCEPT} "staging"`'
        )
    return words[:at], text


def _fits(args: _Args, what: str, text: str) -> None:
    if len(text) > TARGET_MAX:
        raise args.error(
            f"a subscription {what} of at most {TARGET_MAX} characters, not {len(text)}"
        )


def _filter_fits(args: _Args, target: str, except_text: str) -> None:
    """A ``--except`` that can leave something out: not on one job, not all of a text."""
    _fits(args, f"leaves out (`{EXCEPT}`) a text", except_text)
    kind = target_kind(target or EVERYTHING, args.accounts.values())
    if kind == "job" or (not args.accounts and _REF.match(target)):
        raise args.error(
            f"{_quote(target)} is one job, so `{EXCEPT}` has nothing to leave out; "
            f"`{EXCEPT}` filters an account, a text or every job"
        )
    if kind == "text" and except_text.casefold() in target.casefold():
        raise args.error(
            f"every job whose name contains {_quote(target)} also contains "
            f"{_quote(except_text)}, so nothing would be left to alert on"
        )


_PARSERS: dict[str, Callable[[_Args], Command]] = {
    "help": _help,
    "list": _list,
    "show": _plain_ref(Show),
    "history": _history,
    "pause": _timed(Pause),
    "resume": _plain_ref(Resume),
    "create": _create,
    "edit": _plain_ref(Edit),
    "delete": _plain_ref(Delete),
    "addon": _addon,
    "status": _no_args(Status),
    "subscribe": _subscription(Subscribe),
    "unsubscribe": _subscription(Unsubscribe),
    "subscriptions": _no_args(Subscriptions),
    "mute": _timed(Mute),
    "unmute": _plain_ref(Unmute),
}

COMMAND_WORDS = frozenset(_PARSERS)  # the words `/cron` understands after it
