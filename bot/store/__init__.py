"""The bot's database: one :class:`Store` per process, its queries grouped by table.

``await Store.open(url)`` creates the engine (:mod:`bot.store.db`) and runs the alembic
migrations in ``bot/store/migrations`` up to head, so the first start creates the schema and
later releases upgrade it in place. Each group answers for its tables (:mod:`bot.store.tables`):

- ``budget``        provider requests per account and UTC day (the budgets' ledger)
- ``audit``, ``resumes``           changes made through the bot, timed resumes
- ``accounts``, ``cursors``        what the poller remembers per account and job
- ``incidents``                    failing jobs, open until they recover
- ``subscriptions``, ``mutes``     who hears about what
- ``outbox``                       Slack messages on their way, each sent once
- ``meta``                         small facts
- ``leases``                       who does which work when processes share the database
- ``home``                         who looks at the bot's Home tab, and when it was published

Queries return frozen dataclasses, never ORM objects; every datetime in and out is aware UTC.
Writes inside ``async with store.unit():`` land in one transaction.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

from alembic.config import Config
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import db
from bot.store.budget import Budget
from bot.store.changes import Audit, Resumes
from bot.store.home import HomeViewers
from bot.store.incidents import Incidents
from bot.store.leases import Leases
from bot.store.meta import Meta
from bot.store.outbox import Outbox
from bot.store.polling import Accounts, Cursors
from bot.store.routing import Mutes, Subscriptions

log = logging.getLogger(__name__)

LEASES_KEPT = timedelta(days=1)  # a process silent this long is gone, and so are its leases


class Store:
    """The bot's database, as query groups over one engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.db = db.Db(engine)
        self.budget = Budget(self.db)
        self.audit = Audit(self.db)
        self.resumes = Resumes(self.db)
        self.accounts = Accounts(self.db)
        self.cursors = Cursors(self.db)
        self.incidents = Incidents(self.db)
        self.subscriptions = Subscriptions(self.db)
        self.mutes = Mutes(self.db)
        self.outbox = Outbox(self.db)
        self.meta = Meta(self.db)
        self.leases = Leases(self.db)
        self.home = HomeViewers(self.db)

    @classmethod
    async def open(cls, url: str = db.DEFAULT_URL) -> Self:
        """Connect and migrate to the latest schema; :class:`db.DatabaseUnavailable` if the
        database cannot be reached or opened."""
        store = cls(db.create_engine(url))
        try:
            await store.migrate()
        except (SQLAlchemyError, OSError) as error:
            await store.close()
            raise db.DatabaseUnavailable(url, error) from error
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

    def unit(self) -> AbstractAsyncContextManager[None]:
        """One transaction for every write inside (see :meth:`bot.store.db.Db.unit`)."""
        return self.db.unit()

    async def prune(self, now: datetime, keep: timedelta) -> dict[str, int]:
        """Forget what is older than ``keep``: sent messages, audit entries, resolved
        incidents, closed resumes, past days' request counts, who opened the Home tab; and ended
        mutes, and processes
        and leases gone for a day (they hold no history). Open incidents, pending messages and
        today's budget are never touched. How many of each."""
        before = now - keep
        async with self.unit():
            return {
                "outbox": await self.outbox.prune(before),
                "audit": await self.audit.prune(before),
                "incidents": await self.incidents.prune(before),
                "resumes": await self.resumes.prune(before),
                "budget": await self.budget.prune(before),
                "mutes": await self.mutes.prune(now),
                "leases": await self.leases.prune(now - LEASES_KEPT),
                "home viewers": await self.home.prune(before),
            }

    async def migrate(self, config: Config | None = None) -> None:
        """``alembic upgrade head``; a no-op when already at head."""
        await db.migrate(self.engine, config)
        log.info("database schema at %s", await self.schema_revision())

    async def schema_revision(self) -> str | None:
        return await db.schema_revision(self.engine)
