"""The Redis broker: pub/sub across processes, presence with TTLs, shared rate limits, on
one Redis server, on the master Sentinel names (followed through a failover: the client's
pool asks the sentinels again, the subscriber reconnects to the new master and the hub
catches up from the database, as after a restart), or on a Redis Cluster (sharded pub/sub:
``SPUBLISH`` to, and ``SSUBSCRIBE`` on, the shard that owns a channel's slot).

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
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException

from server.broker.base import MessageHandler, ReconnectHandler
from server.broker.channels import (
    heartbeat_channel,
    limit_key,
    presence_count_key,
    presence_key,
)
from server.broker.memory import MemoryBroker
from server.broker.redis_shards import ShardedSubscriber
from server.broker.redis_sub import HEARTBEAT_SECONDS, REDIS_ERRORS, Locate, Subscriber
from server.broker.targets import BrokerUrlError, RedisTarget

log = logging.getLogger("threadline.broker")

NODE_TTL = 15  # seconds a process's presence survives it (killed: its readers vanish)
OUTBOX_MAX = 20_000
BREAKER_SECONDS = 1.0

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


Client = Redis | RedisCluster

# No retries, to the sentinels, a master or a cluster node: a dead sentinel costs one short
# connect before the next is asked (the subscriber has 2 s for the whole round), and a
# command to a master being replaced fails at once, so the breaker takes over instead of a
# request waiting out redis-py's backoff.
_QUICK: dict[str, Any] = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 1.0,
    "retry": Retry(NoBackoff(), 0),
}


def _client(target: RedisTarget) -> tuple[Client, Locate | None, list[Redis]]:
    """The client for commands, and (Sentinel) how the subscriber finds the master now and
    the sentinels' own clients (closed with the broker)."""
    if target.mode == "single":
        return Redis.from_url(target.url, **_CLIENT_OPTIONS), None, []
    if target.mode == "cluster":
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            username=target.username,
            password=target.password,
            ssl=target.tls,
            # (``_QUICK``'s retry: no retries. A node that is down trips the breaker, as
            # one server's would; a MOVED updates the slot map for the next command.)
            health_check_interval=_CLIENT_OPTIONS["health_check_interval"],
            **_QUICK,
        )
        return cluster, None, []
    if target.service is None:
        raise BrokerUrlError(f"no broker for a {target.mode} URL")
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.nodes),
        sentinel_kwargs={**_QUICK, "username": target.username, "password": target.password},
        **_QUICK,
    )
    client = sentinel.master_for(
        target.service,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        **{**_CLIENT_OPTIONS, **_QUICK},
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
        self._cluster = self._redis if isinstance(self._redis, RedisCluster) else None
        self._fallback = MemoryBroker(node_id)  # presence and limits while Redis is down
        self._local_presence: dict[str, int] = {}
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._down_until = 0.0
        self._sub: Subscriber | ShardedSubscriber | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._masters: dict[str, Redis] = {}  # cluster: a publishing client per master
        self._shard_down_until: dict[str, float] = {}  # and a breaker per master
        self._hit_script = self._redis.register_script(_HIT)
        self._release_script = self._redis.register_script(_RELEASE)

    @property
    def connected(self) -> bool:
        return self._sub is not None and self._sub.connected

    async def start(self, on_message: MessageHandler, on_reconnect: ReconnectHandler) -> None:
        async def heartbeat() -> None:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.publish(heartbeat_channel(self.node_id), b"")
                self._record_presence(pipe, self._local_presence)
                await pipe.execute()

        async def reconnected() -> None:
            with contextlib.suppress(*REDIS_ERRORS):
                await self._refresh_presence()
            await on_reconnect()

        if self._cluster is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await self._cluster.initialize()  # (else the subscriber keeps asking)
            self._sub = ShardedSubscriber(self._cluster, self._target, on_message, reconnected)
            self._tasks.append(asyncio.create_task(self._keep_presence(), name="tl-presence"))
        else:
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

    async def close(self) -> None:
        await self._flush(deadline=time.monotonic() + 1.0)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sub is not None:
            await self._sub.close()
        if self._local_presence:
            with contextlib.suppress(*REDIS_ERRORS):
                # Leave presence at once on a clean shutdown instead of after NODE_TTL.
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel in self._local_presence:
                        pipe.delete(presence_count_key(channel, self.node_id))
                        pipe.srem(presence_key(channel), self.node_id)
                    await pipe.execute()
        await self._redis.aclose()
        for client in [*self._masters.values(), *self._sentinels]:
            await client.aclose()

    # -- pub/sub -------------------------------------------------------------------------
    async def publish(self, channel: str, message: bytes) -> None:
        """Queue for the publisher task: a POST never waits on Redis."""
        if len(self._outbox) >= OUTBOX_MAX:
            self._outbox.popleft()  # durable events are in the database; readers catch up
        self._outbox.append((channel, message))
        self._wake.set()

    async def _publisher(self) -> None:
        # What cannot be published is dropped, never held: the subscribers it was for lost
        # their connection too, and catch up from the database when they are back (a
        # cluster's other shards keep taking SPUBLISH while one is down).
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 512))]
                try:
                    await self._send(batch)
                except Exception:
                    # A bug, not Redis: seen, and the task goes on (ended, nothing would
                    # ever be published again by this process).
                    log.exception("publishing %d message(s) failed; dropped", len(batch))

    async def _send(self, batch: list[tuple[str, bytes]]) -> None:
        if self._cluster is not None:
            await self._send_sharded(batch)  # (each master has its own breaker)
        elif self._available():
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, message in batch:
                        pipe.publish(channel, message)
                    await pipe.execute()
            except REDIS_ERRORS as exc:
                self._trip(exc)

    async def _send_sharded(self, batch: list[tuple[str, bytes]], *, again: bool = True) -> None:
        """``batch`` grouped by the master owning each channel's slot (redis-py's slot map),
        one plain pipeline per master: its cluster pipeline spends longer working out every
        command's slot than Redis spends on the command."""
        assert self._cluster is not None
        groups: dict[str, tuple[ClusterNode, list[tuple[str, bytes]]]] = {}
        try:
            for item in batch:
                node = self._cluster.get_node_from_key(item[0])
                if node is None:
                    raise RedisClusterException("a slot has no master")
                groups.setdefault(node.name, (node, []))[1].append(item)
        except REDIS_ERRORS as exc:
            self._trip(exc)  # no slot map: the cluster is being asked again
            await self._refresh_map()
            return
        now = time.monotonic()
        await asyncio.gather(
            *(
                self._send_to(master, items, again=again)
                for master, items in groups.values()
                if self._shard_down_until.get(master.name, 0.0) <= now
            )
        )

    async def _send_to(
        self, master: ClusterNode, batch: list[tuple[str, bytes]], *, again: bool
    ) -> None:
        """One master's share of a batch, on a client of its own."""
        client = self._masters.get(master.name)
        if client is None:
            client = self._masters[master.name] = Redis(
                host=master.host,
                port=int(master.port),
                username=self._target.username,
                password=self._target.password,
                ssl=self._target.tls,
                health_check_interval=_CLIENT_OPTIONS["health_check_interval"],
                **_QUICK,
            )
        try:
            async with client.pipeline(transaction=False) as pipe:
                for channel, message in batch:
                    pipe.spublish(channel, message)
                results = await pipe.execute(raise_on_error=False)
        except REDIS_ERRORS as exc:
            # That master is down: what is for it is dropped for a second (its subscribers
            # lost their connection too, and catch up), the other shards go on.
            await self._shard_failed(master, exc)
            return
        refused = [(item, r) for item, r in zip(batch, results, strict=True) if _failed(r)]
        if not refused:
            return
        if again:
            # A slot moved (MOVED): nobody heard these, and its subscribers may already
            # have caught up on the new owner, so they go again, once, by a fresh map.
            await self._refresh_map()
            await self._send_sharded([item for item, _ in refused], again=False)
        else:  # refused twice (no permission, a cluster down): dropped, and said once
            await self._shard_failed(master, refused[0][1])

    async def _shard_failed(self, master: ClusterNode, error: object) -> None:
        """A second's breaker for ``master``, said once per breaker, and a fresh map."""
        if self._shard_down_until.get(master.name, 0.0) <= time.monotonic():
            log.warning("a Redis Cluster master did not take publishes (%s)", error)
        self._shard_down_until[master.name] = time.monotonic() + BREAKER_SECONDS
        await self._refresh_map()

    async def _refresh_map(self) -> None:
        assert self._cluster is not None
        with contextlib.suppress(*REDIS_ERRORS):
            await self._cluster.nodes_manager.initialize()

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
    # A channel's presence is a set of process ids, each with a count key of its own that
    # expires NODE_TTL after the process last said so: a killed process's readers vanish,
    # and no read ever needs keys of two slots at once (a Redis Cluster would refuse it).
    def _record_presence(self, pipe: Any, counts: dict[str, int]) -> None:
        for channel, count in counts.items():
            key = presence_key(channel)
            if count:
                pipe.set(presence_count_key(channel, self.node_id), count, ex=NODE_TTL)
                pipe.sadd(key, self.node_id)
                pipe.expire(key, NODE_TTL * 4)
            else:
                pipe.delete(presence_count_key(channel, self.node_id))
                pipe.srem(key, self.node_id)

    async def _refresh_presence(self) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            self._record_presence(pipe, self._local_presence)
            await pipe.execute()

    async def _keep_presence(self) -> None:
        """(Cluster: no heartbeat is published, so this keeps the count keys alive.)"""
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            if self._local_presence and self._available():
                try:
                    await self._refresh_presence()
                except REDIS_ERRORS as exc:
                    self._trip(exc)

    async def set_presence(self, channel: str, count: int) -> None:
        if count:
            self._local_presence[channel] = count
        else:
            self._local_presence.pop(channel, None)
        await self._fallback.set_presence(channel, count)
        if not self._available():
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                self._record_presence(pipe, {channel: count})
                await pipe.execute()
        except REDIS_ERRORS as exc:
            self._trip(exc)

    async def presence(self, channels: Sequence[str]) -> dict[str, int]:
        if channels and self._available():
            try:
                return await self._read_presence(channels)
            except REDIS_ERRORS as exc:
                self._trip(exc)
        return await self._fallback.presence(channels)

    async def _read_presence(self, channels: Sequence[str]) -> dict[str, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel in channels:
                pipe.smembers(presence_key(channel))
            members: list[set[bytes]] = await pipe.execute()
        counted = [
            (channel, node.decode())
            for channel, nodes in zip(channels, members, strict=True)
            for node in nodes
        ]
        totals = dict.fromkeys(channels, 0)
        if not counted:
            return totals
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, node in counted:
                pipe.get(presence_count_key(channel, node))
            counts: list[bytes | None] = await pipe.execute()
        gone = []
        for (channel, node), count in zip(counted, counts, strict=True):
            if count is None:
                gone.append((channel, node))  # that process is gone (or left)
            else:
                totals[channel] += int(count)
        if gone:
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel, node in gone:
                    pipe.srem(presence_key(channel), node)
                await pipe.execute()
        return totals

    # -- rate limits ---------------------------------------------------------------------
    async def hit(self, key: str, limit: int, window: float) -> float:
        if self._available():
            try:
                ttl = await self._hit_script(
                    keys=[limit_key(key)], args=[int(window * 1000), limit]
                )
                return int(ttl) / 1000
            except REDIS_ERRORS as exc:
                self._trip(exc)
        return await self._fallback.hit(key, limit, window)

    async def peek(self, key: str) -> int:
        if self._available():
            try:
                value = await self._redis.get(limit_key(key))
                return int(value or 0)
            except REDIS_ERRORS as exc:
                self._trip(exc)
        return await self._fallback.peek(key)

    async def reset(self, key: str) -> None:
        await self._fallback.reset(key)
        if self._available():
            try:
                await self._redis.delete(limit_key(key))
            except REDIS_ERRORS as exc:
                self._trip(exc)

    async def release(self, key: str) -> None:
        await self._fallback.release(key)
        if self._available():
            try:
                await self._release_script(keys=[limit_key(key)])
            except REDIS_ERRORS as exc:
                self._trip(exc)

    async def ping(self) -> None:
        if self._cluster is not None:
            # Every master must answer (each serves pages); a replica down is no outage.
            await self._cluster.ping(target_nodes=RedisCluster.PRIMARIES)
        else:
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


def _failed(result: object) -> bool:
    return isinstance(result, REDIS_ERRORS)
