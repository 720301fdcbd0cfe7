"""cron-job.org's JSON: status and method tables, history items, numbers and errors.

Pure functions over the bodies described in ``shared/providers.md`` §2: no I/O, no clock.
:class:`providers.cronjob_org.client.CronJobOrg` does the requests and builds jobs from these; the
schedule arrays are read and written by :mod:`providers.cronjob_org.schedule`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx

from providers.base import Execution, RunResult
from providers.errors import AuthRejected, InvalidInput, ProviderError, RateLimited

STATUS_WORDS = {
    1: "OK",
    2: "Failed (DNS error)",
    3: "Failed (could not connect)",
    4: "Failed (HTTP error)",
    5: "Failed (timeout)",
    6: "Failed (too much response data)",
    7: "Failed (invalid URL)",
    8: "Failed (internal error)",
    9: "Failed (other)",
}
METHODS = ("GET", "POST", "OPTIONS", "HEAD", "PUT", "DELETE", "TRACE", "CONNECT", "PATCH")
MONITORING = 1  # JobType: used by a status page; the API refuses to delete it
#: Keys of a job that may carry secrets (basic-auth password, header values) or nothing we show.
PRIVATE_KEYS = ("auth", "notification", "extendedData")
#: Keys the server reads from every create body whether sent or not (``Job.php:207-246``): left
#: out, PHP warns, and a server with display_errors on prints the warnings before the JSON.
CREATE_DEFAULTS: dict[str, Any] = {
    "saveResponses": False,
    "auth": {"enable": False, "user": "", "password": ""},
    "notification": {
        "onFailure": False,
        "onSuccess": False,
        "onDisable": False,
        "onSslCertExpiry": False,
    },
    "extendedData": {"headers": {}, "body": ""},
}
_PHP_MESSAGE = re.compile(
    rb"\s*(?:<br />\s*)?(?:<b>)?(?:PHP )?(?:Warning|Notice|Deprecated)(?:</b>)?:[^\n]*\n"
)


def error_for(response: httpx.Response) -> ProviderError | None:
    """cron-job.org answers errors with a bare status; say what each one means here."""
    status = response.status_code
    if status == 400:
        return InvalidInput(
            "cron-job.org refused the job: invalid input, a URL on its deny-list, "
            "or a monitoring job"
        )
    if status == 403:
        return AuthRejected("the API key may only be used from allow-listed IP addresses")
    if status == 409:
        return InvalidInput("cron-job.org reported a conflict with an existing resource")
    if status == 422:
        return InvalidInput("cron-job.org's request filter (WAF) rejected the job")
    if status == 429:
        # The per-method 429 and the spent quota's are alike; providers.http has already tried
        # once more in the next clock second, so this one is the quota (or the minute's creates).
        return RateLimited(
            "refused again in the next second: the daily request quota (or, for creates, "
            "the 5 a minute) is used up"
        )
    return None  # 401, 404 and 5xx: the default mapping says it right


def without_php_messages(content: bytes) -> tuple[bytes, int]:
    """The body without the PHP warnings a server with display_errors on prints before its JSON,
    and how many there were."""
    count, start = 0, 0
    while found := _PHP_MESSAGE.match(content, start):
        count, start = count + 1, found.end()
    return content[start:], count


def execution(item: dict[str, Any]) -> Execution:
    status = as_int(item.get("status"))
    # headers/body are false, null or text (§2.6); never read: they may hold secrets.
    return Execution(
        id=str(item["identifier"]),
        time=datetime.fromtimestamp(int(item["date"]), UTC),
        planned=when(item.get("datePlanned")),
        result=run_result(status),
        status_text=str(item.get("statusText") or "") or STATUS_WORDS.get(status, "Unknown"),
        http_status=as_int(item.get("httpStatus")) or None,
        duration_ms=as_int(item.get("duration")) if item.get("duration") is not None else None,
    )


def run_result(status: int) -> RunResult:
    if status == 0:
        return RunResult.NONE
    return RunResult.OK if status == 1 else RunResult.FAILED


def when(value: Any) -> datetime | None:
    stamp = as_int(value)
    return datetime.fromtimestamp(stamp, UTC) if stamp > 0 else None


def as_int(value: Any) -> int:
    """Numbers as the server sends them; absent, null and false (PHP) read as 0."""
    if value is None or value is False:
        return 0
    return int(value)


def as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value
