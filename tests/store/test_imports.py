"""`threadline import`: Disqus, WordPress and Isso files become the same threads, replies,
authors, dates and statuses; a re-run adds nothing; a bad or cut-short file names its fault
and writes nothing; a Threadline export round-trips."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from server.store.database import SqlStore
from server.store.schema import comments, metadata, pages
from tests.support.config import env_for
from tests.support.db import Databases
from tests.support.import_files import (
    Expected,
    Node,
    disqus_export,
    isso_database,
    wxr_export,
)
from tests.support.servers import ROOT

pytestmark = pytest.mark.slow


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(env: dict[str, str], *args: str) -> str:
    done = cli(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def export(env: dict[str, str], site: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(ok(env, "site", "export", site))
    return data


def _ms(value: str) -> int:
    return round(datetime.fromisoformat(value).timestamp() * 1000)


def trees(data: dict[str, Any]) -> Expected:
    """The comment trees an export holds, keyed by page, in the generator's shape."""
    keys = {p["id"]: p["key"] for p in data["pages"]}
    nodes = {
        c["id"]: Node(c["name"], c["body"], c["status"], _ms(c["created_at"]))
        for c in data["comments"]
    }
    got = Expected({key: [] for key in keys.values()})
    for c in data["comments"]:
        parent = c["reply_to"] or c["parent"]
        if parent is None:
            got.trees[keys[c["page_id"]]].append(nodes[c["id"]])
        else:
            nodes[parent].children.append(nodes[c["id"]])
    return got


async def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: an import that fails must leave all of it as it was."""
    store = SqlStore(url, pool_size=1)
    try:
        async with store.read() as tx:
            return {
                t.name: [
                    tuple(r)
                    for r in await tx.conn.execute(select(t).order_by(*t.primary_key.columns))
                ]
                for t in metadata.sorted_tables
            }
    finally:
        await store.close()


async def derived_counts_hold(url: str) -> None:
    """Each page's count and each top-level comment's reply count match the rows."""
    store = SqlStore(url, pool_size=1)
    try:
        async with store.read() as tx:
            approved = comments.c.status == "approved"
            shown: dict[int, int] = dict(
                list(
                    await tx.conn.execute(
                        select(comments.c.page_id, func.count())
                        .where(approved)
                        .group_by(comments.c.page_id)
                    )
                )
            )
            for page_id, count in await tx.conn.execute(select(pages.c.id, pages.c.comment_count)):
                assert count == shown.get(page_id, 0)
            replies: dict[int, int] = dict(
                list(
                    await tx.conn.execute(
                        select(comments.c.parent_id, func.count())
                        .where(approved, comments.c.parent_id.is_not(None))
                        .group_by(comments.c.parent_id)
                    )
                )
            )
            for cid, count in await tx.conn.execute(select(comments.c.id, comments.c.reply_count)):
                assert count == replies.get(cid, 0)
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_env(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Path
) -> dict[str, str]:
    url = await databases.create(request.param)
    env = env_for(url, tmp_path)
    ok(env, "site", "add", "blog", "--origin", "https://blog.test")
    return env


async def test_disqus_export_imports_whole_trees_once(
    db_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "disqus.xml"
    want = disqus_export(path, posts=600)
    assert want.count() == 600 and want.count("spam") and want.count("deleted")

    out = ok(db_env, "import", "disqus", str(path), "--site", "blog")
    assert "imported 600 comments" in out and "0 already imported" in out
    got = trees(export(db_env, "blog"))
    assert got.shapes() == want.shapes()  # pages, nesting, names, bodies, dates, statuses
    await derived_counts_hold(db_env["THREADLINE_DATABASE_URL"])

    before = await snapshot(db_env["THREADLINE_DATABASE_URL"])
    again = ok(db_env, "import", "disqus", str(path), "--site", "blog")
    assert "imported 0 comments" in again and "600 already imported" in again
    after = await snapshot(db_env["THREADLINE_DATABASE_URL"])
    assert after["comments"] == before["comments"] and after["pages"] == before["pages"]

    # A later export with more posts: only the new ones are added, under their old parents.
    bigger = tmp_path / "disqus-later.xml"
    later = disqus_export(bigger, posts=650)
    out = ok(db_env, "import", "disqus", str(bigger), "--site", "blog")
    assert "imported 50 comments" in out and "600 already imported" in out
    assert trees(export(db_env, "blog")).shapes() == later.shapes()
    await derived_counts_hold(db_env["THREADLINE_DATABASE_URL"])


async def test_wordpress_export_imports_comments_not_pingbacks(
    databases: Databases, tmp_path: Path
) -> None:
    env = env_for(await databases.create("sqlite"), tmp_path)
    ok(env, "site", "add", "wp", "--origin", "https://wp.test")
    path = tmp_path / "wordpress.xml"
    want, pingbacks = wxr_export(path)
    out = ok(env, "import", "wxr", str(path), "--site", "wp")
    assert f"imported {want.count()} comments" in out
    assert f"{pingbacks} pingbacks skipped" in out and "5 order_notes skipped" in out
    data = export(env, "wp")
    assert "https://wp.test/?page_id=15" in {p["key"] for p in data["pages"]}
    assert trees(data).shapes() == want.shapes()
    assert {p["title"] for p in data["pages"]} == {f"Hello & welcome {n}" for n in range(1, 6)}
    assert "0 comments" in ok(env, "import", "wxr", str(path), "--site", "wp").split(";")[0]
    await derived_counts_hold(env["THREADLINE_DATABASE_URL"])


async def test_isso_database_imports_with_edits(databases: Databases, tmp_path: Path) -> None:
    env = env_for(await databases.create("sqlite"), tmp_path)
    ok(env, "site", "add", "notes", "--origin", "https://isso.test")
    path = tmp_path / "comments.db"
    want, edited = isso_database(path)

    # Isso keys threads by path: without a base URL they cannot become the widget's keys.
    refused = cli(env, "import", "isso", str(path), "--site", "notes")
    assert refused.returncode == 2 and "--base-url" in refused.stderr

    out = ok(env, "import", "isso", str(path), "--site", "notes", "--base-url", "https://isso.test")
    assert f"imported {want.count()} comments" in out
    data = export(env, "notes")
    assert trees(data).shapes() == want.shapes()
    got_edits = {
        _ms(c["created_at"]): _ms(c["edited_at"]) for c in data["comments"] if c["edited_at"]
    }
    assert got_edits == edited
    again = ok(
        env, "import", "isso", str(path), "--site", "notes", "--base-url", "https://isso.test"
    )
    assert f"{want.count()} already imported" in again


async def test_threadline_export_round_trips(databases: Databases, tmp_path: Path) -> None:
    source = env_for(await databases.create("sqlite"), tmp_path)
    ok(source, "site", "add", "blog", "--origin", "https://blog.test", "--moderation", "all")
    disqus_export(tmp_path / "d.xml", posts=120)
    ok(source, "import", "disqus", str(tmp_path / "d.xml"), "--site", "blog")
    first = export(source, "blog")
    dump = tmp_path / "blog.json"
    dump.write_bytes(orjson.dumps(first))

    target = env_for(await databases.create("sqlite"), tmp_path)
    out = ok(target, "import", "json", str(dump))
    assert "created site blog" in out and "moderation all" in out
    second = export(target, "blog")
    assert second["site"] == first["site"]

    def comparable(data: dict[str, Any]) -> Any:
        keys = {p["id"]: p["key"] for p in data["pages"]}
        ids = {c["id"]: (keys[c["page_id"]], c["created_at"]) for c in data["comments"]}
        rows = sorted(
            {
                **c,
                "id": None,
                "page_id": keys[c["page_id"]],
                "parent": ids.get(c["parent"]),
                "reply_to": ids.get(c["reply_to"]),
            }.items()
            for c in data["comments"]
        )
        page_rows = sorted((p["key"], p["url"], p["title"], p["count"]) for p in data["pages"])
        return page_rows, rows

    assert comparable(second) == comparable(first)  # authors' hashes too: same site id
    again = ok(target, "import", "json", str(dump))
    assert f"{len(first['comments'])} already imported" in again
    assert len(export(target, "blog")["comments"]) == len(first["comments"])

    # A restore into the very site it was exported from finds every row still there.
    restored = ok(source, "import", "json", str(dump))
    assert "imported 0 comments" in restored
    assert comparable(export(source, "blog")) == comparable(first)

    # Into another site: author hashes are that site's secret and do not travel.
    ok(target, "import", "json", str(dump), "--site", "copy")
    moved = export(target, "copy")
    assert trees(moved).shapes() == trees(first).shapes()
    assert all(c["author"] is None for c in moved["comments"])


async def test_verified_comments_round_trip_with_their_author_only(
    databases: Databases, tmp_path: Path
) -> None:
    url = await databases.create("sqlite")
    source = env_for(url, tmp_path)
    ok(source, "site", "add", "blog", "--origin", "https://blog.test")
    disqus_export(tmp_path / "d.xml", posts=30)
    ok(source, "import", "disqus", str(tmp_path / "d.xml"), "--site", "blog")
    avatars = ["https://avatars.example/0.png", "javascript:alert(1)"]
    store = SqlStore(url)
    try:
        async with store.write() as tx:
            q = (
                select(comments.c.id)
                .where(comments.c.site_id == "blog", comments.c.status == "approved")
                .order_by(comments.c.id)
                .limit(len(avatars))
            )
            signed_in = [r.id for r in await tx.conn.execute(q)]
            for i, (comment_id, avatar) in enumerate(zip(signed_in, avatars, strict=True)):
                await tx.update_comment(
                    comment_id, author_hash=f"{i + 1:064x}", verified=True, author_avatar=avatar
                )
    finally:
        await store.close()
    first = export(source, "blog")
    shown = {c["id"]: c for c in first["comments"]}
    assert [(shown[i]["verified"], shown[i]["avatar"]) for i in signed_in] == [
        (True, avatars[0]),
        (True, avatars[1]),
    ]
    dump = tmp_path / "blog.json"
    dump.write_bytes(orjson.dumps(first))

    target = env_for(await databases.create("sqlite"), tmp_path)
    ok(target, "import", "json", str(dump))
    restored = {(c["body"], c["created_at"]): c for c in export(target, "blog")["comments"]}
    for c in first["comments"]:
        again = restored[(c["body"], c["created_at"])]
        # An avatar a reader's browser may not load (not https) is dropped, not refused.
        kept: str | None = None if c["avatar"] == avatars[1] else c["avatar"]
        assert (again["verified"], again["avatar"], again["author_key"]) == (
            c["verified"],
            kept,
            c["author_key"],
        )
    # Into another site the authors do not travel, so neither does their verified mark.
    ok(target, "import", "json", str(dump), "--site", "copy")
    moved = export(target, "copy")["comments"]
    assert not any(c["verified"] or c["avatar"] or c["author_key"] for c in moved)


def _cut(path: Path, fraction: float) -> Path:
    cut = path.with_name("cut-" + path.name)
    data = path.read_bytes()
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


@pytest.mark.parametrize("fmt", ["disqus", "wxr", "json"])
async def test_cut_short_file_names_its_line_and_writes_nothing(
    fmt: str, databases: Databases, tmp_path: Path
) -> None:
    env = env_for(await databases.create("sqlite"), tmp_path)
    ok(env, "site", "add", "blog", "--origin", "https://blog.test")
    full = tmp_path / "full"
    if fmt == "disqus":
        disqus_export(full, posts=300)
    elif fmt == "wxr":
        wxr_export(full)
    else:
        disqus_export(tmp_path / "d.xml", posts=50)
        ok(env, "import", "disqus", str(tmp_path / "d.xml"), "--site", "blog")
        full.write_bytes(orjson.dumps(export(env, "blog"), option=orjson.OPT_INDENT_2))
        ok(env, "site", "add", "other", "--origin", "https://blog.test")
    cut = _cut(full, 0.6)
    lines = cut.read_bytes().count(b"\n") + 1
    before = await snapshot(env["THREADLINE_DATABASE_URL"])

    done = cli(
        env,
        "import",
        "json" if fmt == "json" else fmt,
        str(cut),
        "--site",
        "other" if fmt == "json" else "blog",
    )
    assert done.returncode == 2
    assert "cut short" in done.stderr
    assert f"{cut}:{lines}:" in done.stderr  # the line where the file stops
    assert await snapshot(env["THREADLINE_DATABASE_URL"]) == before


async def test_damaged_isso_database_writes_nothing(databases: Databases, tmp_path: Path) -> None:
    env = env_for(await databases.create("sqlite"), tmp_path)
    ok(env, "site", "add", "notes", "--origin", "https://isso.test")
    isso_database(tmp_path / "comments.db")
    cut = _cut(tmp_path / "comments.db", 0.5)
    before = await snapshot(env["THREADLINE_DATABASE_URL"])
    done = cli(
        env, "import", "isso", str(cut), "--site", "notes", "--base-url", "https://isso.test"
    )
    assert done.returncode == 2 and str(cut) in done.stderr
    assert "damaged or cut short" in done.stderr or "not a readable" in done.stderr
    assert await snapshot(env["THREADLINE_DATABASE_URL"]) == before


async def test_a_broken_reference_names_its_element_and_writes_nothing(
    databases: Databases, tmp_path: Path
) -> None:
    env = env_for(await databases.create("sqlite"), tmp_path)
    ok(env, "site", "add", "blog", "--origin", "https://blog.test")
    path = tmp_path / "disqus.xml"
    disqus_export(path, posts=200)
    lines = path.read_text().splitlines()
    victim = next(i for i, line in enumerate(lines) if "<parent dsq:id=" in line)
    lines[victim] = lines[victim].replace('<parent dsq:id="', '<parent dsq:id="9')
    path.write_text("\n".join(lines))
    before = await snapshot(env["THREADLINE_DATABASE_URL"])
    done = cli(env, "import", "disqus", str(path), "--site", "blog")
    assert done.returncode == 2
    assert f"{path}:{victim + 1}: <post>" in done.stderr and "not in the file" in done.stderr
    assert await snapshot(env["THREADLINE_DATABASE_URL"]) == before


async def test_unreadable_or_absurd_input_is_one_clear_line(
    databases: Databases, tmp_path: Path
) -> None:
    env = env_for(await databases.create("sqlite"), tmp_path)
    ok(env, "site", "add", "blog", "--origin", "https://blog.test")
    for fmt in ("disqus", "wxr", "isso", "json"):
        for target in (tmp_path / "missing.xml", tmp_path):
            done = cli(env, "import", fmt, str(target), "--site", "blog")
            assert done.returncode == 2, (fmt, target, done.stderr)
            assert done.stderr.startswith("threadline: error:") and "Traceback" not in done.stderr
    path = tmp_path / "old.xml"
    disqus_export(path, posts=20)
    text = path.read_text()
    first = text.index("<createdAt>", text.index("<post "))
    path.write_text(
        text[:first]
        + "<createdAt>0001-01-01T00:00:00+01:00"
        + text[text.index("</createdAt>", first) :]
    )
    before = await snapshot(env["THREADLINE_DATABASE_URL"])
    done = cli(env, "import", "disqus", str(path), "--site", "blog")
    assert done.returncode == 2 and "before 1990" in done.stderr, done.stderr
    assert await snapshot(env["THREADLINE_DATABASE_URL"]) == before


@pytest.mark.parametrize(
    "payload",
    [
        '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<disqus><post>&b;</post></disqus>",
        '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><disqus><post>&x;</post></disqus>',
    ],
)
async def test_entities_in_an_export_are_refused(
    payload: str, databases: Databases, tmp_path: Path
) -> None:
    env = env_for(await databases.create("sqlite"), tmp_path)
    ok(env, "site", "add", "blog", "--origin", "https://blog.test")
    path = tmp_path / "evil.xml"
    path.write_text(payload)
    done = cli(env, "import", "disqus", str(path), "--site", "blog")
    assert done.returncode == 2 and "DTD or entities" in done.stderr


async def test_dry_run_counts_without_writing(databases: Databases, tmp_path: Path) -> None:
    env = env_for(await databases.create("sqlite"), tmp_path)
    ok(env, "site", "add", "blog", "--origin", "https://blog.test")
    want = disqus_export(tmp_path / "d.xml", posts=80)
    before = await snapshot(env["THREADLINE_DATABASE_URL"])
    out = ok(env, "import", "disqus", str(tmp_path / "d.xml"), "--site", "blog", "--dry-run")
    assert f"would import {want.count()} comments" in out
    assert await snapshot(env["THREADLINE_DATABASE_URL"]) == before
    missing = cli(env, "import", "disqus", str(tmp_path / "d.xml"), "--site", "nope")
    assert missing.returncode == 2 and "threadline site add nope" in missing.stderr
