"""First pages of threads, serialised, kept for a moment.

A listing carries the page's ``seq`` and every reader's socket replays what happened after
it, so a first page a few seconds old converges exactly like a fresh one: the cache trades no
correctness for skipping the database on hot pages. Writes made through this process forget
the page at once; other processes' writes show within ``ttl`` (plus one refresh)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from server.core.models import Order
from server.core.singleflight import SingleFlight

ORDERS = tuple(order.value for order in Order)  # every order a first page is cached under


class ThreadCache:
    def __init__(
        self,
        ttl: float = 1.0,
        stale: float = 10.0,
        size: int = 5000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.stale = stale
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[tuple[str, str, str], tuple[float, bytes]] = OrderedDict()
        self._flights: SingleFlight[tuple[str, str, str], bytes] = SingleFlight()
        # Computations under way, and those of them whose page was forgotten meanwhile: what
        # they read may predate the change (an erasure), so it is served once, never kept.
        self._loading: set[tuple[str, str, str]] = set()
        self._overtaken: set[tuple[str, str, str]] = set()

    async def fetch(
        self, site: str, page: str, order: str, compute: Callable[[], Awaitable[tuple[bytes, bool]]]
    ) -> bytes:
        """The cached body. An expired one is still served (for up to ``stale`` seconds) while
        one background task refreshes it; only a cold page makes readers wait, and then for
        one computation shared by every concurrent miss. ``compute`` says whether its body
        is worth keeping: listings of pages that do not exist are not, or anyone could fill
        the cache with made-up keys and evict the real ones."""
        key = (site, page, order)
        entry = self._entries.get(key)
        if entry is not None:
            age = self.clock() - entry[0]
            if age <= self.ttl:
                return entry[1]
            if age <= self.stale:
                self._flights.refresh(key, lambda: self._load(key, compute))
                return entry[1]
        return await self._flights.run(key, lambda: self._load(key, compute))

    async def _load(
        self, key: tuple[str, str, str], compute: Callable[[], Awaitable[tuple[bytes, bool]]]
    ) -> bytes:
        self._loading.add(key)
        try:
            body, keep = await compute()
        finally:
            self._loading.discard(key)
            overtaken = key in self._overtaken
            self._overtaken.discard(key)
        if keep and not overtaken:
            self.put(*key, body)
        return body

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
        for order in ORDERS:
            key = (site, page, order)
            self._entries.pop(key, None)
            if key in self._loading:
                self._overtaken.add(key)

    def clear(self) -> None:
        self._entries.clear()
        self._overtaken |= self._loading
