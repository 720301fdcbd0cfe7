"""Small facts the bot remembers across restarts (table ``meta``)."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.db import Queries
from bot.store.tables import Meta as MetaRow


class Meta(Queries):
    """Key-value facts, e.g. a one-off migration marker."""

    async def get(self, key: str) -> str | None:
        async with self.db.read() as session:
            return await session.scalar(select(MetaRow.value).where(MetaRow.key == key))

    async def set(self, key: str, value: str) -> None:
        stmt = (
            self.db.insert(MetaRow)
            .values(key=key, value=value)
            .on_conflict_do_update(index_elements=[MetaRow.key], set_={"value": value})
        )
        async with self.db.write() as session:
            await session.execute(stmt)
