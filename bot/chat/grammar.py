"""`/cron` text -> a typed command. Pure: no I/O, no clock, no Slack.

Words split like a shell (``shlex``), so a name with spaces can be quoted, Slack's smart
quotes included. Users forget quotes, so several unquoted words are read as one name
(`/cron pause nightly backup 2h`). Whether a job exists is not decided here: a ref is the
text the user typed, resolved later against the accounts' jobs. The commands themselves and
their usage lines live in ``bot.command_types``.
"""

from __future__ import annotations

import difflib
import io
import re
import shlex
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from bot import command_types as cmds
from bot.durations import DurationError, parse_duration


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
        return ParseError(message, cmds.USAGE[self.command])


_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_REF = re.compile(r"^([A-Za-z0-9-]+):(\S+)$")
_DURATION_LIKE = re.compile(r"^\d+[a-z][a-z0-9]*$", re.IGNORECASE)  # `1h30m`, `2x`, `10min`
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")  # bob's: not a quote
_KEEP = "\ue000"  # stands in for an apostrophe while shlex splits
_NUMBER_LIKE = re.compile(r"^[+-]?\d+$")


def parse(text: str, accounts: Collection[str] = ()) -> cmds.Command:
    """``"pause prod:4242 2h"`` -> ``Pause("prod:4242", timedelta(hours=2))``."""
    words = _words(text)
    if not words:
        return cmds.Help(None)
    name = words[0].text.lower()
    parser = _PARSERS.get(name)
    if parser is None:
        raise _unknown(words[0].text)
    rest = words[1:]
    if name != "help" and [w.text.lower() for w in rest] in (["--help"], ["-h"]):
        return cmds.Help(name)
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
        usage = (
            cmds.USAGE.get(first[0].lower(), cmds.USAGE["help"]) if first else cmds.USAGE["help"]
        )
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
    elif close := _closest(word, cmds.USAGE):
        message += f"; did you mean `/cron {close}`?"
    return ParseError(message + " — `/cron help` lists every command", cmds.USAGE["help"])


def _help(args: _Args) -> cmds.Help:
    if not args.words:
        return cmds.Help(None)
    topic = args.words[0].text.lower().removeprefix("/cron").strip() or "help"
    if topic in cmds.USAGE:
        return cmds.Help(topic)
    close = _closest(topic, cmds.USAGE)
    hint = f"; did you mean `/cron help {close}`?" if close else "; `/cron help` lists them all"
    raise args.error(f"there is no `/cron` command {_quote(topic)}{hint}")


def _list(args: _Args) -> cmds.ListJobs:
    account: str | None = None
    status: cmds.JobStatus | None = None
    text: list[str] = []
    for word in args.words:
        low = word.text.lower()
        if not word.quoted and low in cmds.STATUSES:
            if status is not None and status != low:
                raise args.error(f"choose one status, not both `{status}` and `{low}`")
            status = cast(cmds.JobStatus, low)
        elif not word.quoted and low in args.accounts:
            if account is not None and account != args.accounts[low]:
                raise args.error(
                    f"list one account or all, not both `{account}` and `{args.accounts[low]}` "
                    f'(to search for a word, quote it: `"{word.text}"`)'
                )
            account = args.accounts[low]
        else:
            text.append(word.text)
    return cmds.ListJobs(account=account, status=status, text=" ".join(text) or None)


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
        return cmds.HISTORY_DEFAULT
    if len(tail) > 1 or not _NUMBER_LIKE.match(tail[0]):
        raise args.error(
            f"{_quote(' '.join(tail))} is not a number of executions; "
            f"expected a whole number from 1 to {cmds.HISTORY_MAX}"
        )
    limit = int(tail[0])
    if not 1 <= limit <= cmds.HISTORY_MAX:
        raise args.error(f"history shows 1 to {cmds.HISTORY_MAX} executions, not {limit}")
    return limit


def _plain_ref(make: Callable[[str], cmds.Command]) -> Callable[[_Args], cmds.Command]:
    def parse_ref(args: _Args) -> cmds.Command:
        ref, tail = _job(args, None)
        _no_tail(args, tail)
        return make(ref)

    return parse_ref


def _timed(
    make: Callable[[str, timedelta | None], cmds.Command],
) -> Callable[[_Args], cmds.Command]:
    def parse_timed(args: _Args) -> cmds.Command:
        ref, tail = _job(args, _DURATION_LIKE)
        return make(ref, _duration(args, tail))

    return parse_timed


def _history(args: _Args) -> cmds.History:
    ref, tail = _job(args, _NUMBER_LIKE)
    return cmds.History(ref, _history_limit(args, tail))


def _account(args: _Args, word: _Word) -> str:
    if not args.accounts or word.text.lower() in args.accounts:
        return args.accounts.get(word.text.lower(), word.text)
    close = _closest(word.text, args.accounts)
    hint = f"did you mean `{args.accounts[close]}`? " if close else ""
    known = ", ".join(f"`{a}`" for a in sorted(args.accounts.values()))
    raise args.error(f"there is no account {_quote(word.text)}; {hint}accounts: {known}")


def _create(args: _Args) -> cmds.Create:
    if len(args.words) > 1:
        raise args.error("`/cron create` takes at most one account, e.g. `/cron create prod`")
    return cmds.Create(_account(args, args.words[0]) if args.words else None)


def _addon(args: _Args) -> cmds.AddonCreate:
    words = list(args.words)
    if not words or words[0].text.lower() != "create":
        got = f"{_quote(words[0].text)} is not one" if words else "say which"
        raise args.error(
            f"`/cron addon` only creates add-ons ({got}): `/cron addon create ACCOUNT`"
        )
    if len(words) != 2:
        problem = "needs a Miget account" if len(words) < 2 else "takes one account"
        raise args.error(f"`/cron addon create` {problem}, e.g. `/cron addon create apps`")
    return cmds.AddonCreate(_account(args, words[1]))


def _no_args(make: Callable[[], cmds.Command]) -> Callable[[_Args], cmds.Command]:
    def parse_bare(args: _Args) -> cmds.Command:
        if args.words:
            extra = _quote(" ".join(w.text for w in args.words))
            raise args.error(f"`/cron {args.command}` takes nothing after it; got {extra}")
        return make()

    return parse_bare


def _target(make: Callable[[str | None], cmds.Command]) -> Callable[[_Args], cmds.Command]:
    def parse_target(args: _Args) -> cmds.Command:
        text = " ".join(w.text for w in args.words).strip()
        if len(args.words) == 1 and not args.words[0].quoted:
            text = args.accounts.get(text.lower(), _canonical_ref(text, args.accounts))
        return make(text or None)

    return parse_target


_PARSERS: dict[str, Callable[[_Args], cmds.Command]] = {
    "help": _help,
    "list": _list,
    "show": _plain_ref(cmds.Show),
    "history": _history,
    "pause": _timed(cmds.Pause),
    "resume": _plain_ref(cmds.Resume),
    "create": _create,
    "edit": _plain_ref(cmds.Edit),
    "delete": _plain_ref(cmds.Delete),
    "addon": _addon,
    "status": _no_args(cmds.Status),
    "subscribe": _target(cmds.Subscribe),
    "unsubscribe": _target(cmds.Unsubscribe),
    "subscriptions": _no_args(cmds.Subscriptions),
    "mute": _timed(cmds.Mute),
    "unmute": _plain_ref(cmds.Unmute),
}

COMMAND_WORDS = frozenset(_PARSERS)  # the words `/cron` understands after it
