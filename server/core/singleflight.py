"""One computation per key at a time, shared by everyone who asks meanwhile: a cache miss
under load costs one database read, not one per waiting request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from server.core.errors import Unavailable

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
log = logging.getLogger("threadline.cache")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        # Tasks, not the callers' own frames: a caller that gives up (its request was
        # cancelled) leaves the computation to everyone else who waits for it.
        self._running: dict[K, asyncio.Task[V]] = {}

    def running(self, key: K) -> bool:
        return key in self._running

    async def run(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        """``compute()``'s result, or that of the computation already running for ``key``."""
        task = self._running.get(key) or self._start(key, compute)
        return await asyncio.shield(task)

    def refresh(self, key: K, compute: Callable[[], Awaitable[V]]) -> None:
        """Start ``compute`` in the background, unless one is already running for ``key``;
        a failure is logged, and the stale value stays until the next try."""
        if key not in self._running:
            self._start(key, compute).add_done_callback(self._log_failure)

    def _start(self, key: K, compute: Callable[[], Awaitable[V]]) -> asyncio.Task[V]:
        task = asyncio.ensure_future(self._compute(key, compute))
        self._running[key] = task
        task.add_done_callback(_retrieved)
        return task

    async def _compute(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        try:
            return await compute()
        finally:
            del self._running[key]

    @staticmethod
    def _log_failure(task: asyncio.Task[V]) -> None:
        if task.cancelled() or (error := task.exception()) is None:
            return
        # A database outage is logged once by the store, not by every refresh it fails.
        level = logging.DEBUG if isinstance(error, Unavailable) else logging.WARNING
        log.log(level, "background refresh failed: %r", error)


def _retrieved(task: asyncio.Task[object]) -> None:
    # Every waiter re-raises a failure; with none left, it must not be reported as lost.
    if not task.cancelled():
        task.exception()
