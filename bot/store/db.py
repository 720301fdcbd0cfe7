"""The bot's database: request budgets, audit log, timed resumes, small facts and alerts.

One :class:`Store` per process over an async SQLAlchemy engine: SQLite (``aiosqlite``, WAL) for
one bot, PostgreSQL (``asyncpg``) when several share it. ``await Store.open(url)`` creates the
engine and runs the alembic migrations in ``bot/migrations`` up to head, so the first start
creates the schema and later releases upgrade it in place. Methods return frozen dataclasses,
never ORM objects; every datetime in and out is aware UTC. What the poller and the notifier
remember lives in two mixins of :class:`Store`: account state, cursors and incidents in
:mod:`bot.store_alerts`; subscriptions, mutes and the outbox in :mod:`bot.store_delivery`. Both
write through the transactions of :mod:`bot.store_base`.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, CursorResult, event, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.db_models import (
    AuditEntry,
    AuditLog,
    Meta,
    RequestBudget,
    Resume,
    ScheduledResume,
    to_record,
)
from bot.store_alerts import AlertStore
from bot.store_delivery import DeliveryStore
from providers.redact import secrets

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
DEFAULT_URL = "sqlite:///./cronops.db"
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}
_MIGRATION_LOCK = 0x63726F6E  # "cron": one migrating process at a time on PostgreSQL


def normalise_url(url: str) -> str:
    """``sqlite:///x`` -> ``sqlite+aiosqlite:///x``, ``postgres://`` -> asyncpg; async kept."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in {"sqlite", "postgres", "postgresql"}:
        raise ValueError(f"unsupported database {backend!r}; use sqlite:/// or postgresql://")
    drivername = _ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=drivername).render_as_string(hide_password=False)


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for ``url``; on SQLite with WAL, a busy timeout and foreign keys."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        if sqlite3.sqlite_version_info < (3, 35):
            raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old; 3.35+ is needed")
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL with synchronous=NORMAL: a commit is not fsynced; a process crash loses nothing, a power
    # loss at most the last commits (a re-sent alert is then found by its metadata, not doubled)
    pragmas = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=15000", "foreign_keys=ON")
    for pragma in pragmas:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def alembic_config(url: str | None = None, script_location: Path = MIGRATIONS) -> Config:
    """Alembic's config in code. ``url`` is only needed to run alembic without a Store."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    if url is not None:
        config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


class Store(AlertStore, DeliveryStore):
    """The bot's database. Also the :class:`providers.budget.BudgetLedger` of every account."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._session = async_sessionmaker(engine, expire_on_commit=False)

    @classmethod
    async def open(cls, url: str = DEFAULT_URL) -> Self:
        """Connect and migrate to the latest schema."""
        store = cls(create_engine(url))
        try:
            await store.migrate()
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- schema -----------------------------------------------------------------------------
    async def migrate(self, config: Config | None = None) -> None:
        """``alembic upgrade head`` on this engine; a no-op when already at head."""
        config = config or alembic_config()
        async with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            await connection.run_sync(_upgrade, config)
        log.info("database schema at %s", await self.schema_revision())

    async def schema_revision(self) -> str | None:
        async with self.engine.connect() as connection:
            return await connection.run_sync(_revision)

    def _insert(self, model: type[Any]) -> Any:
        dialect = self.engine.dialect.name
        return pg_insert(model) if dialect == "postgresql" else sqlite_insert(model)

    # -- request budget (BudgetLedger) ------------------------------------------------------
    async def used(self, account: str, day: date) -> int:
        query = select(RequestBudget.used).where(
            RequestBudget.account == account, RequestBudget.day == day
        )
        async with self._session() as session:
            return (await session.scalar(query)) or 0

    async def spend(
        self, account: str, day: date, limit: int, keep: int, count: int = 1
    ) -> int | None:
        """Count ``count`` requests if ``used + keep + count <= limit``: one atomic upsert,
        across processes too."""
        if keep + count > limit:
            return None
        stmt = (
            self._insert(RequestBudget)
            .values(account=account, day=day, used=count)
            .on_conflict_do_update(
                index_elements=[RequestBudget.account, RequestBudget.day],
                set_={"used": RequestBudget.used + count},
                where=RequestBudget.used + keep + count <= limit,
            )
            .returning(RequestBudget.used)
        )
        if (session := self._unit_session()) is not None:
            return cast(int | None, (await session.execute(stmt)).scalar_one_or_none())
        # Every request to a budgeted provider passes here: a bare connection, not a session.
        async with self.engine.begin() as connection:
            return cast(int | None, (await connection.execute(stmt)).scalar_one_or_none())

    # -- audit ------------------------------------------------------------------------------
    async def record_audit(
        self,
        *,
        at: datetime,
        user_id: str,
        action: str,
        ref: str,
        detail: str = "",
        ok: bool = True,
        error: str | None = None,
    ) -> AuditEntry:
        row = AuditLog(
            at=at,
            user_id=user_id,
            action=action,
            ref=ref,
            detail=secrets.scrub(detail),
            ok=ok,
            error=None if error is None else secrets.scrub(error),
        )
        async with self._write() as session:
            session.add(row)
        return to_record(AuditEntry, row)

    async def recent_audit(self, limit: int = 20) -> list[AuditEntry]:
        """The latest entries, newest first."""
        query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
        async with self._session() as session:
            return [to_record(AuditEntry, row) for row in await session.scalars(query)]

    # -- timed resumes ----------------------------------------------------------------------
    async def schedule_resume(
        self,
        *,
        ref: str,
        account: str,
        due_at: datetime,
        requested_by: str,
        channel: str,
        now: datetime,
        message_ts: str | None = None,
    ) -> Resume:
        """Resume ``ref`` at ``due_at``; replaces (cancels) any open timed resume of ``ref``."""
        row = ScheduledResume(
            ref=ref,
            account=account,
            due_at=due_at,
            requested_by=requested_by,
            channel=channel,
            message_ts=message_ts,
            created_at=now,
            attempts=0,
        )
        async with self._write() as session:
            await session.execute(self._close_open(ref, now))
            session.add(row)
        return to_record(Resume, row)

    async def attach_resume_message(self, resume_id: int, message_ts: str) -> None:
        """Remember the message announcing the pause, so the resume can reply in its thread."""
        stmt = (
            update(ScheduledResume)
            .where(ScheduledResume.id == resume_id)
            .values(message_ts=message_ts)
        )
        async with self._write() as session:
            await session.execute(stmt)

    async def due_resumes(self, now: datetime, *, max_attempts: int = 5) -> list[Resume]:
        """Open resumes due by ``now`` that have failed fewer than ``max_attempts`` times."""
        query = (
            select(ScheduledResume)
            .where(
                ScheduledResume.done_at.is_(None),
                ScheduledResume.due_at <= now,
                ScheduledResume.attempts < max_attempts,
            )
            .order_by(ScheduledResume.due_at, ScheduledResume.id)
        )
        async with self._session() as session:
            return [to_record(Resume, row) for row in await session.scalars(query)]

    async def mark_resume_done(self, resume_id: int, now: datetime) -> bool:
        """Close a resume as resumed; False if it was already closed (e.g. cancelled)."""
        stmt = (
            update(ScheduledResume)
            .where(ScheduledResume.id == resume_id, ScheduledResume.done_at.is_(None))
            .values(done_at=now, outcome="resumed")
        )
        async with self._write() as session:
            result = cast(CursorResult[Any], await session.execute(stmt))
            return result.rowcount == 1

    async def mark_resume_failed(
        self, resume_id: int, error: str, *, retry_at: datetime | None = None
    ) -> None:
        """Count a failed attempt; it stays open, due again at ``retry_at`` if given."""
        values: dict[str, Any] = {
            "attempts": ScheduledResume.attempts + 1,
            "last_error": secrets.scrub(error),
        }
        if retry_at is not None:
            values["due_at"] = retry_at
        stmt = update(ScheduledResume).where(ScheduledResume.id == resume_id).values(**values)
        async with self._write() as session:
            await session.execute(stmt)

    async def cancel_resumes(self, ref: str, now: datetime) -> int:
        """Cancel the open timed resumes of ``ref`` (a manual resume); how many were open."""
        async with self._write() as session:
            result = cast(CursorResult[Any], await session.execute(self._close_open(ref, now)))
            return result.rowcount

    async def pending_resume(self, ref: str) -> Resume | None:
        query = (
            select(ScheduledResume)
            .where(ScheduledResume.ref == ref, ScheduledResume.done_at.is_(None))
            .order_by(ScheduledResume.id.desc())
            .limit(1)
        )
        async with self._session() as session:
            row = await session.scalar(query)
            return None if row is None else to_record(Resume, row)

    @staticmethod
    def _close_open(ref: str, now: datetime) -> Any:
        return (
            update(ScheduledResume)
            .where(ScheduledResume.ref == ref, ScheduledResume.done_at.is_(None))
            .values(done_at=now, outcome="cancelled")
        )

    # -- meta -------------------------------------------------------------------------------
    async def get_meta(self, key: str) -> str | None:
        async with self._session() as session:
            return await session.scalar(select(Meta.value).where(Meta.key == key))

    async def set_meta(self, key: str, value: str) -> None:
        stmt = (
            self._insert(Meta)
            .values(key=key, value=value)
            .on_conflict_do_update(index_elements=[Meta.key], set_={"value": value})
        )
        async with self._write() as session:
            await session.execute(stmt)
