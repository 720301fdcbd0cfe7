"""Provider requests per account and UTC day: the ledger behind every daily request budget.

:class:`Budget` is the :class:`providers.budget.BudgetLedger` of every account, so a restart
(or another process on the same PostgreSQL) never resets a count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import cast

from sqlalchemy import delete, select

from bot.store.db import Queries, changed
from bot.store.tables import RequestBudget


class Budget(Queries):
    """Requests counted per account and UTC day (table ``request_budget``)."""

    async def used(self, account: str, day: date) -> int:
        query = select(RequestBudget.used).where(
            RequestBudget.account == account, RequestBudget.day == day
        )
        async with self.db.sessions() as session:
            return (await session.scalar(query)) or 0

    async def spend(
        self, account: str, day: date, limit: int, keep: int, count: int = 1
    ) -> int | None:
        """Count ``count`` requests if ``used + keep + count <= limit``: one atomic upsert,
        across processes too."""
        if keep + count > limit:
            return None
        stmt = (
            self.db.insert(RequestBudget)
            .values(account=account, day=day, used=count)
            .on_conflict_do_update(
                index_elements=[RequestBudget.account, RequestBudget.day],
                set_={"used": RequestBudget.used + count},
                where=RequestBudget.used + keep + count <= limit,
            )
            .returning(RequestBudget.used)
        )
        if (session := self.db.unit_session()) is not None:
            return cast(int | None, (await session.execute(stmt)).scalar_one_or_none())
        # Every request to a budgeted provider passes here: a bare connection, not a session.
        async with self.db.engine.begin() as connection:
            return cast(int | None, (await connection.execute(stmt)).scalar_one_or_none())

    async def prune(self, before: datetime) -> int:
        """Forget the counts of days before ``before``'s; how many."""
        stmt = delete(RequestBudget).where(RequestBudget.day < before.astimezone(UTC).date())
        async with self.db.write() as session:
            return changed(await session.execute(stmt))
