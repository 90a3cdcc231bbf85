"""The Redis broker: pub/sub across processes, presence with TTLs, shared rate limits, on
one Redis server or on the master Sentinel names (followed through a failover: the client's
pool asks the sentinels again, the subscriber reconnects to the new master and the hub
catches up from the database, as after a restart).

Redis is a doorbell, never the record: when it is down, publishing is skipped (readers
catch up from the database), presence and rate limits fall back to this process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from server.broker.base import MessageHandler, ReconnectHandler
from server.broker.channels import (
    NODE_PREFIX,
    heartbeat_channel,
    limit_key,
    node_key,
    presence_key,
)
from server.broker.memory import MemoryBroker
from server.broker.redis_sub import Locate, Subscriber
from server.broker.targets import BrokerUrlError, RedisTarget

log = logging.getLogger("threadline.broker")

NODE_TTL = 15  # seconds a process's presence survives it (killed: its readers vanish)
OUTBOX_MAX = 20_000
BREAKER_SECONDS = 1.0

# Sum the per-process counts of live processes only; forget fields of dead processes.
_PRESENCE = """
local out = {}
for i, key in ipairs(KEYS) do
  local total = 0
  local fields = redis.call('HGETALL', key)
  for j = 1, #fields, 2 do
    if redis.call('EXISTS', ARGV[1] .. fields[j]) == 1 then
      total = total + tonumber(fields[j + 1])
    else
      redis.call('HDEL', key, fields[j])
    end
  end
  out[i] = total
end
return out
"""

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
  return ttl
end
return 0
"""


# Only a live window is decremented: a key that expired must not come back without a TTL.
_RELEASE = """
if redis.call('PTTL', KEYS[1]) > 0 and tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


# Every client of the broker: a down Redis is noticed in a second, and the breaker takes over.
_CLIENT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 1.0,
    "retry_on_timeout": False,
    "health_check_interval": 10,
}


def _client(target: RedisTarget) -> tuple[Redis, Locate | None, list[Redis]]:
    """The client for commands, and (Sentinel) how the subscriber finds the master now and
    the sentinels' own clients (closed with the broker)."""
    if target.mode == "single":
        return Redis.from_url(target.url, **_CLIENT_OPTIONS), None, []
    if target.mode != "sentinel" or target.service is None:
        raise BrokerUrlError(f"no broker for a {target.mode} URL yet")
    # No retries, to the sentinels or the master: a dead sentinel costs one short connect
    # before the next is asked (the subscriber has 2 s for the whole round), and a command
    # to a master being replaced fails at once, so the breaker takes over instead of a
    # request waiting out redis-py's backoff.
    quick = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0, "retry": Retry(NoBackoff(), 0)}
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.nodes),
        sentinel_kwargs={**quick, "username": target.username, "password": target.password},
        **quick,
    )
    client = sentinel.master_for(
        target.service,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        **{**_CLIENT_OPTIONS, "retry": Retry(NoBackoff(), 0)},
    )
    service = target.service

    async def master() -> tuple[str, int]:
        host, port = await sentinel.discover_master(service)
        return str(host), int(port)

    return client, master, list(sentinel.sentinels)


class RedisBroker:
    def __init__(self, target: RedisTarget, node_id: str) -> None:
        self.node_id = node_id
        self._target = target
        self._redis, self._locate, self._sentinels = _client(target)
        self._fallback = MemoryBroker(node_id)  # presence and limits while Redis is down
        self._local_presence: dict[str, int] = {}
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._down_until = 0.0
        self._sub: Subscriber | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._presence_script = self._redis.register_script(_PRESENCE)
        self._hit_script = self._redis.register_script(_HIT)
        self._release_script = self._redis.register_script(_RELEASE)

    @property
    def connected(self) -> bool:
        return self._sub is not None and self._sub.connected

    async def start(self, on_message: MessageHandler, on_reconnect: ReconnectHandler) -> None:
        async def heartbeat() -> None:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.publish(heartbeat_channel(self.node_id), b"")
                pipe.set(node_key(self.node_id), b"1", ex=NODE_TTL)
                for channel, count in self._local_presence.items():
                    pipe.hset(presence_key(channel), self.node_id, count)
                    pipe.expire(presence_key(channel), NODE_TTL * 4)
                await pipe.execute()

        async def reconnected() -> None:
            with contextlib.suppress(RedisError, OSError):
                await heartbeat()
            await on_reconnect()

        self._sub = Subscriber(
            self._target,
            heartbeat_channel(self.node_id),
            on_message,
            reconnected,
            heartbeat,
            locate=self._locate,
        )
        self._sub.start()
        self._tasks.append(asyncio.create_task(self._publisher(), name="threadline-publisher"))
        with contextlib.suppress(RedisError, OSError):
            await self._redis.set(node_key(self.node_id), b"1", ex=NODE_TTL)

    async def close(self) -> None:
        await self._flush(deadline=time.monotonic() + 1.0)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sub is not None:
            await self._sub.close()
        with contextlib.suppress(RedisError, OSError):
            # Leave presence at once on a clean shutdown instead of after NODE_TTL.
            await self._redis.delete(node_key(self.node_id))
        await self._redis.aclose()
        for sentinel in self._sentinels:
            await sentinel.aclose()

    # -- pub/sub -------------------------------------------------------------------------
    async def publish(self, channel: str, message: bytes) -> None:
        """Queue for the publisher task: a POST never waits on Redis."""
        if len(self._outbox) >= OUTBOX_MAX:
            self._outbox.popleft()  # durable events are in the database; readers catch up
        self._outbox.append((channel, message))
        self._wake.set()

    async def _publisher(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 512))]
                if not self._available():
                    continue  # dropped: remote processes catch up from the database
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for channel, message in batch:
                            pipe.publish(channel, message)
                        await pipe.execute()
                except (RedisError, OSError) as exc:
                    self._trip(exc)

    async def _flush(self, deadline: float) -> None:
        """Give queued publishes a moment to go out before the connection closes."""
        while self._outbox and time.monotonic() < deadline and self._available():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    async def subscribe(self, channel: str) -> None:
        assert self._sub is not None
        self._sub.subscribe([channel])

    async def unsubscribe(self, channel: str) -> None:
        assert self._sub is not None
        self._sub.unsubscribe([channel])

    # -- presence ------------------------------------------------------------------------
    async def set_presence(self, channel: str, count: int) -> None:
        if count:
            self._local_presence[channel] = count
        else:
            self._local_presence.pop(channel, None)
        await self._fallback.set_presence(channel, count)
        if not self._available():
            return
        key = presence_key(channel)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                if count:
                    pipe.hset(key, self.node_id, count)
                    pipe.expire(key, NODE_TTL * 4)
                else:
                    pipe.hdel(key, self.node_id)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._trip(exc)

    async def presence(self, channels: Sequence[str]) -> dict[str, int]:
        if channels and self._available():
            try:
                keys = [presence_key(ch) for ch in channels]
                totals = await self._presence_script(keys=keys, args=[NODE_PREFIX])
                return dict(zip(channels, (int(t) for t in totals), strict=True))
            except (RedisError, OSError) as exc:
                self._trip(exc)
        return await self._fallback.presence(channels)

    # -- rate limits ---------------------------------------------------------------------
    async def hit(self, key: str, limit: int, window: float) -> float:
        if self._available():
            try:
                ttl = await self._hit_script(
                    keys=[limit_key(key)], args=[int(window * 1000), limit]
                )
                return int(ttl) / 1000
            except (RedisError, OSError) as exc:
                self._trip(exc)
        return await self._fallback.hit(key, limit, window)

    async def peek(self, key: str) -> int:
        if self._available():
            try:
                value = await self._redis.get(limit_key(key))
                return int(value or 0)
            except (RedisError, OSError) as exc:
                self._trip(exc)
        return await self._fallback.peek(key)

    async def reset(self, key: str) -> None:
        await self._fallback.reset(key)
        if self._available():
            try:
                await self._redis.delete(limit_key(key))
            except (RedisError, OSError) as exc:
                self._trip(exc)

    async def release(self, key: str) -> None:
        await self._fallback.release(key)
        if self._available():
            try:
                await self._release_script(keys=[limit_key(key)])
            except (RedisError, OSError) as exc:
                self._trip(exc)

    async def ping(self) -> None:
        await self._redis.ping()

    # -- circuit breaker -----------------------------------------------------------------
    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _trip(self, exc: BaseException) -> None:
        if self._available():
            log.warning(
                "Redis unavailable (%s); using in-process fallbacks for %.0fs", exc, BREAKER_SECONDS
            )
        self._down_until = time.monotonic() + BREAKER_SECONDS
