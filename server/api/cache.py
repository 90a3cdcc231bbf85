"""First pages of threads, serialised, kept for a moment.

A listing carries the page's ``seq`` and every reader's socket replays what happened after
it, so a first page a few seconds old converges exactly like a fresh one: the cache trades no
correctness for skipping the database on hot pages. Writes made through this process forget
the page at once; other processes' writes show within ``ttl`` (plus one refresh)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable


class ThreadCache:
    def __init__(self, ttl: float = 1.0, stale: float = 10.0, size: int = 5000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.stale = stale
        self._refresh: asyncio.Future[bytes] | None = None
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[tuple[str, str, str], tuple[float, bytes]] = OrderedDict()
        self._inflight: dict[tuple[str, str, str], asyncio.Future[bytes]] = {}

    async def fetch(self, site: str, page: str, order: str,
                    compute: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached body. An expired one is still served (for up to ``stale`` seconds) while
        one background task refreshes it; only a cold page makes readers wait, and then for
        one computation shared by every concurrent miss."""
        key = (site, page, order)
        entry = self._entries.get(key)
        if entry is not None:
            age = self.clock() - entry[0]
            if age <= self.ttl:
                return entry[1]
            if age <= self.stale:
                if key not in self._inflight:
                    self._refresh = asyncio.ensure_future(self._compute(key, compute))
                return entry[1]
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        return await self._compute(key, compute)

    async def _compute(self, key: tuple[str, str, str],
                       compute: Callable[[], Awaitable[bytes]]) -> bytes:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            body = await compute()
            self.put(*key, body)
            future.set_result(body)
            return body
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it
            raise
        finally:
            del self._inflight[key]

    def get(self, site: str, page: str, order: str) -> bytes | None:
        entry = self._entries.get((site, page, order))
        if entry is None or self.clock() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, site: str, page: str, order: str, body: bytes) -> None:
        key = (site, page, order)
        self._entries[key] = (self.clock(), body)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, site: str, page: str) -> None:
        for order in ("newest", "oldest"):
            self._entries.pop((site, page, order), None)
