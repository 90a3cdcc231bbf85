"""The broker's three roles: pub/sub for the live layer, presence counts, rate-limit counters.

The memory and Redis brokers implement all three; each user depends on the role it needs
(core's rate limits on ``Counters`` only), and ``Broker`` names the whole for construction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from server.core.ports import Counters

# (channel, message) -> None. Called on the event loop; must not block or await.
MessageHandler = Callable[[str, bytes], None]
# Called after the subscription connection came back: messages in the gap are lost.
ReconnectHandler = Callable[[], Awaitable[None]]


class PubSub(Protocol):
    """Messages between the processes, on the channels this process subscribed to."""

    @property
    def connected(self) -> bool: ...

    async def start(self, on_message: MessageHandler, on_reconnect: ReconnectHandler) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, message: bytes) -> None:
        """Send to every process subscribed to ``channel`` (this one included)."""
        ...

    async def subscribe(self, channel: str) -> None: ...

    async def unsubscribe(self, channel: str) -> None: ...


class Presence(Protocol):
    """How many readers each process has on a channel, summed over the live processes."""

    async def set_presence(self, channel: str, count: int) -> None:
        """Record how many readers this process has on ``channel``."""
        ...

    async def presence(self, channels: Sequence[str]) -> dict[str, int]:
        """Readers per channel summed over live processes."""
        ...


class Broker(PubSub, Presence, Counters, Protocol):
    """All three roles of one backend, as the composition root builds and closes it."""

    node_id: str

    async def ping(self) -> None: ...


__all__ = ["Broker", "Counters", "MessageHandler", "Presence", "PubSub", "ReconnectHandler"]
