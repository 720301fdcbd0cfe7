"""The outbox: Slack messages to post, update or reply with, each sent exactly once.

A message is enqueued once under its idempotency key — one compare-and-set statement, so of
two pollers racing only one sees ``True`` — and its payload and send errors are scrubbed of
secrets before they are stored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, false, func, select, true, update
from sqlalchemy.orm import aliased

from bot.store.db import Queries, changed, scrub, scrub_json
from bot.store.tables import OutboxItem, OutboxRow, to_record

OUTBOX_KINDS = frozenset({"post", "update", "reply"})
SUPERSEDED = "superseded"


class Outbox(Queries):
    """Table ``outbox``."""

    async def enqueue(
        self,
        key: str,
        kind: str,
        channel: str,
        payload: Mapping[str, Any],
        *,
        now: datetime,
        target_key: str | None = None,
        incident_id: int | None = None,
        due: datetime | None = None,
    ) -> bool:
        """Queue a Slack message under an idempotency ``key``; False (a no-op) if queued before.

        ``update`` and ``reply`` need ``target_key``: the key of the post they refer to.
        ``due`` (default ``now``) is when it is first sent.
        """
        if kind not in OUTBOX_KINDS:
            raise ValueError(f"outbox kind {kind!r}; use one of {sorted(OUTBOX_KINDS)}")
        if kind != "post" and target_key is None:
            raise ValueError(f"an outbox {kind} needs the target_key of its post")
        stmt = (
            self.db.insert(OutboxRow)
            .values(
                key=key,
                kind=kind,
                channel=channel,
                payload=scrub_json(payload),
                target_key=target_key,
                incident_id=incident_id,
                created_at=now,
                next_attempt_at=due or now,
                attempts=0,
                gave_up=False,
            )
            .on_conflict_do_nothing(index_elements=[OutboxRow.key])
            .returning(OutboxRow.id)
        )
        async with self.db.write() as session:
            return (await session.execute(stmt)).first() is not None

    async def release(self, keys: Collection[str], now: datetime) -> int:
        """Make the unsent messages queued under ``keys`` due at ``now``; how many."""
        if not keys:
            return 0
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.key.in_(list(keys)), _pending(), OutboxRow.next_attempt_at > now)
            .values(next_attempt_at=now)
        )
        async with self.db.write() as session:
            return changed(await session.execute(stmt))

    async def due(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Unsent messages due by ``now``, in the order they were queued."""
        query = (
            select(OutboxRow)
            .where(_pending(), OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        async with self.db.read() as session:
            return [to_record(OutboxItem, row) for row in await session.scalars(query)]

    async def claim(
        self, now: datetime, owner: str, *, lease: timedelta, limit: int = 50,
        keys: Collection[str] | None = None,
    ) -> list[OutboxItem]:  # fmt: skip
        """Claim unsent messages due by ``now`` (of ``keys`` only, if given), oldest first.

        A claimed row is this deliverer's until ``now + lease``: another process (or another
        deliverer in this one) skips it, and picks it up again only if the claim expires
        because its owner died. On PostgreSQL the rows are chosen ``FOR UPDATE SKIP LOCKED``,
        so concurrent deliverers never wait on each other.
        """
        chosen = (
            select(OutboxRow.id)
            .where(_pending(), OutboxRow.next_attempt_at <= now, _unclaimed(now))
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        if keys is not None:
            chosen = chosen.where(OutboxRow.key.in_(list(keys)))
        if self.db.dialect == "postgresql":
            chosen = chosen.with_for_update(skip_locked=True)
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id.in_(chosen.scalar_subquery()), _unclaimed(now))
            .values(claimed_until=now + lease, claimed_by=owner)
            .returning(OutboxRow)
            .execution_options(synchronize_session=False)
        )
        async with self.db.write() as session:
            rows = [to_record(OutboxItem, row) for row in await session.scalars(stmt)]
        return sorted(rows, key=lambda item: item.id)

    async def begin_attempt(self, item_id: int, now: datetime) -> int:
        """Count an attempt to send; the attempts made BEFORE this one.

        More than 0 means an earlier attempt may have reached Slack: look for that post before
        posting again. ``now`` (when the attempt starts) is not stored: the count is the fact.
        """
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(attempts=OutboxRow.attempts + 1)
            .returning(OutboxRow.attempts)
        )
        async with self.db.write() as session:
            attempts = (await session.execute(stmt)).scalar_one_or_none()
        if attempts is None:
            raise LookupError(f"no outbox item {item_id}")
        return attempts - 1

    async def mark_sent(self, item_id: int, now: datetime, ts: str | None) -> None:
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(sent_at=now, ts=ts, error=None, claimed_until=None)
        )
        async with self.db.write() as session:
            await session.execute(stmt)

    async def mark_retry(self, item_id: int, next_at: datetime, error: str) -> None:
        """Send it again at ``next_at``."""
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id, OutboxRow.sent_at.is_(None))
            .values(next_attempt_at=next_at, error=scrub(error), claimed_until=None)
        )
        async with self.db.write() as session:
            await session.execute(stmt)

    async def give_up(self, item_id: int, error: str) -> None:
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id == item_id, OutboxRow.sent_at.is_(None))
            .values(gave_up=True, error=scrub(error), claimed_until=None)
        )
        async with self.db.write() as session:
            await session.execute(stmt)

    async def sent_post(self, key: str) -> tuple[str, str] | None:
        """(channel, ts) of the message sent under ``key``, for its updates and replies."""
        query = select(OutboxRow.channel, OutboxRow.ts).where(
            OutboxRow.key == key, OutboxRow.sent_at.is_not(None), OutboxRow.ts.is_not(None)
        )
        async with self.db.read() as session:
            row = (await session.execute(query)).first()
        return None if row is None or row.ts is None else (row.channel, row.ts)

    async def outcome(self, key: str) -> str | None:
        """``sent``, ``failed`` (given up), ``waiting`` or None (no such message)."""
        query = select(OutboxRow.sent_at, OutboxRow.gave_up).where(OutboxRow.key == key)
        async with self.db.read() as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None
        return "sent" if row.sent_at is not None else "failed" if row.gave_up else "waiting"

    async def queued_at(self, key: str) -> datetime | None:
        """When the message ``key`` was queued, if it was (and is not pruned yet)."""
        query = select(OutboxRow.created_at).where(OutboxRow.key == key)
        async with self.db.read() as session:
            return await session.scalar(query)

    async def pending(self, key: str) -> bool:
        """Whether a message queued under ``key`` is still to be sent (not sent, not given up)."""
        query = select(OutboxRow.id).where(OutboxRow.key == key, _pending())
        async with self.db.read() as session:
            return (await session.scalar(query)) is not None

    async def supersede_updates(self, target_key: str, keep_id: int) -> int:
        """Skip the unsent updates of ``target_key`` older than ``keep_id``; how many.

        Only the newest rendering of a message needs sending. The skipped ones count as sent
        (``ts`` None, error "superseded") when ``keep_id`` was queued.
        """
        keep = aliased(OutboxRow)
        kept_at = (
            select(keep.created_at)
            .where(keep.id == keep_id, keep.kind == "update", keep.target_key == target_key)
            .scalar_subquery()
        )
        stmt = (
            update(OutboxRow)
            .where(
                _pending(),
                OutboxRow.kind == "update",
                OutboxRow.target_key == target_key,
                OutboxRow.id < keep_id,
                kept_at.is_not(None),
            )
            .values(sent_at=kept_at, ts=None, error=SUPERSEDED)
            .execution_options(synchronize_session=False)
        )
        async with self.db.write() as session:
            return changed(await session.execute(stmt))

    async def depth(self) -> int:
        """Messages still to send (not sent, not given up)."""
        query = select(func.count()).select_from(OutboxRow).where(_pending())
        async with self.db.read() as session:
            return (await session.scalar(query)) or 0

    async def prune(self, before: datetime) -> int:
        """Forget messages sent, or given up, before ``before``; how many."""
        done = OutboxRow.sent_at < before
        abandoned = (OutboxRow.gave_up == true()) & (OutboxRow.created_at < before)
        async with self.db.write() as session:
            return changed(await session.execute(delete(OutboxRow).where(done | abandoned)))


def _pending() -> Any:
    return (OutboxRow.sent_at.is_(None)) & (OutboxRow.gave_up == false())


def _unclaimed(now: datetime) -> Any:
    return OutboxRow.claimed_until.is_(None) | (OutboxRow.claimed_until <= now)
