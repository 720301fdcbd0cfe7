"""Alembic environment for the bot's database, configured in code (no ``alembic.ini``).

``Store.migrate`` runs ``upgrade head`` on its own async engine and hands the connection in via
``config.attributes["connection"]``. Without one, this file builds an engine from the config's
``sqlalchemy.url`` (online) or prints SQL (offline, ``command.upgrade(cfg, "head", sql=True)``)
so an operator of a shared PostgreSQL can review the DDL first. ``bot.store.alembic_config``
builds the config.

Adding a migration: copy ``versions/0001_initial.py`` to ``versions/000N_what_it_does.py``, set
``revision = "000N"`` and ``down_revision`` to the previous revision, and write the change
with ``op.create_table`` / ``op.add_column`` / ``op.create_index``. Never edit a released
migration. SQLite runs in batch mode, so ``with op.batch_alter_table(...)`` handles the
changes SQLite cannot ``ALTER`` in place. The next start of the bot applies it.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_online(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_with)
    finally:
        await engine.dispose()


def main() -> None:
    connection = config.attributes.get("connection")
    if isinstance(connection, Connection):
        run_with(connection)
    elif context.is_offline_mode():
        run_offline()
    else:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("no database: pass a connection or set sqlalchemy.url")
        asyncio.run(run_online(url))


main()
