"""Migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from server.core.errors import Unavailable
from server.store.database import SqlStore
from server.store.migrate import (
    alembic_config,
    check_migrated,
    current_revision,
    head_revision,
    migrate,
)
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


async def _empty_database(backend: str, databases: Databases, tmp_path: object, name: str) -> str:
    """A database of its own, not migrated (a test migrates it to where it starts)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/{name}.db"
    await databases.create("postgresql")  # starts the cluster
    await databases._admin(f"CREATE DATABASE {name}")
    assert databases.pg is not None
    return databases.pg.url(name)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_events_lose_their_copies_of_comments_and_replay_by_reference(
    backend: str, databases: Databases, tmp_path: object
) -> None:
    """Migration 0004 keeps each event's comment id and count, drops the copied text."""
    url = await _empty_database(backend, databases, tmp_path, "events_0003")
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
async def test_fan_out_cursors_start_before_what_was_still_marked(
    backend: str, databases: Databases, tmp_path: object
) -> None:
    """Migration 0013: a page whose comments 0012 still marked for the fan-out gets a
    cursor before the first of them (nothing marked is forgotten); any other page's cursor
    is its seq (nothing told twice)."""
    url = await _empty_database(backend, databases, tmp_path, "fanout_0012")
    store = SqlStore(url)
    try:
        await migrate(store, "0012")
        async with store.write() as tx:
            run = tx.conn.execute
            await run(
                text("INSERT INTO sites (id, name, origins, created_at) VALUES ('s', 'S', '[]', 1)")
            )
            for page, seq in ((1, 3), (2, 2), (3, 0)):
                await run(
                    text(
                        "INSERT INTO pages (id, site_id, key, seq, comment_count, created_at) "
                        "VALUES (:id, 's', :key, :seq, :count, 1)"
                    ),
                    {"id": page, "key": f"p{page}", "seq": seq, "count": seq},
                )
            # Page 1: comments 11 and 12 told, 13 still marked; page 2: all told.
            for comment, page, seq, marked in (
                (11, 1, 1, 0),
                (12, 1, 2, 0),
                (13, 1, 3, 1),
                (21, 2, 1, 0),
                (22, 2, 2, 0),
            ):
                await run(
                    text(
                        "INSERT INTO comments (id, site_id, page_id, body, status, created_at, "
                        "fanout) VALUES (:id, 's', :page, 'x', 'approved', 1, :marked)"
                    ),
                    {"id": comment, "page": page, "marked": bool(marked)},
                )
                await run(
                    text(
                        "INSERT INTO events (page_id, seq, type, comment_id, comment_count, "
                        "created_at) VALUES (:page, :seq, 'comment.created', :id, :count, 1)"
                    ),
                    {"page": page, "seq": seq, "id": comment, "count": seq},
                )
        await migrate(store)
        async with store.read() as tx:
            cursors: dict[int, int] = dict(
                (await tx.conn.execute(text("SELECT page_id, seq FROM fanout_cursors"))).all()
            )
            assert await tx.lagging_pages(10) == [1]
        assert cursors == {1: 2, 2: 2, 3: 0}
    finally:
        await store.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_subscriptions_queued_mail_becomes_one_open_mail_and_back(
    backend: str, databases: Databases, tmp_path: object
) -> None:
    """Migration 0016: a subscription's queued rows (one per comment) become its one open
    mail listing them; sent and tried rows keep their comment; down, a row per comment."""
    url = await _empty_database(backend, databases, tmp_path, "outbox_0015")
    store = SqlStore(url)
    try:
        await migrate(store, "0015")
        async with store.write() as tx:
            run = tx.conn.execute
            await _site_page_and_comments(tx, [1, 2, 3, 4, 5])
            await run(
                text(
                    "INSERT INTO mail_addresses (id, site_id, digest, sealed, author_hash, "
                    "lang, created_at, confirmed_at) VALUES (1, 's', 'd', 'x', 'a', 'en', 1, 1)"
                )
            )
            await run(
                text(
                    "INSERT INTO subscriptions (id, site_id, address_id, scope, comment_id, "
                    "page_id, created_at) VALUES (1, 's', 1, 'replies', 1, 1, 1)"
                )
            )
            # Sent about 2; tried once about 3; queued about 4 and 5; a confirmation.
            outbox: tuple[tuple[int, str, int | None, int, int, int | None], ...] = (
                (1, "confirm", None, 1, 1, 1),
                (2, "reply", 2, 2, 1, 5),
                (3, "reply", 3, 3, 1, None),
                (4, "reply", 4, 9, 0, None),
                (5, "reply", 5, 7, 0, None),
            )
            for row, kind, comment, due, attempts, sent in outbox:
                await run(
                    text(
                        "INSERT INTO mail_outbox (id, site_id, kind, address_id, "
                        "subscription_id, comment_id, created_at, due_at, attempts, sent_at) "
                        "VALUES (:id, 's', :kind, 1, 1, :comment, 1, :due, :attempts, :sent)"
                    ),
                    {
                        "id": row,
                        "kind": kind,
                        "comment": comment,
                        "due": due,
                        "attempts": attempts,
                        "sent": sent,
                    },
                )
        await migrate(store)
        async with store.read() as tx:
            rows = (
                await tx.conn.execute(
                    text("SELECT id, comment_ids, due_at, attempts FROM mail_outbox ORDER BY id")
                )
            ).all()
            assert [tuple(row) for row in rows] == [
                (1, "", 1, 1),
                (2, "2", 2, 1),
                (3, "3", 3, 1),
                (4, "4,5", 7, 0),  # one open mail, due when the first of them was
            ]
            assert await tx.told_comment_ids(1) == {2}
        await store.run_sync(_downgrade, "0015", write=True)
        async with store.read() as tx:
            rows = (
                await tx.conn.execute(
                    text("SELECT kind, comment_id FROM mail_outbox ORDER BY comment_id")
                )
            ).all()
            assert sorted((kind, comment or 0) for kind, comment in rows) == [
                ("confirm", 0),
                ("reply", 2),
                ("reply", 3),
                ("reply", 4),
                ("reply", 5),
            ]
        await migrate(store)
    finally:
        await store.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_notifications_keep_their_rows_through_0017_and_back(
    backend: str, databases: Databases, tmp_path: object
) -> None:
    """Migration 0017 rebuilds SQLite's notifications (their foreign keys to the site and
    the page go): every row stays, up and down, and they still go with their comment."""
    url = await _empty_database(backend, databases, tmp_path, "notes_0016")
    store = SqlStore(url)

    async def rows() -> list[tuple[Any, ...]]:
        async with store.read() as tx:
            found = await tx.conn.execute(
                text("SELECT id, recipient, kind, comment_id, read_at FROM notifications")
            )
            return sorted(tuple(row) for row in found)

    try:
        await migrate(store, "0016")
        async with store.write() as tx:
            run = tx.conn.execute
            await _site_page_and_comments(tx, [1, 2])
            for note, comment_id, read in ((1, 1, None), (2, 2, 5)):
                await run(
                    text(
                        "INSERT INTO notifications (id, site_id, recipient, kind, comment_id, "
                        "page_id, created_at, updated_at, read_at) "
                        "VALUES (:id, 's', 'r', 'reply', :comment, 1, 1, 1, :read)"
                    ),
                    {"id": note, "comment": comment_id, "read": read},
                )
        kept = [(1, "r", "reply", 1, None), (2, "r", "reply", 2, 5)]
        assert await rows() == kept
        await migrate(store)
        assert await rows() == kept
        await store.run_sync(_downgrade, "0016", write=True)
        assert await rows() == kept
        await migrate(store)
        async with store.write() as tx:
            await tx.conn.execute(text("DELETE FROM comments WHERE id = 2"))
        assert await rows() == kept[:1]  # gone with its comment
    finally:
        await store.close()


async def _site_page_and_comments(tx: Any, comment_ids: list[int]) -> None:
    """Site ``s``, its page 1, and these approved comments on it (raw SQL: any revision)."""
    run = tx.conn.execute
    await run(text("INSERT INTO sites (id, name, origins, created_at) VALUES ('s', 'S', '[]', 1)"))
    await run(
        text(
            "INSERT INTO pages (id, site_id, key, seq, comment_count, created_at) "
            "VALUES (1, 's', 'p', 0, :count, 1)"
        ),
        {"count": len(comment_ids)},
    )
    for comment_id in comment_ids:
        await run(
            text(
                "INSERT INTO comments (id, site_id, page_id, body, status, created_at) "
                "VALUES (:id, 's', 1, 'x', 'approved', 1)"
            ),
            {"id": comment_id},
        )


def _downgrade(sync_conn: Any, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.downgrade(cfg, revision)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_every_migration_up_and_down_keeps_replies_and_what_hangs_off_comments(
    backend: str, databases: Databases, tmp_path: object
) -> None:
    """Fails with Alembic's batch mode dropping a column of comments or sites on SQLite:
    the rebuild's DROP TABLE of the old table cascades (foreign keys on) into every reply
    and flag, and through sites into everything."""
    url = await _empty_database(backend, databases, tmp_path, "updown")
    store = SqlStore(url)

    async def counts() -> tuple[int, ...]:
        found = []
        async with store.read() as tx:
            for table in ("sites", "pages", "comments", "comment_flags"):
                found.append(
                    int((await tx.conn.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())
                )
        return tuple(found)

    try:
        await migrate(store, "0002")
        async with store.write() as tx:
            run = tx.conn.execute
            await run(
                text("INSERT INTO sites (id, name, origins, created_at) VALUES ('s', 'S', '[]', 1)")
            )
            await run(
                text(
                    "INSERT INTO pages (id, site_id, key, seq, comment_count, created_at) "
                    "VALUES (1, 's', 'p', 0, 2, 1)"
                )
            )
            for comment, parent in ((1, None), (2, 1)):
                await run(
                    text(
                        "INSERT INTO comments (id, site_id, page_id, parent_id, body, status, "
                        "created_at) VALUES (:id, 's', 1, :parent, 'x', 'approved', 1)"
                    ),
                    {"id": comment, "parent": parent},
                )
            await run(
                text(
                    "INSERT INTO comment_flags (comment_id, reporter, created_at) "
                    "VALUES (2, 'r', 1)"
                )
            )
        assert await counts() == (1, 1, 2, 1)
        await migrate(store)
        assert await counts() == (1, 1, 2, 1)
        await store.run_sync(_downgrade, "0002", write=True)
        assert await counts() == (1, 1, 2, 1)
        await migrate(store)
        assert await counts() == (1, 1, 2, 1)
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


async def test_a_deadlock_victim_is_asked_to_retry_not_a_500(databases: Databases) -> None:
    """Two transactions locking two rows in opposite orders: PostgreSQL rolls one back
    (40P01). That one is ``Unavailable`` (503, retry), not an unknown error (a 500)."""
    store = SqlStore(await databases.create("postgresql"))
    try:
        async with store.write() as tx:
            for site in ("a", "b"):
                await tx.conn.execute(
                    text(
                        "INSERT INTO sites (id, name, origins, created_at) "
                        "VALUES (:id, 'S', '[]', 1)"
                    ),
                    {"id": site},
                )
        both = asyncio.Barrier(2)

        async def lock(first: str, second: str) -> None:
            async with store.write() as tx:
                touch = text("UPDATE sites SET name = 'T' WHERE id = :id")
                await tx.conn.execute(touch, {"id": first})
                await both.wait()
                await tx.conn.execute(touch, {"id": second})

        results = await asyncio.gather(lock("a", "b"), lock("b", "a"), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        assert len(failed) == 1, results
        assert isinstance(failed[0], Unavailable), repr(failed[0])
        assert failed[0].code == "database_conflict"
    finally:
        await store.close()


async def test_the_duplicate_check_finds_the_text_by_index_not_the_networks_comments(
    databases: Databases,
) -> None:
    """Fails with the network's own index, which SQLite's planner chose (three equalities):
    it read every comment the network posted in ten minutes, so one network posting to a
    hot page paid more per post as the page filled (400/s falling, against 580/s steady)."""
    from sqlalchemy.dialects import sqlite

    from server.store import statements as st

    url = await databases.create("sqlite")
    compiled = str(st.AUTHOR_CHECKS[True, True].compile(dialect=sqlite.dialect()))
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        plan = [
            str(row[-1])
            for row in db.execute(f"EXPLAIN QUERY PLAN {compiled}", [1] * compiled.count("?"))
        ]
    finally:
        db.close()
    by_text = "SEARCH comments USING INDEX ix_comments_page_id_body_hash_created_at"
    searches = [step for step in plan if step.startswith("SEARCH comments")]
    assert len(searches) == 3, plan  # by author, by network, approved before
    assert all(step.startswith(by_text) for step in searches[:2]), plan
