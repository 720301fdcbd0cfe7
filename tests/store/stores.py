"""Fresh stores for the store tests: on a SQLite file, and on PostgreSQL when
``CRONOPS_TEST_POSTGRES_URL`` points at a server (each test in a schema of its own, dropped
afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import text

from bot.store import Store
from bot.store.db import create_engine

PG_URL = os.environ.get("CRONOPS_TEST_POSTGRES_URL")


class OpenStore(Protocol):
    async def __call__(self, migrate: bool = True, **engine: Any) -> Store: ...


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not PG_URL, reason="set CRONOPS_TEST_POSTGRES_URL to run against PostgreSQL"
            ),
        ),
    ]
)
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenStore]:
    """Opens (and by default migrates) a new Store on one fresh database; all are closed
    afterwards."""
    stores: list[Store] = []
    options: dict[str, object] = {}
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/t.db"
    else:
        assert PG_URL is not None
        url, schema = PG_URL, f"t_{uuid.uuid4().hex}"
        options = {"connect_args": {"server_settings": {"search_path": schema}}}
        await _run_sql(url, f'CREATE SCHEMA "{schema}"')

    async def open_(migrate: bool = True, **engine: Any) -> Store:
        store = Store(create_engine(url, **options, **engine))
        stores.append(store)
        if migrate:
            await store.migrate()
        return store

    yield open_
    for store in stores:
        await store.close()
    if request.param == "postgresql":
        await _run_sql(url, f'DROP SCHEMA "{schema}" CASCADE')


async def _run_sql(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    return await open_store()
