"""Migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from server.store.database import SqlStore
from server.store.migrate import check_migrated, current_revision, head_revision, migrate
from server.store.schema import metadata
from tests.conftest import BACKENDS
from tests.support.db import Databases


@pytest.mark.parametrize("backend", BACKENDS)
async def test_migrated_database_matches_the_declared_schema(backend: str,
                                                             databases: Databases) -> None:
    store = SqlStore(await databases.create(backend))
    try:
        diff = await store.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
        assert diff == []
        assert await current_revision(store) == head_revision()
        await migrate(store)  # idempotent
        await check_migrated(store)
    finally:
        await store.close()


async def test_unmigrated_database_is_refused_with_the_fix(tmp_path: object) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}/empty.db")
    try:
        with pytest.raises(RuntimeError, match="run `threadline migrate`"):
            await check_migrated(store)
    finally:
        await store.close()


async def test_sqlite_connections_use_wal_full_sync_and_never_block_in_sqlite(
        databases: Databases) -> None:
    store = SqlStore(await databases.create("sqlite"))
    try:
        async with store.read() as tx:
            mode = (await tx.conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            sync = (await tx.conn.execute(text("PRAGMA synchronous"))).scalar_one()
            timeout = (await tx.conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
            fks = (await tx.conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
        # FULL (2): an acknowledged comment survives a power cut. busy_timeout 0: waiting
        # for another process's lock happens in asyncio.sleep, never inside SQLite.
        assert (mode, sync, timeout, fks) == ("wal", 2, 0, 1)
    finally:
        await store.close()
