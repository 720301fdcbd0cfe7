"""Keeping secrets out of logs, models and Slack.

Secrets enter cronops in two ways: the account credentials we send, and passwords a provider
echoes back (cron-job.org job basic-auth, Miget ``connection_details`` and ``var``). Clients
never copy those fields into models; this module is the second line: a registry of known
secret values (credentials, and cronops' own tokens and database password, registered when the
settings are loaded) scrubbed from every formatted log record, tracebacks included, a payload
scrubber for anything logged at DEBUG, and URL cleaning for job URLs that embed credentials.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "•••"
LEARNT_KEPT = 10_000  # secrets learnt from provider answers that are kept, newest first

#: Keys whose values are secrets wherever they appear: provider JSON, cronops.yml, settings.

SENSITIVE_KEYS = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "secret",
        "token",
        "api_key",
        "apikey",
        "access_token",
        "refresh_token",
        "authorization",
        "x-api-key",
        "connection_details",
        "connection_url",
        "external_connection_url",
        "psql_command",
        "var",
        "auth",
        "headers",
        "extendeddata",
        # cronops' own settings (environment variables), for config errors and logs
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "cronops_database_url",
    }
)
_SENSITIVE_QUERY = re.compile(r"(token|key|secret|password|passwd|auth|sig|signature)", re.I)


class SecretRegistry:
    """Every secret value the process knows, so logs, messages and stored text never show them.

    Credentials and configured secrets (:meth:`add`) are kept for the life of the process.
    Secrets learnt from provider answers (:meth:`learn`: passwords a provider echoes back) are
    kept up to :data:`LEARNT_KEPT`, the oldest forgotten first: a long-running bot reading
    changing add-on passwords must not grow without bound, and a client learns a secret again
    each time a provider sends it, before anything else sees it.
    """

    def __init__(self, learnt_kept: int = LEARNT_KEPT) -> None:
        self._pinned: set[str] = set()
        self._learnt: OrderedDict[str, None] = OrderedDict()
        self._learnt_kept = learnt_kept
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        self._stale = False  # values changed since the pattern was made: make it at next use

    def add(self, value: str | None) -> None:
        """A secret to mask for as long as the process runs (a credential, a configured one)."""
        if value and len(value) >= 4 and value not in self._pinned:
            with self._lock:
                self._pinned.add(value)
                self._learnt.pop(value, None)
                self._stale = True

    def learn(self, value: str | None) -> None:
        """A secret a provider sent (kept among the most recent :data:`LEARNT_KEPT`)."""
        if not value or len(value) < 4 or value in self._pinned:
            return
        with self._lock:
            if value in self._learnt:
                self._learnt.move_to_end(value)
                return
            self._learnt[value] = None
            while len(self._learnt) > self._learnt_kept:
                self._learnt.popitem(last=False)
            self._stale = True

    def __len__(self) -> int:
        return len(self._pinned) + len(self._learnt)

    def _current(self) -> re.Pattern[str] | None:
        """The pattern of every kept value, made once per change (a provider answer may teach
        many secrets at once: one pattern for all of them, when something is next scrubbed)."""
        if self._stale:
            with self._lock:
                ordered = sorted([*self._pinned, *self._learnt], key=len, reverse=True)
                self._pattern = (
                    re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
                )
                self._stale = False
        return self._pattern

    def scrub(self, text: str) -> str:
        pattern = self._current()
        return pattern.sub(MASK, text) if pattern else text

    def scrub_all(self, value: Any) -> Any:
        """A copy of a JSON-like value with every known secret masked in every string."""
        if self._current() is None:
            return value
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {k: self.scrub_all(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub_all(v) for v in value]
        return value


secrets = SecretRegistry()


def scrub_payload(value: Any) -> Any:
    """A copy of a JSON value with every sensitive key's value masked."""
    if isinstance(value, dict):
        return {
            k: (MASK if str(k).lower() in SENSITIVE_KEYS else scrub_payload(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_payload(v) for v in value]
    if isinstance(value, str):
        return secrets.scrub(value)
    return value


def safe_url(url: str | None) -> str | None:
    """The URL without user:password and with secret-looking query values masked."""
    if not url:
        return url
    return secrets.scrub(_stripped(url))  # scrubbed each time: secrets are learnt as they come


@lru_cache(maxsize=8192)  # a list repeats the same URLs poll after poll
def _stripped(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if _SENSITIVE_QUERY.search(k) else v) for k, v in pairs])
        query = query.replace("%E2%80%A2", "•")
    cleaned = SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment)
    return urlunsplit(cleaned)


class RedactingFormatter(logging.Formatter):
    """Wraps a handler's formatter so the whole formatted record is scrubbed of known secrets:
    message and arguments, exception and stack text, and whatever else the format adds.

    The fields are scrubbed before the inner formatter sees them (a JSON formatter escapes what
    it writes, which could hide a secret from a scrub of its output), and its output once more.
    """

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        clean = logging.makeLogRecord(record.__dict__)  # other handlers keep the original
        clean.msg, clean.args = secrets.scrub(_message(record)), None
        if record.exc_info:
            text = record.exc_text or self.inner.formatException(record.exc_info)
            clean.exc_text = secrets.scrub(text)
        if record.stack_info:
            clean.stack_info = secrets.scrub(record.stack_info)
        return secrets.scrub(self.inner.format(clean))


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a malformed call: say so, rather than let logging print its arguments
        return f"{record.msg} (its arguments did not fit the format; not shown)"


def install_log_redaction() -> None:
    """Wrap the formatter of every handler of the root logger (call after logging setup)."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(handler.formatter or logging.Formatter()))
