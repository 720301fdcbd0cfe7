"""Provider requests per account and UTC day: the ledger behind every daily request budget.

:class:`Budget` is the :class:`providers.budget.BudgetLedger` of every account, so a restart
(or another process on the same PostgreSQL) never resets a count: the day's requests (and the
poller's share of them, ``request_budget``) and each person's per hour (``request_share``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select

from bot.store.db import Queries, changed
from bot.store.tables import RequestBudget, RequestShare
from providers.budget import Rule


class Budget(Queries):
    """Requests counted per account and UTC day (table ``request_budget``)."""

    async def used(self, account: str, day: date) -> int:
        return (await self.counts(account, day))[0]

    async def counts(self, account: str, day: date) -> tuple[int, int]:
        """(requests used on ``day``, of which polls)."""
        query = select(RequestBudget.used, RequestBudget.polls).where(
            RequestBudget.account == account, RequestBudget.day == day
        )
        async with self.db.read() as session:
            row = (await session.execute(query)).first()
        return (row.used, row.polls) if row is not None else (0, 0)

    async def spend(self, account: str, day: date, count: int, rule: Rule) -> bool:
        """Count ``count`` requests if ``rule`` allows them: one atomic upsert, across processes
        too (the same rule as :meth:`providers.budget.Rule.allows`, in SQL)."""
        if not rule.allows(0, 0, count):  # not even on a day without requests yet
            return False
        polled = count if rule.purpose == "poll" else 0
        used, polls = RequestBudget.used, RequestBudget.polls
        room: ColumnElement[bool]
        if rule.purpose == "poll":
            room = (polls + count <= rule.poll_share) | (used + count + rule.reserve <= rule.limit)
        else:
            room = (used - polls) + count <= rule.limit - rule.poll_share
        stmt = (
            self.db.insert(RequestBudget)
            .values(account=account, day=day, used=count, polls=polled)
            .on_conflict_do_update(
                index_elements=[RequestBudget.account, RequestBudget.day],
                set_={"used": used + count, "polls": polls + polled},
                where=(used + count <= rule.limit) & room,
            )
            .returning(RequestBudget.used)
        )
        return await self._counted(stmt)

    async def spend_share(
        self, account: str, user: str, hour: datetime, count: int, cap: int
    ) -> bool:
        """Count ``count`` of ``user``'s requests in the hour from ``hour`` within ``cap``."""
        if count > cap:
            return False
        stmt = (
            self.db.insert(RequestShare)
            .values(account=account, user_id=user, hour=hour, used=count)
            .on_conflict_do_update(
                index_elements=[RequestShare.account, RequestShare.user_id, RequestShare.hour],
                set_={"used": RequestShare.used + count},
                where=RequestShare.used + count <= cap,
            )
            .returning(RequestShare.used)
        )
        return await self._counted(stmt)

    async def _counted(self, stmt: Any) -> bool:
        if (session := self.db.unit_session()) is not None:
            return (await session.execute(stmt)).first() is not None
        # Every request to a budgeted provider passes here: a bare connection, not a session.
        async with self.db.engine.begin() as connection:
            return (await connection.execute(stmt)).first() is not None

    async def prune(self, before: datetime) -> int:
        """Forget the counts of days before ``before``'s; how many."""
        stmt = delete(RequestBudget).where(RequestBudget.day < before.astimezone(UTC).date())
        shares = delete(RequestShare).where(RequestShare.hour < before)
        async with self.db.write() as session:
            await session.execute(shares)
            return changed(await session.execute(stmt))
