"""Changes made through the bot: the audit log and timed resumes (`/cron pause REF 2h`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from bot.store.db import Queries, changed, scrub
from bot.store.tables import AuditEntry, AuditLog, Resume, ScheduledResume, to_record


class Audit(Queries):
    """Every change made through the bot: who, what, on which job, and whether it worked."""

    async def record(
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
            detail=scrub(detail),
            ok=ok,
            error=None if error is None else scrub(error),
        )
        async with self.db.write() as session:
            session.add(row)
        return to_record(AuditEntry, row)

    async def recent(self, limit: int = 20) -> list[AuditEntry]:
        """The latest entries, newest first."""
        query = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
        async with self.db.read() as session:
            return [to_record(AuditEntry, row) for row in await session.scalars(query)]

    async def prune(self, before: datetime) -> int:
        """Forget entries older than ``before``; how many."""
        async with self.db.write() as session:
            return changed(await session.execute(delete(AuditLog).where(AuditLog.at < before)))


class Resumes(Queries):
    """Jobs paused for a while, to be resumed by the bot when the pause ends."""

    async def schedule(
        self,
        *,
        ref: str,
        account: str,
        due_at: datetime,
        requested_by: str,
        channel: str,
        now: datetime,
        message_key: str | None = None,
    ) -> Resume:
        """Resume ``ref`` at ``due_at``; replaces (cancels) any open timed resume of ``ref``.

        ``message_key`` is the outbox key of the announcement of the pause: the resume replies
        in its thread.
        """
        row = ScheduledResume(
            ref=ref,
            account=account,
            due_at=due_at,
            requested_by=requested_by,
            channel=channel,
            message_key=message_key,
            created_at=now,
            attempts=0,
        )
        async with self.db.write() as session:
            await session.execute(self._close_open(ref, now))
            session.add(row)
        return to_record(Resume, row)

    async def due(self, now: datetime, *, max_attempts: int = 5) -> list[Resume]:
        """Open resumes due by ``now`` that have failed fewer than ``max_attempts`` times."""
        query = (
            select(ScheduledResume)
            .where(
                ScheduledResume.done_at.is_(None),
                ScheduledResume.due_at <= now,
                ScheduledResume.attempts < max_attempts,
                _unclaimed(now),
            )
            .order_by(ScheduledResume.due_at, ScheduledResume.id)
        )
        async with self.db.read() as session:
            return [to_record(Resume, row) for row in await session.scalars(query)]

    async def claim(self, resume_id: int, now: datetime, lease: timedelta) -> bool:
        """Take an open resume to run it, before calling the provider; False if it is
        cancelled, done, or being run by someone else (until their claim expires)."""
        stmt = (
            update(ScheduledResume)
            .where(
                ScheduledResume.id == resume_id,
                ScheduledResume.done_at.is_(None),
                _unclaimed(now),
            )
            .values(claimed_until=now + lease)
        )
        async with self.db.write() as session:
            return changed(await session.execute(stmt)) == 1

    async def mark_done(self, resume_id: int, now: datetime) -> bool:
        """Close a resume as resumed; False if it was already closed (e.g. cancelled)."""
        stmt = (
            update(ScheduledResume)
            .where(ScheduledResume.id == resume_id, ScheduledResume.done_at.is_(None))
            .values(done_at=now, outcome="resumed", claimed_until=None)
        )
        async with self.db.write() as session:
            return changed(await session.execute(stmt)) == 1

    async def mark_failed(
        self, resume_id: int, error: str, *, retry_at: datetime | None = None
    ) -> None:
        """Count a failed attempt; it stays open, due again at ``retry_at`` if given."""
        values: dict[str, Any] = {
            "attempts": ScheduledResume.attempts + 1,
            "last_error": scrub(error),
            "claimed_until": None,
        }
        if retry_at is not None:
            values["due_at"] = retry_at
        stmt = update(ScheduledResume).where(ScheduledResume.id == resume_id).values(**values)
        async with self.db.write() as session:
            await session.execute(stmt)

    async def cancel(self, ref: str, now: datetime) -> int:
        """Cancel the open timed resumes of ``ref`` (a manual resume); how many were open."""
        async with self.db.write() as session:
            return changed(await session.execute(self._close_open(ref, now)))

    async def all_pending(self) -> list[Resume]:
        """Every open timed resume, the soonest due first."""
        query = (
            select(ScheduledResume)
            .where(ScheduledResume.done_at.is_(None))
            .order_by(ScheduledResume.due_at, ScheduledResume.id)
        )
        async with self.db.read() as session:
            return [to_record(Resume, row) for row in await session.scalars(query)]

    async def pending(self, ref: str) -> Resume | None:
        query = (
            select(ScheduledResume)
            .where(ScheduledResume.ref == ref, ScheduledResume.done_at.is_(None))
            .order_by(ScheduledResume.id.desc())
            .limit(1)
        )
        async with self.db.read() as session:
            row = await session.scalar(query)
            return None if row is None else to_record(Resume, row)

    @staticmethod
    def _close_open(ref: str, now: datetime) -> Any:
        return (
            update(ScheduledResume)
            .where(ScheduledResume.ref == ref, ScheduledResume.done_at.is_(None))
            .values(done_at=now, outcome="cancelled")
        )

    async def prune(self, before: datetime) -> int:
        """Forget resumes closed (done or cancelled) before ``before``; how many."""
        stmt = delete(ScheduledResume).where(ScheduledResume.done_at < before)
        async with self.db.write() as session:
            return changed(await session.execute(stmt))


def _unclaimed(now: datetime) -> Any:
    return ScheduledResume.claimed_until.is_(None) | (ScheduledResume.claimed_until <= now)
