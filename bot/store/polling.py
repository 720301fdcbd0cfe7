"""The poller's half of the Store: account state, cursors and incidents.

:class:`AlertStore` is a mixin of :class:`bot.store.Store`, which brings the engine, the
sessions and the dialect's ``insert``; the transaction machinery (``unit``) and the scrubbing
of free text live in :mod:`bot.store_base`. Every decision that must be taken once across
processes — the first poll, an outage starting or ending, an incident opening, resolving or
being acknowledged — is one compare-and-set statement, so of two pollers racing only one sees
``True`` (or a record) and the other ``False`` (or None). Free text that may carry a secret
(errors, failure details) is scrubbed before it is stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from bot.db_models import (
    AccountState,
    AccountStateRow,
    Cursor,
    Incident,
    IncidentRow,
    JobCursor,
    to_record,
)
from bot.store_base import StoreBase, _changed, _scrub, _scrub_json

_CURSOR_FIELDS = [f.name for f in fields(Cursor)]  # account, job_id, then the values
_CHUNK = 500  # rows or bound ids per statement


class AlertStore(StoreBase):
    """What the poller remembers. Mixed into :class:`bot.store.Store`."""

    # -- account state ----------------------------------------------------------------------
    async def account_state(self, account: str) -> AccountState | None:
        async with self._session() as session:
            row = await session.get(AccountStateRow, account)
            return None if row is None else to_record(AccountState, row)

    async def account_states(self) -> list[AccountState]:
        query = select(AccountStateRow).order_by(AccountStateRow.account)
        async with self._session() as session:
            return [to_record(AccountState, row) for row in await session.scalars(query)]

    async def mark_first_poll(self, account: str, now: datetime) -> bool:
        """Record the first poll of ``account``; True for the one caller that recorded it.

        A restart is not a first start: the row outlives the process.
        """
        insert = self._insert(AccountStateRow).values(
            account=account, first_polled_at=now, reachable=True, last_requests=0
        )
        stmt = insert.on_conflict_do_update(
            index_elements=[AccountStateRow.account],
            set_={"first_polled_at": insert.excluded.first_polled_at},
            where=AccountStateRow.first_polled_at.is_(None),
        ).returning(AccountStateRow.account)
        async with self._write() as session:
            return (await session.execute(stmt)).first() is not None

    async def set_reachable(
        self, account: str, reachable: bool, now: datetime, error: str | None = None
    ) -> bool:
        """Set whether ``account`` answers; True only for the call that changed it.

        Going down starts the outage (``outage_since``), coming back ends it. ``last_error``
        is kept current either way.
        """
        create = (
            self._insert(AccountStateRow)
            .values(account=account, reachable=True, last_requests=0)
            .on_conflict_do_nothing()
        )
        this_account = AccountStateRow.account == account
        flip = (
            update(AccountStateRow)
            .where(this_account, AccountStateRow.reachable != reachable)
            .values(reachable=reachable, outage_since=None if reachable else now)
        )
        note = update(AccountStateRow).where(this_account).values(last_error=_scrub(error))
        async with self._write() as session:
            await session.execute(create)
            changed = _changed(await session.execute(flip)) == 1
            await session.execute(note)
        return changed

    async def record_poll(
        self,
        account: str,
        now: datetime,
        *,
        ok: bool,
        requests: int,
        interval_s: float | None = None,
    ) -> None:
        """How the latest poll went; ``interval_s`` None keeps the interval already recorded."""
        values: dict[str, Any] = {"last_poll_at": now, "last_requests": requests}
        if ok:
            values["last_success_at"] = now
        if interval_s is not None:
            values["poll_interval_s"] = interval_s
        insert = self._insert(AccountStateRow).values(account=account, reachable=True, **values)
        stmt = insert.on_conflict_do_update(
            index_elements=[AccountStateRow.account],
            set_={name: insert.excluded[name] for name in values},
        )
        async with self._write() as session:
            await session.execute(stmt)

    async def add_poll_requests(self, account: str, requests: int) -> None:
        """Count requests made after the poll was recorded (its history reads)."""
        stmt = (
            update(AccountStateRow)
            .where(AccountStateRow.account == account)
            .values(last_requests=AccountStateRow.last_requests + requests)
        )
        async with self._write() as session:
            await session.execute(stmt)

    # -- cursors ----------------------------------------------------------------------------
    async def cursors(self, account: str) -> dict[str, Cursor]:
        """The cursors of ``account`` by job id (plain rows: thousands are read each poll)."""
        columns = [getattr(JobCursor, name) for name in _CURSOR_FIELDS]
        query = select(*columns).where(JobCursor.account == account)
        async with self.engine.connect() as connection:  # Core rows: no ORM identity map
            rows = await connection.execute(query)
            return {row.job_id: Cursor(*row) for row in rows}

    async def save_cursor(
        self,
        account: str,
        job_id: str,
        *,
        last_id: str | None,
        last_run: datetime | None,
        last_result: str,
        streak: int,
        now: datetime,
    ) -> None:
        await self.save_cursors(
            [Cursor(account, job_id, last_id, last_run, last_result, streak, now)]
        )

    async def save_cursors(self, cursors: Sequence[Cursor]) -> None:
        """Insert or replace many cursors in one transaction."""
        if not cursors:
            return
        insert = self._insert(JobCursor)
        stmt = insert.on_conflict_do_update(
            index_elements=[JobCursor.account, JobCursor.job_id],
            set_={name: insert.excluded[name] for name in _CURSOR_FIELDS[2:]},
        )
        rows = [{name: getattr(c, name) for name in _CURSOR_FIELDS} for c in cursors]
        async with self._write() as session:
            for start in range(0, len(rows), _CHUNK):
                await session.execute(stmt, rows[start : start + _CHUNK])

    async def drop_cursors(self, account: str, keep: Collection[str]) -> int:
        """Forget the jobs of ``account`` not in ``keep`` (deleted jobs); how many were."""
        kept = set(keep)
        query = select(JobCursor.job_id).where(JobCursor.account == account)
        async with self._write() as session:
            stale = [job_id for job_id in await session.scalars(query) if job_id not in kept]
            for start in range(0, len(stale), _CHUNK):  # within every database's bound limits
                chunk = stale[start : start + _CHUNK]
                await session.execute(
                    delete(JobCursor).where(
                        JobCursor.account == account, JobCursor.job_id.in_(chunk)
                    )
                )
            return len(stale)

    # -- incidents --------------------------------------------------------------------------
    async def open_incident(
        self,
        account: str,
        job_id: str,
        *,
        ref: str,
        job_name: str,
        now: datetime,
        failures: int,
        detail: Mapping[str, Any],
        muted: bool = False,
    ) -> Incident | None:
        """Open the job's incident; None if one is open already (the database decides)."""
        stmt = (
            self._insert(IncidentRow)
            .values(
                account=account,
                job_id=job_id,
                ref=ref,
                job_name=job_name,
                status="open",
                opened_at=now,
                last_seen_at=now,
                failures=failures,
                detail=_scrub_json(detail),
                muted=muted,
            )
            .on_conflict_do_nothing()
            .returning(IncidentRow)
        )
        async with self._write() as session:
            row = (await session.scalars(stmt)).one_or_none()
            return None if row is None else to_record(Incident, row)

    async def current_incident(self, account: str, job_id: str) -> Incident | None:
        """The job's open incident, if any."""
        query = select(IncidentRow).where(
            IncidentRow.account == account,
            IncidentRow.job_id == job_id,
            IncidentRow.status == "open",
        )
        async with self._session() as session:
            row = await session.scalar(query)
            return None if row is None else to_record(Incident, row)

    async def incident(self, incident_id: int) -> Incident | None:
        async with self._session() as session:
            row = await session.get(IncidentRow, incident_id)
            return None if row is None else to_record(Incident, row)

    async def open_incidents(self, account: str | None = None) -> list[Incident]:
        """Open incidents, oldest first; of one account if given."""
        query = select(IncidentRow).where(IncidentRow.status == "open")
        if account is not None:
            query = query.where(IncidentRow.account == account)
        query = query.order_by(IncidentRow.opened_at, IncidentRow.id)
        async with self._session() as session:
            return [to_record(Incident, row) for row in await session.scalars(query)]

    async def add_failures(
        self, incident_id: int, n: int, now: datetime, detail: Mapping[str, Any]
    ) -> Incident | None:
        """Count ``n`` more failures of an open incident; None once it is resolved."""
        return await self._update_open(
            incident_id,
            failures=IncidentRow.failures + n,
            last_seen_at=now,
            detail=_scrub_json(detail),
        )

    async def resolve_incident(self, incident_id: int, now: datetime) -> Incident | None:
        """Resolve an open incident; None if it was not open (someone else resolved it)."""
        return await self._update_open(incident_id, status="resolved", resolved_at=now)

    async def acknowledge(self, incident_id: int, user: str, now: datetime) -> Incident | None:
        """The first acknowledgement of an open incident; None if acked already or resolved."""
        return await self._update_open(
            incident_id, IncidentRow.acked_by.is_(None), acked_by=user, acked_at=now
        )

    async def _update_open(
        self, incident_id: int, *conditions: Any, **values: Any
    ) -> Incident | None:
        stmt = (
            update(IncidentRow)
            .where(IncidentRow.id == incident_id, IncidentRow.status == "open", *conditions)
            .values(**values)
            .returning(IncidentRow)
        )
        async with self._write() as session:
            row = (await session.scalars(stmt)).one_or_none()
            return None if row is None else to_record(Incident, row)
