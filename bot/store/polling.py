"""What the poller remembers per account and job: account state and cursors.

Every decision that must be taken once across processes — the first poll, an outage starting
or ending — is one compare-and-set statement, so of two pollers racing only one sees ``True``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from bot.store.db import Queries, changed, scrub
from bot.store.tables import AccountState, AccountStateRow, Cursor, JobCursor, to_record

_CURSOR_FIELDS = [f.name for f in fields(Cursor)]  # account, job_id, then the values
_CHUNK = 500  # rows or bound ids per statement


class Accounts(Queries):
    """Per account: first poll, reachability, how the last poll went (``account_state``)."""

    async def state(self, account: str) -> AccountState | None:
        async with self.db.read() as session:
            row = await session.get(AccountStateRow, account)
            return None if row is None else to_record(AccountState, row)

    async def states(self) -> list[AccountState]:
        query = select(AccountStateRow).order_by(AccountStateRow.account)
        async with self.db.read() as session:
            return [to_record(AccountState, row) for row in await session.scalars(query)]

    async def mark_first_poll(self, account: str, now: datetime) -> bool:
        """Record the first poll of ``account``; True for the one caller that recorded it.

        A restart is not a first start: the row outlives the process.
        """
        insert = self.db.insert(AccountStateRow).values(
            account=account, first_polled_at=now, reachable=True, last_requests=0
        )
        stmt = insert.on_conflict_do_update(
            index_elements=[AccountStateRow.account],
            set_={"first_polled_at": insert.excluded.first_polled_at},
            where=AccountStateRow.first_polled_at.is_(None),
        ).returning(AccountStateRow.account)
        async with self.db.write() as session:
            return (await session.execute(stmt)).first() is not None

    async def set_reachable(
        self, account: str, reachable: bool, now: datetime, error: str | None = None
    ) -> bool:
        """Set whether ``account`` answers; True only for the call that changed it.

        Going down starts the outage (``outage_since``), coming back ends it. ``last_error``
        is kept current either way.
        """
        create = (
            self.db.insert(AccountStateRow)
            .values(account=account, reachable=True, last_requests=0)
            .on_conflict_do_nothing()
        )
        this_account = AccountStateRow.account == account
        flip = (
            update(AccountStateRow)
            .where(this_account, AccountStateRow.reachable != reachable)
            .values(reachable=reachable, outage_since=None if reachable else now)
        )
        note = update(AccountStateRow).where(this_account).values(last_error=scrub(error))
        async with self.db.write() as session:
            await session.execute(create)
            flipped = changed(await session.execute(flip)) == 1
            await session.execute(note)
        return flipped

    async def record_poll(
        self,
        account: str,
        now: datetime,
        *,
        ok: bool,
        requests: int,
        interval_s: float | None = None,
        skipped: bool = False,
    ) -> int:
        """How the latest poll went; how many polls in a row have failed since.

        A good poll resets the count; a failed one adds one; a ``skipped`` one (the request
        budget spent: no request was made) changes nothing. ``interval_s`` None keeps the
        interval already recorded.
        """
        values: dict[str, Any] = {"last_poll_at": now, "last_requests": requests}
        if ok:
            values["last_success_at"] = now
        if interval_s is not None:
            values["poll_interval_s"] = interval_s
        failed = 0 if ok else 1
        insert = self.db.insert(AccountStateRow).values(
            account=account, reachable=True, failed_polls=0 if skipped else failed, **values
        )
        counted = {
            "failed_polls": 0 if ok else AccountStateRow.failed_polls + (0 if skipped else 1)
        }
        stmt = insert.on_conflict_do_update(
            index_elements=[AccountStateRow.account],
            set_={**{name: insert.excluded[name] for name in values}, **counted},
        ).returning(AccountStateRow.failed_polls)
        async with self.db.write() as session:
            return int((await session.execute(stmt)).scalar_one())

    async def set_interval(self, account: str, seconds: float) -> None:
        """How often the account is polled now (as paced), for any process to show."""
        stmt = (
            update(AccountStateRow)
            .where(AccountStateRow.account == account)
            .values(poll_interval_s=seconds)
        )
        async with self.db.write() as session:
            await session.execute(stmt)

    async def add_poll_requests(self, account: str, requests: int) -> None:
        """Count requests made after the poll was recorded (its history reads)."""
        stmt = (
            update(AccountStateRow)
            .where(AccountStateRow.account == account)
            .values(last_requests=AccountStateRow.last_requests + requests)
        )
        async with self.db.write() as session:
            await session.execute(stmt)


class Cursors(Queries):
    """The last execution seen of each job and its run of failures (``job_cursor``)."""

    async def of(self, account: str) -> dict[str, Cursor]:
        """The cursors of ``account`` by job id (plain rows: thousands are read each poll)."""
        columns = [getattr(JobCursor, name) for name in _CURSOR_FIELDS]
        query = select(*columns).where(JobCursor.account == account)
        async with self.db.connection() as connection:  # Core rows: no ORM identity map
            rows = await connection.execute(query)
            return {row.job_id: Cursor(*row) for row in rows}

    async def save(
        self,
        account: str,
        job_id: str,
        *,
        last_id: str | None,
        last_run: datetime | None,
        last_result: str,
        streak: int,
        now: datetime,
        recent: str = "",
    ) -> None:
        cursor = Cursor(account, job_id, last_id, last_run, last_result, streak, now, recent)
        await self.save_many([cursor])

    async def save_many(self, cursors: Sequence[Cursor]) -> None:
        """Insert or replace many cursors in one transaction."""
        if not cursors:
            return
        insert = self.db.insert(JobCursor)
        stmt = insert.on_conflict_do_update(
            index_elements=[JobCursor.account, JobCursor.job_id],
            set_={name: insert.excluded[name] for name in _CURSOR_FIELDS[2:]},
        )
        rows = [{name: getattr(c, name) for name in _CURSOR_FIELDS} for c in cursors]
        async with self.db.write() as session:
            for start in range(0, len(rows), _CHUNK):
                await session.execute(stmt, rows[start : start + _CHUNK])

    async def drop(self, account: str, keep: Collection[str]) -> int:
        """Forget the jobs of ``account`` not in ``keep`` (deleted jobs); how many were."""
        kept = set(keep)
        query = select(JobCursor.job_id).where(JobCursor.account == account)
        async with self.db.write() as session:
            stale = [job_id for job_id in await session.scalars(query) if job_id not in kept]
            for start in range(0, len(stale), _CHUNK):  # within every database's bound limits
                chunk = stale[start : start + _CHUNK]
                await session.execute(
                    delete(JobCursor).where(
                        JobCursor.account == account, JobCursor.job_id.in_(chunk)
                    )
                )
            return len(stale)
