"""What messages never show in full: Cronhub monitor codes and credentials.

A Cronhub monitor code is a ping credential: a ref is shown with its trailing UUID cut to 8
characters (``hub:monitor/b5e5e820…``), a prefix people can still type, and a link that holds
the code is left out. Job URLs lose their user:password and secret query values; commands and
manifests are masked (URL credentials, ``PASSWORD=…``, ``token: …``, ``Authorization: …``, every
secret the registry knows) before an ephemeral card shows them. Channel posts never show a
command, a manifest or a job URL at all.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from providers.base import Job
from providers.redact import MASK, safe_url, secrets

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SHOWN = 8  # characters of a trailing UUID a message shows

#: A key that names a secret: ``PGPASSWORD``, ``API_TOKEN``, ``client-secret``, ``x-api-key``
#: (not ``author`` or ``tokens``: the secret word must end the key).
_SECRET_WORD = r"(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|auth|credentials?)"
_KEY = rf"[\w.-]{{0,40}}{_SECRET_WORD}(?![a-z])"
_SECRET_KEY = rf"(?<![\w.-]){_KEY}"  # starts a word: a long run of letters is not rescanned
#: ``PGPASSWORD=x``, ``token: x``, ``"api_key": "x"`` -> the value masked.
_ASSIGNED = re.compile(
    rf"(?P<key>{_SECRET_KEY}[\"']?)(?P<sep>\s*[=:]\s*)(?P<quote>[\"']?)(?P<value>[^\s\"',;&|]+)",
    re.IGNORECASE,
)
#: ``--password x``, ``-token x``.
_FLAG = re.compile(
    rf"(?P<key>(?<![\w-])--?{_KEY})(?P<sep>\s+)(?P<quote>[\"']?)(?P<value>[^\s\"']+)", re.I
)
#: ``curl -u admin:pw``: the password after the user name.
_CURL_USER = re.compile(r"(?P<key>(?<![\w-])(?:-u|--user)\s+[^\s:\"']+:)[^\s\"']+")
#: ``Authorization: Bearer x`` (a header in a curl line or a manifest).
_AUTH_HEADER = re.compile(
    r"(?P<key>authorization\s*:\s*)(?:(?:bearer|basic|token)\s+)?[^\s\"']+", re.IGNORECASE
)
_URL = re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://[^\s\"'<>`]+", re.IGNORECASE)


def short_ref(job: Job | str) -> str:
    """The ref as messages show it: a trailing UUID cut to 8 characters, then "…"."""
    ref = job.ref if isinstance(job, Job) else job
    cut = _cut(ref)
    return ref if cut is None else ref[:cut] + "…"


def ref_prefix(ref: str) -> str:
    """The shown ref without its "…": still a unique, typeable prefix of the job's id."""
    cut = _cut(ref)
    return ref if cut is None else ref[:cut]


def shown_url(url: str | None, ref: str | None = None) -> str | None:
    """A URL a message may link to: credentials removed; None if it holds ``ref``'s code."""
    if not url:
        return None
    if ref is not None and (code := _code(ref)) and code.lower() in url.lower():
        return None
    safe = safe_url(url) or ""
    if MASK in safe or _has_userinfo(url):
        return safe
    return url  # nothing to hide: as the provider wrote it (safe_url re-encodes the query)


def masked(text: str) -> str:
    """A command or manifest with its credentials masked, for an ephemeral reply (give it the
    part that is shown: the patterns cost time in proportion to the text)."""
    text = _URL.sub(lambda m: safe_url(m.group(0)) or "", text)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group('key')}{MASK}", text)
    text = _ASSIGNED.sub(_mask_value, text)
    text = _FLAG.sub(_mask_value, text)
    text = _CURL_USER.sub(lambda m: f"{m.group('key')}{MASK}", text)
    return secrets.scrub(text)


def _mask_value(match: re.Match[str]) -> str:
    return f"{match.group('key')}{match.group('sep')}{match.group('quote')}{MASK}"


def _has_userinfo(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return "@" in url
    return parts.username is not None or parts.password is not None


def _cut(ref: str) -> int | None:
    """Where a ref's trailing UUID is cut, or None when it has none."""
    matches = list(_UUID.finditer(ref))
    if not matches or matches[-1].end() != len(ref):
        return None
    return matches[-1].start() + SHOWN


def _code(ref: str) -> str | None:
    cut = _cut(ref)
    return ref[cut - SHOWN :] if cut is not None else None
