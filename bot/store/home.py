"""Who looks at the bot's Home tab (table ``home_viewer``), and when it was last published.

Publishing a Home is debounced across processes here: :meth:`HomeViewers.claim` is one
compare-and-set statement, so of several processes refreshing the same person's Home within
the debounce interval only one publishes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from bot.store.db import Queries, changed
from bot.store.tables import HomeViewer


class HomeViewers(Queries):
    """Table ``home_viewer``: one row per person who opened the Home tab."""

    async def opened(self, user: str, now: datetime) -> None:
        """``user`` opened the Home tab at ``now`` (and it is about to be published)."""
        insert = self.db.insert(HomeViewer).values(user_id=user, opened_at=now, published_at=now)
        stmt = insert.on_conflict_do_update(
            index_elements=[HomeViewer.user_id], set_={"opened_at": now, "published_at": now}
        )
        async with self.db.write() as session:
            await session.execute(stmt)

    async def published(self, user: str, now: datetime) -> None:
        """The Home of ``user`` is being published at ``now``, whatever the debounce."""
        stmt = update(HomeViewer).where(HomeViewer.user_id == user).values(published_at=now)
        async with self.db.write() as session:
            await session.execute(stmt)

    async def claim(self, user: str, now: datetime, every: timedelta) -> bool:
        """Take the next publish of ``user``'s Home: True if none was published in the last
        ``every`` (the caller publishes now), False if one was (or ``user`` never opened it)."""
        stmt = (
            update(HomeViewer)
            .where(
                HomeViewer.user_id == user,
                HomeViewer.published_at.is_(None) | (HomeViewer.published_at <= now - every),
            )
            .values(published_at=now)
        )
        async with self.db.write() as session:
            return changed(await session.execute(stmt)) == 1

    async def published_at(self, user: str) -> datetime | None:
        query = select(HomeViewer.published_at).where(HomeViewer.user_id == user)
        async with self.db.read() as session:
            return await session.scalar(query)

    async def recent(self, since: datetime, limit: int) -> list[str]:
        """Who opened the Home since ``since``, the latest first, at most ``limit``."""
        query = (
            select(HomeViewer.user_id)
            .where(HomeViewer.opened_at >= since)
            .order_by(HomeViewer.opened_at.desc(), HomeViewer.user_id)
            .limit(limit)
        )
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def prune(self, before: datetime) -> int:
        """Forget who last opened the Home before ``before``; how many."""
        async with self.db.write() as session:
            return changed(
                await session.execute(delete(HomeViewer).where(HomeViewer.opened_at < before))
            )
