"""The database underneath the Store: engine, URLs, migrations and transactions.

:class:`Db` owns the async engine and its sessions; every query group of :class:`bot.store.Store`
(:class:`Queries`) writes through it. :meth:`Db.unit` opens the one transaction a whole poll is
written in; :meth:`Db.write` joins it when one is open in this task, else makes its own.
SQLite (``aiosqlite``, WAL) serves one bot process, PostgreSQL (``asyncpg``) several.
Free text that may carry a secret (errors, failure details, message payloads) goes through
:func:`scrub` or :func:`scrub_json` before it is stored.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, CursorResult, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.store.tables import LONG_TEXT, clip
from providers.redact import safe_url, scrub_payload, secrets

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


class DatabaseInUse(Exception):
    """Another process holds this SQLite database; SQLite serves one cronops process."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened: said in words, with the URL's password hidden."""

    def __init__(self, url: str, error: BaseException) -> None:
        shown = make_url(normalise_url(url)).render_as_string(hide_password=True)
        cause = getattr(error, "orig", None) or error  # the driver's words, not SQLAlchemy's
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        super().__init__(f"cannot open the database {shown}: {reason}")


@contextmanager
def one_process(url: str) -> Iterator[None]:
    """On a SQLite file, hold it for this process only (an exclusive lock on ``<file>.lock``):
    a second cronops process on the same file gets :class:`DatabaseInUse` instead of polling
    every account a second time. Nothing to hold on PostgreSQL, made to be shared."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        yield
        return
    import fcntl  # POSIX only: cronops runs on Linux and macOS

    path = Path(str(parsed.database)).with_suffix(Path(str(parsed.database)).suffix + ".lock")
    try:
        held = open(path, "a+")  # noqa: SIM115 (held for the process's life, closed below)
    except OSError as error:
        raise DatabaseUnavailable(url, error) from error
    with held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.seek(0)
            other = held.read().strip() or "another process"
            raise DatabaseInUse(
                f"{parsed.database} is in use by another cronops process ({other}); SQLite "
                "serves one process. To run several, share a PostgreSQL database "
                "(CRONOPS_DATABASE_URL=postgresql://…)"
            ) from None
        held.seek(0)
        held.truncate()
        held.write(f"pid {os.getpid()}")
        held.flush()
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


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


async def migrate(engine: AsyncEngine, config: Config | None = None) -> None:
    """``alembic upgrade head`` on ``engine``; a no-op when already at head."""
    config = config or alembic_config()
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
            )
        await connection.run_sync(_upgrade, config)


async def schema_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_revision)


def scrub(text: str | None) -> str | None:
    return None if text is None else secrets.scrub(text)


def scrub_json(value: Mapping[str, Any], *, clip_at: int = LONG_TEXT) -> dict[str, Any]:
    """A copy without known secrets, sensitive keys' values or credentials in a ``url``, and
    with every string cut to ``clip_at`` characters."""
    cleaned = cast(dict[str, Any], scrub_payload(dict(value)))
    if isinstance(cleaned.get("url"), str):
        cleaned["url"] = safe_url(cleaned["url"])
    return cast(dict[str, Any], _clipped(cleaned, clip_at))


def _clipped(value: Any, length: int) -> Any:
    if isinstance(value, str):
        return clip(value, length)
    if isinstance(value, dict):
        return {k: _clipped(v, length) for k, v in value.items()}
    if isinstance(value, list):
        return [_clipped(v, length) for v in value]
    return value


def changed(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


_UNIT: ContextVar[tuple[Db, AsyncSession] | None] = ContextVar("store_unit", default=None)


class Db:
    """The engine and its sessions, shared by every query group of the Store."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def insert(self, model: type[Any]) -> Any:
        """The dialect's INSERT (for ``on_conflict_do_*``)."""
        return pg_insert(model) if self.dialect == "postgresql" else sqlite_insert(model)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[None]:
        """Make the writes inside one transaction: all of them land, or none.

        The poller applies a whole poll this way — every incident it opens, updates or
        resolves and every cursor it moves — so a crash replays the poll exactly, and a
        thousand writes cost one commit. Reads inside go through it too (:meth:`read`): they
        see what it wrote, and take no second connection.
        """
        if self.unit_session() is not None:
            yield
            return
        async with self.sessions.begin() as session:
            token = _UNIT.set((self, session))
            try:
                yield
            finally:
                _UNIT.reset(token)

    def unit_session(self) -> AsyncSession | None:
        """The session of the unit open in this task on this database, if any."""
        current = _UNIT.get()
        return current[1] if current is not None and current[0] is self else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """The unit's session if one is open (in this task, on this database), else a new one.

        A task never holds two connections: a read inside a unit taking a second one while
        the unit holds the first emptied the pool when forty accounts polled at once, each
        poll waiting for a connection the others held. Inside a unit, reads also see what the
        unit has written so far.
        """
        session = self.unit_session()
        if session is not None:
            yield session
            return
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection to read with (plain rows), the unit's if one is open."""
        session = self.unit_session()
        if session is not None:
            yield await session.connection()
            return
        async with self.engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """The unit's session if one is open (in this task, on this database), else a new one."""
        session = self.unit_session()
        if session is not None:
            yield session
            return
        async with self.sessions.begin() as session:
            yield session


class Queries:
    """Base of the Store's query groups: one group per table (or two tables read together)."""

    def __init__(self, db: Db) -> None:
        self.db = db
