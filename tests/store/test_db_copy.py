"""`threadline db copy`: a 10,000-comment SQLite database moved to PostgreSQL, every row and
every page's seq identical; an interrupted copy resumed; a differing target refused."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from server.store.database import SqlStore
from server.store.schema import (
    audit_log,
    bans,
    comment_flags,
    comments,
    events,
    metadata,
    moderator_sites,
    moderators,
    pages,
    sessions,
    sites,
)
from tests.support.db import Databases

pytestmark = pytest.mark.slow
# Above the copy's verification batch (5,000 rows), so verifying reads several batches.
COMMENTS, PAGES = 6_000, 40
T0 = 1_700_000_000_000


def _fill(conn: Any) -> None:
    """Rows in every table, shaped like real use: threads with replies, events with seqs."""
    rng = random.Random(7)
    conn.execute(
        insert(sites),
        [
            {
                "id": "old",
                "name": "Old blog",
                "origins": '["https://a.test"]',
                "moderation": "first-time",
                "created_at": T0,
            }
        ],
    )
    conn.execute(
        insert(pages),
        [
            {
                "id": p,
                "site_id": "old",
                "key": f"post-{p}",
                "url": f"https://a.test/{p}",
                "title": f"Post «{p}»",
                "seq": 0,
                "comment_count": 0,
                "created_at": T0,
            }
            for p in range(1, PAGES + 1)
        ],
    )
    seq = dict.fromkeys(range(1, PAGES + 1), 0)
    count = dict.fromkeys(range(1, PAGES + 1), 0)
    tops: dict[int, list[int]] = {p: [] for p in seq}
    rows, evs = [], []
    for cid in range(1, COMMENTS + 1):
        page = rng.randint(1, PAGES)
        parent = rng.choice(tops[page]) if tops[page] and rng.random() < 0.4 else None
        if parent is None:
            tops[page].append(cid)
        status = rng.choice(["approved"] * 8 + ["pending", "spam"])
        rows.append(
            {
                "id": cid,
                "site_id": "old",
                "page_id": page,
                "parent_id": parent,
                "reply_to_id": parent,
                "author_name": rng.choice([None, "Ann", "Đorđe"]),
                "author_hash": f"{rng.getrandbits(64):016x}",
                "body": f"Comment {cid}: 'q' \"dq\" \\ ünïcode ✓ " * rng.randint(1, 4),
                "status": status,
                "moderator": cid % 97 == 0,
                "created_at": T0 + cid * 1000,
                "edited_at": None if cid % 5 else T0,
                "reply_count": 0,
                "flags": int(cid % 11 == 0),
                "held_reason": None,
                "ip_hash": f"{cid % 300:032x}",
                "idempotency_key": None,
            }
        )
        if status == "approved":
            seq[page] += 1
            count[page] += 1
            evs.append(
                {
                    "page_id": page,
                    "seq": seq[page],
                    "type": "comment.created",
                    "payload": json.dumps({"comment": {"id": cid}}),
                    "created_at": T0 + cid * 1000,
                }
            )
    conn.execute(insert(comments), rows)
    conn.execute(insert(events), evs)
    for page in seq:
        conn.execute(
            pages.update()
            .where(pages.c.id == page)
            .values(seq=seq[page], comment_count=count[page])
        )
    conn.execute(
        insert(moderators),
        [
            {
                "id": 1,
                "email": "mod@a.test",
                "password_hash": "x",
                "created_at": T0,
                "display_name": "Mod",
            }
        ],
    )
    conn.execute(insert(moderator_sites), [{"moderator_id": 1, "site_id": "old", "role": "owner"}])
    conn.execute(
        insert(sessions),
        [{"token_hash": "t" * 64, "moderator_id": 1, "csrf": "c", "created_at": T0, "seen_at": T0}],
    )
    conn.execute(
        insert(audit_log),
        [
            {
                "site_id": "old",
                "moderator_id": 1,
                "action": "approve",
                "comment_id": 5,
                "before_status": "pending",
                "after_status": "approved",
                "detail": None,
                "created_at": T0,
            }
        ],
    )
    conn.execute(insert(comment_flags), [{"comment_id": 11, "reporter": "r1", "created_at": T0}])
    conn.execute(
        insert(bans),
        [
            {
                "site_id": "old",
                "author_hash": "ab",
                "ip_hash": None,
                "mode": "hold",
                "reason": "test",
                "moderator_id": 1,
                "created_at": T0,
            }
        ],
    )


def _copy(source: str, target: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "db",
            "copy",
            "--from",
            source,
            "--to",
            target,
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def _all_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    store = SqlStore(url, pool_size=1)
    try:
        out = {}
        async with store.read() as tx:
            for table in metadata.sorted_tables:
                rows = await tx.conn.execute(select(table).order_by(*table.primary_key.columns))
                out[table.name] = [
                    tuple(int(v) if isinstance(v, bool) else v for v in r) for r in rows
                ]
        return out
    finally:
        await store.close()


async def test_sqlite_to_postgresql_copies_every_row_and_resumes(databases: Databases) -> None:
    source, target = await databases.create("sqlite"), await databases.create("postgresql")
    store = SqlStore(source)
    await store.run_sync(_fill, write=True)
    await store.close()

    done = _copy(source, target)
    assert done.returncode == 0, done.stderr
    assert "verified: every table has the same rows and checksums" in done.stdout
    want = await _all_rows(source)
    got = await _all_rows(target)
    assert len(want["comments"]) == COMMENTS
    assert got == want  # every row of every table, pages' seq and counts included

    # An interrupted copy: the target lost its newest comments and events. Running the
    # command again fills the gap and verifies.
    pg = SqlStore(target, pool_size=1)
    async with pg.write() as tx:
        await tx.conn.execute(delete(events).where(events.c.id > 3000))
        await tx.conn.execute(delete(comment_flags))
        await tx.conn.execute(delete(comments).where(comments.c.id > 4000))
    again = _copy(source, target, "--quiet")
    assert again.returncode == 0, again.stderr
    assert (again.stdout, again.stderr) == ("", "")  # --quiet: nothing unless it goes wrong
    assert await _all_rows(target) == want

    # The copy's ids do not collide with new rows: the sequences moved past them.
    async with pg.write() as tx:
        new = (
            await tx.conn.execute(
                insert(pages)
                .values(site_id="old", key="after-the-move", seq=0, comment_count=0, created_at=T0)
                .returning(pages.c.id)
            )
        ).scalar_one()
    assert new == PAGES + 1

    # A target row that differs from the source is reported, never overwritten.
    async with pg.write() as tx:
        await tx.conn.execute(comments.update().where(comments.c.id == 1).values(body="x"))
    differs = _copy(source, target)
    assert differs.returncode == 1
    assert "MISMATCH" in differs.stdout and "comments" in differs.stdout
    quiet = _copy(source, target, "--quiet")
    assert quiet.returncode == 1 and quiet.stdout == ""
    *tables, last = quiet.stderr.splitlines()  # the page added above differs too
    assert [t.split()[0] for t in tables] == ["pages", "comments"]
    assert all(t.endswith("MISMATCH") for t in tables) and last.startswith("threadline: error")
    await pg.close()


async def test_copy_from_an_unmigrated_database_is_refused(
    databases: Databases, tmp_path: Any
) -> None:
    target = await databases.create("postgresql")
    sqlite3.connect(tmp_path / "empty.db").close()  # a database, but with no tables
    done = _copy(f"sqlite:///{tmp_path}/empty.db", target)
    assert done.returncode == 2
    assert "run `threadline migrate`" in done.stderr
