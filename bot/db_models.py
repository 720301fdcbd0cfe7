"""The bot's tables as typed SQLAlchemy models, and the records the Store returns.

The schema itself is created and changed by the hand-written migrations in
``bot/migrations/versions``; these models only describe it for queries. A change here needs a
new migration file (see ``bot/migrations/env.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Boolean, Date, DateTime, Dialect, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out.

    PostgreSQL keeps them as ``timestamptz``; SQLite has no time zones, so they are stored as
    naive UTC and given their ``tzinfo`` back when read. Naive datetimes are refused: a naive
    value would silently mean "local time" somewhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}; pass an aware one (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class RequestBudget(Base):
    """Provider requests made per account and UTC day."""

    __tablename__ = "request_budget"

    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


class AuditLog(Base):
    """Every change made through the bot: who, what, on which job, and whether it worked."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(512))
    detail: Mapped[str] = mapped_column(Text, default="")
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)


class ScheduledResume(Base):
    """A job paused for a while (``/cron pause REF 2h``), to be resumed by the bot at ``due_at``.

    Open while ``done_at`` is null; ``outcome`` says how it closed: resumed or cancelled.
    """

    __tablename__ = "scheduled_resume"
    __table_args__ = (
        Index("ix_scheduled_resume_open_due", "done_at", "due_at"),
        Index("ix_scheduled_resume_ref", "ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(512))
    account: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_by: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Meta(Base):
    """Small facts the bot must remember across restarts, e.g. ``first_poll_done:prod``."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# -- what the Store returns: plain values, no sessions attached ----------------------------
@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    user_id: str
    action: str
    ref: str
    detail: str
    ok: bool
    error: str | None


@dataclass(frozen=True, slots=True)
class Resume:
    """A timed resume: open while ``done_at`` is None; ``outcome`` is resumed or cancelled."""

    id: int
    ref: str
    account: str
    due_at: datetime
    requested_by: str
    channel: str
    message_ts: str | None
    created_at: datetime
    done_at: datetime | None
    outcome: str | None
    attempts: int
    last_error: str | None
