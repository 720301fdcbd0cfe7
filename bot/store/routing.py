"""Who hears about what: channel subscriptions and muted jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, literal, select

from bot.store.db import Queries, changed
from bot.store.tables import Mute, MuteRow, Subscription, SubscriptionRow, UTCDateTime, to_record


class Subscriptions(Queries):
    """Channels that get the alerts of an account, a job or names with some text in them."""

    async def add(
        self, channel: str, target: str, user: str, now: datetime, except_text: str = ""
    ) -> bool:
        """Subscribe ``channel`` to ``target`` as typed, less the jobs whose names contain
        ``except_text`` ('' for none); False if it was, in any letter case."""
        columns = SubscriptionRow.__table__.c
        typed = literal(target, columns.target.type)  # cut to fit, as a plain insert is
        leaving_out = literal(except_text, columns.except_text.type)
        taken = exists().where(_same(channel, typed, leaving_out))
        row = select(
            literal(channel, columns.channel.type), typed, leaving_out,
            literal(user, columns.created_by.type), literal(now, UTCDateTime()),
        ).where(~taken)  # fmt: skip
        stmt = (
            self.db.insert(SubscriptionRow)
            .from_select(["channel", "target", "except_text", "created_by", "created_at"], row)
            .on_conflict_do_nothing()
            .returning(SubscriptionRow.id)
        )
        async with self.db.write() as session:
            return (await session.execute(stmt)).first() is not None

    async def remove(self, channel: str, target: str, except_text: str = "") -> bool:
        """Unsubscribe ``channel`` from ``target`` with exactly that ``except_text`` (in any
        letter case); False if it was not subscribed so."""
        columns = SubscriptionRow.__table__.c
        stmt = delete(SubscriptionRow).where(
            _same(
                channel,
                literal(target, columns.target.type),
                literal(except_text, columns.except_text.type),
            )
        )
        async with self.db.write() as session:
            return changed(await session.execute(stmt)) > 0

    async def all(self, channel: str | None = None) -> list[Subscription]:
        query = select(SubscriptionRow).order_by(SubscriptionRow.channel, SubscriptionRow.id)
        if channel is not None:
            query = query.where(SubscriptionRow.channel == channel)
        async with self.db.read() as session:
            return [to_record(Subscription, row) for row in await session.scalars(query)]


def _same(channel: str, target: Any, except_text: Any) -> ColumnElement[bool]:
    """The channel's subscription to ``target`` less ``except_text``, in any letter case."""
    return and_(
        SubscriptionRow.channel == channel,
        func.lower(SubscriptionRow.target) == func.lower(target),
        func.lower(SubscriptionRow.except_text) == func.lower(except_text),
    )


class Mutes(Queries):
    """Jobs whose alerts are not posted, for a while or until they recover."""

    async def set(self, ref: str, until: datetime | None, user: str, now: datetime) -> Mute:
        """Mute ``ref`` until ``until`` (None: until it recovers); replaces an earlier mute."""
        values = {"until": until, "created_by": user, "created_at": now}
        insert = self.db.insert(MuteRow).values(ref=ref, **values)
        stmt = insert.on_conflict_do_update(
            index_elements=[MuteRow.ref], set_={name: insert.excluded[name] for name in values}
        )
        async with self.db.write() as session:
            await session.execute(stmt)
        return Mute(ref=ref, until=until, created_by=user, created_at=now)

    async def remove(self, ref: str) -> bool:
        async with self.db.write() as session:
            return changed(await session.execute(delete(MuteRow).where(MuteRow.ref == ref))) > 0

    async def active(self, ref: str, now: datetime) -> Mute | None:
        query = select(MuteRow).where(
            MuteRow.ref == ref, MuteRow.until.is_(None) | (MuteRow.until > now)
        )
        async with self.db.read() as session:
            row = await session.scalar(query)
            return None if row is None else to_record(Mute, row)

    async def all_active(self, now: datetime) -> dict[str, Mute]:
        """Every mute in force at ``now``, by ref."""
        query = select(MuteRow).where(MuteRow.until.is_(None) | (MuteRow.until > now))
        async with self.db.read() as session:
            return {row.ref: to_record(Mute, row) for row in await session.scalars(query)}

    async def end_until_recovery(self, ref: str) -> bool:
        """The job recovered: end its "until it recovers" mute; a timed mute stays."""
        stmt = delete(MuteRow).where(MuteRow.ref == ref, MuteRow.until.is_(None))
        async with self.db.write() as session:
            return changed(await session.execute(stmt)) > 0

    async def prune(self, now: datetime) -> int:
        """Forget mutes that ended (their ``until`` is past); how many."""
        stmt = delete(MuteRow).where(MuteRow.until.is_not(None), MuteRow.until <= now)
        async with self.db.write() as session:
            return changed(await session.execute(stmt))
