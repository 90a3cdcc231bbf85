"""The in-process broker: one server process, nothing to install."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from server.broker.base import MessageHandler, ReconnectHandler


class MemoryBroker:
    def __init__(self, node_id: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.node_id = node_id
        self._clock = clock
        self._handler: MessageHandler | None = None
        self._channels: set[str] = set()
        self._presence: dict[str, int] = {}
        self._windows: dict[str, tuple[float, int, float]] = {}

    @property
    def connected(self) -> bool:
        return True

    async def start(self, on_message: MessageHandler, on_reconnect: ReconnectHandler) -> None:
        self._handler = on_message

    async def close(self) -> None:
        self._handler = None

    async def publish(self, channel: str, message: bytes) -> None:
        handler = self._handler
        if handler is not None and channel in self._channels:
            # Deliver on a later loop turn, as a network broker would.
            asyncio.get_running_loop().call_soon(handler, channel, message)

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def set_presence(self, channel: str, count: int) -> None:
        if count:
            self._presence[channel] = count
        else:
            self._presence.pop(channel, None)

    async def presence(self, channels: Sequence[str]) -> dict[str, int]:
        return {ch: self._presence.get(ch, 0) for ch in channels}

    async def hit(self, key: str, limit: int, window: float) -> float:
        now = self._clock()
        start, count, _ = self._windows.get(key, (now, 0, window))
        if now - start >= window:
            start, count = now, 0
        if count >= limit:
            return window - (now - start)
        self._windows[key] = (start, count + 1, window)
        if len(self._windows) > 100_000:
            self._expire(now)
        return 0.0

    async def peek(self, key: str) -> int:
        start, count, window = self._windows.get(key, (0.0, 0, 0.0))
        return count if self._clock() - start < window else 0

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    async def release(self, key: str) -> None:
        start, count, window = self._windows.get(key, (0.0, 0, 0.0))
        if count > 0 and self._clock() - start < window:
            self._windows[key] = (start, count - 1, window)

    def _expire(self, now: float) -> None:
        for key, (start, _, window) in list(self._windows.items()):
            if now - start >= window:
                del self._windows[key]

    async def ping(self) -> None:
        return None
