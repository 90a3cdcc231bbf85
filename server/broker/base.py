"""The broker interface the live layer and the rate limiter use."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

# (channel, message) -> None. Called on the event loop; must not block or await.
MessageHandler = Callable[[str, bytes], None]
# Called after the subscription connection came back: messages in the gap are lost.
ReconnectHandler = Callable[[], Awaitable[None]]


class Broker(Protocol):
    node_id: str

    @property
    def connected(self) -> bool: ...

    async def start(self, on_message: MessageHandler, on_reconnect: ReconnectHandler) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, message: bytes) -> None:
        """Send to every process subscribed to ``channel`` (this one included)."""
        ...

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...

    async def set_presence(self, channel: str, count: int) -> None:
        """Record how many readers this process has on ``channel``."""
        ...

    async def presence(self, channels: Sequence[str]) -> dict[str, int]:
        """Readers per channel summed over live processes."""
        ...

    async def hit(self, key: str, limit: int, window: float) -> float:
        """Count one hit in a fixed window; 0 if allowed, else seconds until allowed."""
        ...

    async def peek(self, key: str) -> int: ...

    async def reset(self, key: str) -> None: ...

    async def release(self, key: str) -> None:
        """Give back one hit of the current window (an attempt that turned out fine)."""
        ...

    async def ping(self) -> None: ...
