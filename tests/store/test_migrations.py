"""Migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from server.core.errors import Unavailable
from server.store.database import SqlStore
from server.store.migrate import check_migrated, current_revision, head_revision, migrate
from server.store.schema import metadata
from tests.support.config import BACKENDS
from tests.support.db import Databases


@pytest.mark.parametrize("backend", BACKENDS)
async def test_migrated_database_matches_the_declared_schema(
    backend: str, databases: Databases
) -> None:
    store = SqlStore(await databases.create(backend))
    try:
        diff = await store.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
        assert diff == []
        assert await current_revision(store) == head_revision()
        await migrate(store)  # idempotent
        await check_migrated(store)
    finally:
        await store.close()


async def test_unmigrated_database_is_refused_with_the_fix(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    store = SqlStore(f"sqlite:///{tmp_path}/empty.db")
    try:
        with pytest.raises(RuntimeError, match="run `threadline migrate`"):
            await check_migrated(store)
    finally:
        await store.close()


async def test_only_a_migration_creates_a_sqlite_file(tmp_path: Path) -> None:
    """A mistyped path is an error on every connection, never a new empty database."""
    store = SqlStore(f"sqlite:///{tmp_path}/typo.db")
    try:
        with pytest.raises(Unavailable):
            await store.ping()
        assert list(tmp_path.iterdir()) == []
        await migrate(store)
        await check_migrated(store)
    finally:
        await store.close()


async def test_sqlite_connections_use_wal_full_sync_and_never_block_in_sqlite(
    databases: Databases,
) -> None:
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


@pytest.mark.parametrize("backend", BACKENDS)
async def test_events_lose_their_copies_of_comments_and_replay_by_reference(
    backend: str, databases: Databases, tmp_path: object
) -> None:
    """Migration 0004 keeps each event's comment id and count, drops the copied text."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
    else:
        await databases.create("postgresql")  # starts the cluster
        await databases._admin("CREATE DATABASE events_0003")
        assert databases.pg is not None
        url = databases.pg.url("events_0003")
    store = SqlStore(url)
    try:
        await migrate(store, "0003")
        async with store.write() as tx:
            await tx.conn.execute(
                text(
                    "INSERT INTO sites (id, name, origins, created_at) "
                    "VALUES ('old', 'Old', '[]', 1)"
                )
            )
            await tx.conn.execute(
                text(
                    "INSERT INTO pages (id, site_id, key, seq, comment_count, created_at) "
                    "VALUES (7, 'old', 'p', 2, 0, 1)"
                )
            )
            await tx.conn.execute(
                text(
                    "INSERT INTO comments (id, site_id, page_id, body, status, created_at) "
                    "VALUES (41, 'old', 7, '', 'deleted', 1)"
                )
            )
            for seq, kind, count in ((1, "comment.created", 1), (2, "comment.deleted", 0)):
                payload = (
                    '{"comment": {"id": 41, "body": "erased long ago", '
                    f'"name": "Someone"}}, "count": {count}}}'
                )
                await tx.conn.execute(
                    text(
                        "INSERT INTO events (page_id, seq, type, payload, created_at) "
                        "VALUES (7, :seq, :kind, :payload, 1)"
                    ),
                    {"seq": seq, "kind": kind, "payload": payload},
                )
        await migrate(store)
        async with store.read() as tx:
            rows = (
                await tx.conn.execute(
                    text("SELECT seq, comment_id, comment_count FROM events ORDER BY seq")
                )
            ).all()
            page = await tx.find_page_by_id(7)
            assert page is not None
            replay = await tx.events_after(page, 0, 10)
        assert [tuple(r) for r in rows] == [(1, 41, 1), (2, 41, 0)]
        assert [(e.seq, e.data["comment"]["body"], e.data["count"]) for e in replay] == [
            (1, "", 1),
            (2, "", 0),
        ]
    finally:
        await store.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_database_errors_never_carry_the_values_they_bound(
    backend: str, databases: Databases
) -> None:
    """An error's text ends up in a log with its traceback: no comment text may be in it."""
    store = SqlStore(await databases.create(backend))
    try:
        with pytest.raises(Exception) as raised:  # noqa: PT011 -- any driver's error
            async with store.write() as tx:
                await tx.conn.execute(
                    text("INSERT INTO no_such_table VALUES (:body)"), {"body": "a private sentence"}
                )
        assert "a private sentence" not in str(raised.value)
        assert "a private sentence" not in repr(raised.value)
    finally:
        await store.close()
