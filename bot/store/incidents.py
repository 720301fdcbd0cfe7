"""Incidents: a failing job, open until it recovers, at most one open per job.

Opening, resolving and acknowledging are each one compare-and-set statement, so of two pollers
(or a poller and a button) racing, only one gets the record and the other None. Failure
details are scrubbed of secrets before they are stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from bot.store.db import Queries, changed, scrub_json
from bot.store.tables import Incident, IncidentRow, to_record


class Incidents(Queries):
    """Table ``incident``."""

    async def open(
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
        flapping: bool = False,
    ) -> Incident | None:
        """Open the job's incident; None if one is open already (the database decides)."""
        stmt = (
            self.db.insert(IncidentRow)
            .values(
                account=account,
                job_id=job_id,
                ref=ref,
                job_name=job_name,
                status="open",
                opened_at=now,
                last_seen_at=now,
                failures=failures,
                detail=scrub_json(detail),
                muted=muted,
                flapping=flapping,
            )
            .on_conflict_do_nothing()
            .returning(IncidentRow)
        )
        async with self.db.write() as session:
            row = (await session.scalars(stmt)).one_or_none()
            return None if row is None else to_record(Incident, row)

    async def current(self, account: str, job_id: str) -> Incident | None:
        """The job's open incident, if any."""
        query = select(IncidentRow).where(
            IncidentRow.account == account,
            IncidentRow.job_id == job_id,
            IncidentRow.status == "open",
        )
        async with self.db.read() as session:
            row = await session.scalar(query)
            return None if row is None else to_record(Incident, row)

    async def get(self, incident_id: int) -> Incident | None:
        async with self.db.read() as session:
            row = await session.get(IncidentRow, incident_id)
            return None if row is None else to_record(Incident, row)

    async def all_open(self, account: str | None = None) -> list[Incident]:
        """Open incidents, oldest first; of one account if given."""
        query = select(IncidentRow).where(IncidentRow.status == "open")
        if account is not None:
            query = query.where(IncidentRow.account == account)
        query = query.order_by(IncidentRow.opened_at, IncidentRow.id)
        async with self.db.read() as session:
            return [to_record(Incident, row) for row in await session.scalars(query)]

    async def changed_between(self, start: datetime, end: datetime) -> list[Incident]:
        """Incidents opened or resolved from ``start`` up to (not including) ``end``, in the
        order they opened."""
        opened = (IncidentRow.opened_at >= start) & (IncidentRow.opened_at < end)
        resolved = (IncidentRow.resolved_at >= start) & (IncidentRow.resolved_at < end)
        query = (
            select(IncidentRow)
            .where(opened | resolved)
            .order_by(IncidentRow.opened_at, IncidentRow.id)
        )
        async with self.db.read() as session:
            return [to_record(Incident, row) for row in await session.scalars(query)]

    async def add_failures(
        self, incident_id: int, n: int, now: datetime, detail: Mapping[str, Any]
    ) -> Incident | None:
        """Count ``n`` more failures of an open incident; None once it is resolved."""
        return await self._update_open(
            incident_id,
            failures=IncidentRow.failures + n,
            last_seen_at=now,
            detail=scrub_json(detail),
        )

    async def mark_flapping(self, incident_id: int, now: datetime) -> Incident | None:
        """Mark an open incident flapping (its job keeps failing and recovering); None if it
        was not open or was marked already."""
        return await self._update_open(
            incident_id, IncidentRow.flapping.is_(False), flapping=True, last_seen_at=now
        )

    async def resolve(self, incident_id: int, now: datetime) -> Incident | None:
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
        async with self.db.write() as session:
            row = (await session.scalars(stmt)).one_or_none()
            return None if row is None else to_record(Incident, row)

    async def prune(self, before: datetime) -> int:
        """Forget incidents resolved before ``before`` (open ones are always kept); how many."""
        stmt = delete(IncidentRow).where(
            IncidentRow.status == "resolved", IncidentRow.resolved_at < before
        )
        async with self.db.write() as session:
            return changed(await session.execute(stmt))
