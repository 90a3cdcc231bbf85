"""The thread cache never keeps a listing read before a change it was told of."""

from __future__ import annotations

import asyncio

from server.http.thread_cache import ThreadCache


async def test_a_listing_computed_across_a_forget_is_served_but_not_kept() -> None:
    cache = ThreadCache()
    read, release = asyncio.Event(), asyncio.Event()

    async def slow_read() -> tuple[bytes, bool]:
        read.set()
        await release.wait()  # the database was read; an erasure commits meanwhile
        return b"the erased text", True

    waiting = asyncio.create_task(cache.fetch("blog", "p", "newest", slow_read))
    await read.wait()
    cache.forget("blog", "p")
    release.set()
    assert await waiting == b"the erased text"  # the reader who asked before the change
    assert cache.get("blog", "p", "newest") is None  # nobody after it

    read.clear()
    release.clear()
    waiting = asyncio.create_task(cache.fetch("blog", "q", "oldest", slow_read))
    await read.wait()
    cache.clear()  # a broker outage: every page may have changed
    release.set()
    await waiting
    assert cache.get("blog", "q", "oldest") is None


async def test_listings_of_pages_that_do_not_exist_are_not_kept() -> None:
    cache = ThreadCache()

    async def unseen() -> tuple[bytes, bool]:
        return b"{}", False

    await cache.fetch("blog", "made-up", "newest", unseen)
    assert cache.get("blog", "made-up", "newest") is None
