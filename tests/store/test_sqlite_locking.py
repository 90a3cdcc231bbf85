"""SQLite runs on the event loop, so another process's write lock must be waited out in
asyncio, with the loop serving everything else meanwhile, and given up on with a clean 503."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from server.core.errors import Unavailable
from server.core.models import Mode, Site
from server.store import database
from server.store.database import SqlStore, sqlite_path
from tests.support.db import Databases


def _site(site_id: str) -> Site:
    return Site(
        id=site_id, name=site_id, origins=("http://a.test",), moderation=Mode.NONE, created_at=0
    )


async def test_a_write_waits_for_another_process_lock_while_the_loop_keeps_serving(
    databases: Databases,
) -> None:
    url = await databases.create("sqlite")
    path = sqlite_path(url)
    assert path is not None
    store = SqlStore(url)
    other = sqlite3.connect(path, isolation_level=None)  # "another process" holding the lock
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO sites (id, name, origins, moderation, created_at, notify)"
            " VALUES ('held', 'held', '[]', 'none', 0, '{}')"
        )

        async def write() -> None:
            async with store.write() as tx:
                await tx.insert_site(_site("waiting"))

        writer = asyncio.create_task(write())
        ticks = 0
        for _ in range(20):  # other coroutines run while the writer waits
            await asyncio.sleep(0.005)
            ticks += 1
        assert ticks == 20 and not writer.done()
        async with store.read() as tx:  # WAL readers do not wait for writers
            assert await tx.find_site("held") is None
        other.execute("COMMIT")
        await asyncio.wait_for(writer, 10)
        async with store.read() as tx:
            assert {s.id for s in await tx.list_sites()} >= {"held", "waiting"}
    finally:
        other.close()
        await store.close()


async def test_a_lock_held_too_long_is_a_clean_unavailable_and_writes_nothing(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_LOCK_WAIT", 0.05)
    url = await databases.create("sqlite")
    path = sqlite_path(url)
    assert path is not None
    store = SqlStore(url)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(Unavailable):
            async with store.write() as tx:
                await tx.insert_site(_site("never"))
        other.execute("ROLLBACK")
        async with store.read() as tx:
            assert await tx.find_site("never") is None
        async with store.write() as tx:  # the connection went back to the pool usable
            await tx.insert_site(_site("later"))
        async with store.read() as tx:
            assert await tx.find_site("later") is not None
    finally:
        other.close()
        await store.close()
