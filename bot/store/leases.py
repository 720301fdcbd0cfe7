"""Who does which work when several cronops processes share one database.

Processes say they are alive (``process``: a heartbeat row each), and whoever does a piece of
work holds a lease on it (``lease``: one row per piece, e.g. ``poll:prod``, with an owner and
an expiry the owner keeps renewing). Taking, renewing and giving up a lease is one
compare-and-set statement each, on SQLite and PostgreSQL alike: a lease is taken only when
it is free, expired, or already the taker's. A process that dies stops renewing; its leases
expire and others take them. Nothing here needs a session-level lock, so a connection pooler
in transaction mode (PgBouncer) in front of PostgreSQL works.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update

from bot.store.db import Queries, changed
from bot.store.tables import LeaseRow, ProcessRow


def process_name() -> str:
    """A name for this process, as leases and claims name their owner: host, pid, a tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    owner: str
    expires_at: datetime
    taken_at: datetime


class Leases(Queries):
    """Tables ``lease`` and ``process``."""

    async def beat(self, process: str, now: datetime) -> None:
        """``process`` is alive at ``now``."""
        insert = self.db.insert(ProcessRow).values(name=process, started_at=now, seen_at=now)
        stmt = insert.on_conflict_do_update(
            index_elements=[ProcessRow.name], set_={"seen_at": insert.excluded.seen_at}
        )
        async with self.db.write() as session:
            await session.execute(stmt)

    async def live(self, now: datetime, stale: timedelta) -> list[str]:
        """The processes heard from within ``stale``, by name."""
        query = select(ProcessRow.name).where(ProcessRow.seen_at > now - stale)
        async with self.db.read() as session:
            return sorted(await session.scalars(query.order_by(ProcessRow.name)))

    async def gone(self, process: str) -> None:
        """``process`` stops: its heartbeat and its leases go, so others take over at once."""
        async with self.db.write() as session:
            await session.execute(delete(LeaseRow).where(LeaseRow.owner == process))
            await session.execute(delete(ProcessRow).where(ProcessRow.name == process))

    async def take(self, name: str, owner: str, now: datetime, ttl: timedelta) -> Lease | None:
        """Take or renew lease ``name`` until ``now + ttl``; None if someone else holds it."""
        insert = self.db.insert(LeaseRow).values(
            name=name, owner=owner, expires_at=now + ttl, taken_at=now
        )
        mine_or_free = (LeaseRow.owner == owner) | (LeaseRow.expires_at <= now)
        taken_at = (LeaseRow.owner == owner) & (LeaseRow.expires_at > now)
        stmt = insert.on_conflict_do_update(
            index_elements=[LeaseRow.name],
            set_={
                "owner": owner,
                "expires_at": now + ttl,
                "taken_at": case((taken_at, LeaseRow.taken_at), else_=now),
            },
            where=mine_or_free,
        ).returning(LeaseRow)
        async with self.db.write() as session:
            row = (await session.scalars(stmt)).one_or_none()
            return None if row is None else Lease(row.name, row.owner, row.expires_at, row.taken_at)

    async def give_up(self, name: str, owner: str, now: datetime) -> bool:
        """Give lease ``name`` up if ``owner`` holds it: it expires ``now``, for another to
        take at once. The row stays, so whoever reads it knows it was held until now (a
        handed-over lease is not one nobody ever took)."""
        stmt = (
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.owner == owner, LeaseRow.expires_at > now)
            .values(expires_at=now)
        )
        async with self.db.write() as session:
            return changed(await session.execute(stmt)) == 1

    async def all(self) -> dict[str, Lease]:
        """Every lease, expired ones too, by name."""
        async with self.db.read() as session:
            rows = await session.scalars(select(LeaseRow).order_by(LeaseRow.name))
            return {r.name: Lease(r.name, r.owner, r.expires_at, r.taken_at) for r in rows}

    async def prune(self, before: datetime) -> int:
        """Forget processes not heard from since ``before`` and leases that ran out before it
        (a killed process leaves both behind); how many rows."""
        async with self.db.write() as session:
            leases = await session.execute(delete(LeaseRow).where(LeaseRow.expires_at < before))
            processes = await session.execute(delete(ProcessRow).where(ProcessRow.seen_at < before))
            return changed(leases) + changed(processes)
