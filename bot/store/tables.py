"""The bot's tables as typed SQLAlchemy models, and the records the Store returns.

The schema itself is created and changed by the hand-written migrations in
``bot/store/migrations/versions``; these models only describe it for queries. A change here needs a
new migration file (see ``bot/store/migrations/env.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

#: The one open incident of a job: a partial unique index, on SQLite and PostgreSQL alike.
OPEN_INCIDENT = text("status = 'open'")


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


def clip(text: str, length: int) -> str:
    """``text`` cut to ``length`` characters, an ellipsis marking the cut."""
    return text if len(text) <= length else text[: length - 1] + "…"


class Bounded(TypeDecorator[str]):
    """Text cut to fit its column on the way in, on every database alike.

    Provider and user text (job names, refs, error texts, subscription targets) can be any
    length; a value longer than its ``VARCHAR`` must never fail an insert (on PostgreSQL that
    would roll back, and so lose, a whole poll on every cycle). Text columns are bounded too,
    at :data:`LONG_TEXT`, so no row grows without limit.
    """

    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.limit = length

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clip(value, self.limit)


LONG_TEXT = 4000  # characters kept of any free text (an error, an audit detail)


class BoundedText(Bounded):
    impl = Text
    cache_ok = True

    def __init__(self, length: int = LONG_TEXT) -> None:
        TypeDecorator.__init__(self)
        self.limit = length


class Base(DeclarativeBase):
    pass


class RequestBudget(Base):
    """Provider requests made per account and UTC day."""

    __tablename__ = "request_budget"

    account: Mapped[str] = mapped_column(Bounded(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)
    polls: Mapped[int] = mapped_column(Integer, default=0)  # of ``used``, the poller's


class RequestShare(Base):
    """Requests one person's commands made per account and hour (their fair share)."""

    __tablename__ = "request_share"

    account: Mapped[str] = mapped_column(Bounded(100), primary_key=True)
    user_id: Mapped[str] = mapped_column(Bounded(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


class ProcessRow(Base):
    """A cronops process sharing the database, and when it was last heard from."""

    __tablename__ = "process"

    name: Mapped[str] = mapped_column(Bounded(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LeaseRow(Base):
    """A piece of work (``poll:prod``) one process does at a time, until ``expires_at``."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(Bounded(200), primary_key=True)
    owner: Mapped[str] = mapped_column(Bounded(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when this owner took it


class AuditLog(Base):
    """Every change made through the bot: who, what, on which job, and whether it worked."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[str] = mapped_column(Bounded(64))
    action: Mapped[str] = mapped_column(Bounded(64))
    ref: Mapped[str] = mapped_column(Bounded(512))
    detail: Mapped[str] = mapped_column(BoundedText(), default="")
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(BoundedText())


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
    ref: Mapped[str] = mapped_column(Bounded(512))
    account: Mapped[str] = mapped_column(Bounded(100))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requested_by: Mapped[str] = mapped_column(Bounded(64))
    channel: Mapped[str] = mapped_column(Bounded(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Bounded(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(BoundedText())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # being resumed
    message_key: Mapped[str | None] = mapped_column(Bounded(255))  # the pause's announcement


class Meta(Base):
    """Small facts the bot must remember across restarts, e.g. ``first_poll_done:prod``."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(Bounded(200), primary_key=True)
    value: Mapped[str] = mapped_column(BoundedText())


class AccountStateRow(Base):
    """Per account: when it was first polled, whether it is reachable, how the last poll went."""

    __tablename__ = "account_state"

    account: Mapped[str] = mapped_column(Bounded(100), primary_key=True)
    first_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    outage_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(BoundedText())
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_requests: Mapped[int] = mapped_column(Integer, default=0)
    poll_interval_s: Mapped[float | None] = mapped_column(Float)
    failed_polls: Mapped[int] = mapped_column(Integer, default=0)  # in a row


class JobCursor(Base):
    """The last execution the poller has seen of a job, and its run of consecutive failures."""

    __tablename__ = "job_cursor"

    account: Mapped[str] = mapped_column(Bounded(100), primary_key=True)
    job_id: Mapped[str] = mapped_column(Bounded(255), primary_key=True)
    last_id: Mapped[str | None] = mapped_column(Bounded(255))
    last_run: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_result: Mapped[str] = mapped_column(Bounded(32))
    streak: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recent: Mapped[str] = mapped_column(Bounded(32), default="")  # last runs: F failed, O ok


class IncidentRow(Base):
    """A failing job: ``open`` until it recovers; at most one open incident per job."""

    __tablename__ = "incident"
    __table_args__ = (
        Index(
            "uq_incident_open",
            "account",
            "job_id",
            unique=True,
            sqlite_where=OPEN_INCIDENT,
            postgresql_where=OPEN_INCIDENT,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(Bounded(100))
    job_id: Mapped[str] = mapped_column(Bounded(255))
    ref: Mapped[str] = mapped_column(Bounded(512))
    job_name: Mapped[str] = mapped_column(Bounded(512))
    status: Mapped[str] = mapped_column(Bounded(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_by: Mapped[str | None] = mapped_column(Bounded(64))
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)


class SubscriptionRow(Base):
    """A channel's wish to get the alerts of an account, a job ref or free text."""

    __tablename__ = "subscription"
    __table_args__ = (
        UniqueConstraint(
            "channel", "target", "except_text", name="uq_subscription_channel_target_except"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(Bounded(64))
    target: Mapped[str] = mapped_column(Bounded(512))
    created_by: Mapped[str] = mapped_column(Bounded(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    except_text: Mapped[str] = mapped_column(Bounded(200), default="")  # '' for none


class HomeViewer(Base):
    """Someone who opened the bot's Home tab, and when it was last published for them."""

    __tablename__ = "home_viewer"

    user_id: Mapped[str] = mapped_column(Bounded(64), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MuteRow(Base):
    """No alerts for ``ref`` until ``until``, or until the job recovers when ``until`` is null."""

    __tablename__ = "mute"

    ref: Mapped[str] = mapped_column(Bounded(512), primary_key=True)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(Bounded(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OutboxRow(Base):
    """A Slack message to post, update or reply with, kept until Slack has it (or we give up).

    ``key`` makes enqueueing idempotent; ``target_key`` names the post whose ``ts`` an update
    or a reply needs.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_key"),
        Index("ix_outbox_pending", "sent_at", "gave_up", "next_attempt_at"),
        Index("ix_outbox_target_key", "target_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Bounded(255))
    kind: Mapped[str] = mapped_column(Bounded(16))
    channel: Mapped[str] = mapped_column(Bounded(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    target_key: Mapped[str | None] = mapped_column(Bounded(255))
    incident_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ts: Mapped[str | None] = mapped_column(Bounded(32))
    error: Mapped[str | None] = mapped_column(BoundedText())
    gave_up: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # being sent
    claimed_by: Mapped[str | None] = mapped_column(Bounded(128))


# -- what the Store returns: plain values, no sessions attached ----------------------------
def to_record(cls: type[T], row: object) -> T:
    """The frozen record ``cls`` with the values of the same-named attributes of ``row``."""
    return cls(**{f.name: getattr(row, f.name) for f in fields(cast(Any, cls))})


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
    created_at: datetime
    done_at: datetime | None
    outcome: str | None
    attempts: int
    last_error: str | None
    claimed_until: datetime | None
    message_key: str | None


@dataclass(frozen=True, slots=True)
class AccountState:
    """``first_polled_at`` is None until the first poll is marked; ``outage_since`` while down."""

    account: str
    first_polled_at: datetime | None
    reachable: bool
    outage_since: datetime | None
    last_error: str | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_requests: int
    poll_interval_s: float | None
    failed_polls: int


@dataclass(frozen=True, slots=True)
class Cursor:
    """The last execution seen of a job; ``streak`` counts its consecutive failures."""

    account: str
    job_id: str
    last_id: str | None
    last_run: datetime | None
    last_result: str
    streak: int
    updated_at: datetime
    recent: str = ""  # the job's last runs, oldest first: F failed, O ok


@dataclass(frozen=True, slots=True)
class Incident:
    """A job's failure: ``status`` is open or resolved; ``detail`` says what failed."""

    id: int
    account: str
    job_id: str
    ref: str
    job_name: str
    status: str
    opened_at: datetime
    last_seen_at: datetime
    failures: int
    detail: dict[str, Any]
    resolved_at: datetime | None
    acked_by: str | None
    acked_at: datetime | None
    muted: bool
    flapping: bool


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    channel: str
    target: str
    created_by: str
    created_at: datetime
    except_text: str  # '' for none


@dataclass(frozen=True, slots=True)
class Mute:
    """``until`` None: muted until the job recovers."""

    ref: str
    until: datetime | None
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A Slack message on its way: ``kind`` post, update or reply; sent once ``sent_at`` is set."""

    id: int
    key: str
    kind: str
    channel: str
    payload: dict[str, Any]
    target_key: str | None
    incident_id: int | None
    created_at: datetime
    next_attempt_at: datetime
    attempts: int
    sent_at: datetime | None
    ts: str | None
    error: str | None
    gave_up: bool
    claimed_until: datetime | None
    claimed_by: str | None
