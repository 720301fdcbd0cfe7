"""Logging for the process: text or JSON on stderr, with every known secret masked.

Every handler's formatter is wrapped (:class:`providers.redact.RedactingFormatter`), so the
whole formatted record is scrubbed, exception and stack text included. The database drivers
log each statement with its parameters at DEBUG (aiosqlite twice); they stay at WARNING unless
``CRONOPS_LOG_SQL=1`` asks for them.
"""

from __future__ import annotations

import json
import logging
import sys

from providers.redact import install_log_redaction

#: Loggers that write SQL statements and their parameters.
SQL_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg")
#: Loggers that write a line per request or per job run at INFO or DEBUG.
_CHATTY = ("httpx", "apscheduler")


def setup_logging(level: str = "INFO", fmt: str = "text", sql: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.access"):  # uvicorn's own config gives them handlers
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    for name in SQL_LOGGERS:  # "sqlalchemy" sets itself to WARNING: each is set explicitly
        logging.getLogger(name).setLevel(root.level if sql else logging.WARNING)
    install_log_redaction()


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = record.exc_text or self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry)
