"""Pub/sub, presence and rate-limit counters: in-process or Redis, one backend for all three."""

from __future__ import annotations

from server.broker.base import Broker


def create_broker(redis_url: str | None, node_id: str) -> Broker:
    """``None`` -> the in-process broker; a Redis URL (``broker.targets``) -> Redis, one
    server or through Sentinel (imported lazily)."""
    if not redis_url:
        from server.broker.memory import MemoryBroker

        return MemoryBroker(node_id)
    from server.broker.redis import RedisBroker
    from server.broker.targets import parse_target

    return RedisBroker(parse_target(redis_url), node_id)


__all__ = ["Broker", "create_broker"]
