"""Events cross processes through Redis: comments, typing, presence, in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.core.context import command_services
from tests.support.config import SECRET
from tests.support.db import Databases
from tests.support.live import Pair, start_pair
from tests.support.services import RedisServer
from tests.support.ws import Reader

pytestmark = pytest.mark.slow


async def test_comment_posted_on_a_reaches_a_reader_on_b(pair: Pair) -> None:
    site = await pair.site()
    reader = await Reader.open(pair.b.ws_url, site, seq=0)
    posted = await pair.post(pair.a, site, body="Hi from A")
    event = await reader.next("comment.created")
    assert event["data"]["comment"]["body"] == "Hi from A"
    assert event["seq"] == posted["page"]["seq"]  # type: ignore[index]
    assert event["data"]["count"] == 1
    await reader.close()


async def test_replies_edits_and_deletes_arrive_in_seq_order(pair: Pair) -> None:
    site = await pair.site()
    reader = await Reader.open(pair.b.ws_url, site, seq=0)
    top = await pair.post(pair.a, site, body="top")
    cid, token = top["comment"]["id"], top["author_token"]  # type: ignore[index]
    await pair.post(pair.b, site, body="reply", parent=cid)
    auth = {"Authorization": f"Bearer {token}"}
    await pair.http.patch(
        f"{pair.a.url}/api/v1/sites/{site}/comments/{cid}",
        json={"body": "top (edited)"},
        headers=auth,
    )
    await pair.http.delete(f"{pair.a.url}/api/v1/sites/{site}/comments/{cid}", headers=auth)
    await reader.until_seq(4)
    assert [(f["type"], f["seq"]) for f in reader.durable()] == [
        ("comment.created", 1),
        ("comment.created", 2),
        ("comment.edited", 3),
        ("comment.deleted", 4),
    ]
    assert reader.durable()[-1]["data"]["count"] == 1
    await reader.close()


async def test_typing_on_a_reaches_b_anonymously_and_not_the_typist(pair: Pair) -> None:
    site = await pair.site()
    typist = await Reader.open(pair.a.ws_url, site)
    watcher = await Reader.open(pair.b.ws_url, site)
    await typist.send({"type": "typing"})
    typing = await watcher.next("typing")
    assert typing["data"] is None  # who is typing is never sent
    await asyncio.sleep(0.5)
    assert not [f for f in typist.frames if f["type"] == "typing"]
    await typist.close()
    await watcher.close()


async def test_presence_sums_both_processes(pair: Pair) -> None:
    site = await pair.site()
    on_a = await Reader.open(pair.a.ws_url, site)
    on_b = await Reader.open(pair.b.ws_url, site)
    await on_a.wait(lambda: on_a.presence() == 2)
    await on_b.wait(lambda: on_b.presence() == 2)
    second_tab = await Reader.open(pair.b.ws_url, site)
    await on_a.wait(lambda: on_a.presence() == 3)
    await second_tab.wait(lambda: second_tab.presence() == 3)
    await second_tab.close()
    await on_a.wait(lambda: on_a.presence() == 2)
    await on_a.close()
    await on_b.wait(lambda: on_b.presence() == 1)
    await on_b.close()


async def test_killed_process_viewers_leave_the_count_within_30s(
    databases: Databases, redis_server: RedisServer, tmp_path: Path
) -> None:
    a, b = start_pair(await databases.create("postgresql"), redis_server.url, tmp_path)
    try:
        from server.core.sites import add_site
        from server.store.database import SqlStore
        from tests.support.api import ORIGIN

        store = SqlStore(a.env["THREADLINE_DATABASE_URL"], pool_size=1)
        await add_site(command_services(store, SECRET), "kill", origins=[ORIGIN])
        await store.close()
        doomed = [await Reader.open(a.ws_url, "kill") for _ in range(3)]
        survivor = await Reader.open(b.ws_url, "kill")
        await survivor.wait(lambda: survivor.presence() == 4)
        a.kill()
        await survivor.wait(lambda: survivor.presence() == 1, timeout=30)
        assert all(r.close_code == 1006 for r in doomed if r.close_code is not None)
        await survivor.close()
    finally:
        a.kill()
        b.terminate()
