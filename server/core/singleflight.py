"""One computation per key at a time, shared by everyone who asks meanwhile: a cache miss
under load costs one database read, not one per waiting request."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[V]] = {}
        self._background: set[asyncio.Task[V]] = set()

    def running(self, key: K) -> bool:
        return key in self._running

    async def run(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        """``compute()``'s result, or that of the call already running for ``key``. A
        caller that is cancelled leaves the shared computation running for the others."""
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            value = await compute()
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it
            raise
        finally:
            del self._running[key]

    def refresh(self, key: K, compute: Callable[[], Awaitable[V]]) -> None:
        """Start ``compute`` in the background, unless a computation for ``key`` is already
        running; its failure is the next caller's to see, not an unretrieved error."""
        if key in self._running:
            return
        task = asyncio.ensure_future(self.run(key, compute))
        self._background.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[V]) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()
