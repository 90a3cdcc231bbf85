"""Listening on a Redis Cluster: every channel is ``SSUBSCRIBE``d on the master that owns its
slot (sharded pub/sub keeps a page's messages inside its shard), through one connection per
master, and moved when the cluster changes under it.

Where a slot lives is redis-py's cluster client's answer (its slot map, refreshed here when
a shard's connection fails, a node answers ``MOVED`` or lets go of a channel because its
slot migrated). Only the reading is ours: the same lean subscriber as on one server, one per
shard, each reading its own socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException

from server.broker.base import MessageHandler, ReconnectHandler
from server.broker.redis_sub import REDIS_ERRORS, Subscriber
from server.broker.targets import RedisTarget

log = logging.getLogger("threadline.broker")

# After the map changed: how long every shard has to connect before the map is asked again
# (a master that died is still named until its replica is promoted), doubling up to a cap.
SETTLE_SECONDS = 1.0
RETRY_SECONDS = 0.25
RETRY_MAX_SECONDS = 2.0


class ShardedSubscriber:
    """One :class:`Subscriber` per master that owns a wanted channel's slot."""

    def __init__(
        self,
        cluster: RedisCluster,
        target: RedisTarget,
        on_message: MessageHandler,
        on_reconnect: ReconnectHandler,
    ) -> None:
        self._cluster = cluster
        self._target = target
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self.channels: set[str] = set()
        self._shards: dict[str, Subscriber] = {}  # by node name, HOST:PORT
        self._trouble = asyncio.Event()
        self._settling = False
        self._task: asyncio.Task[None] | None = None
        self._catchups: set[asyncio.Future[None]] = set()

    @property
    def connected(self) -> bool:
        return not (self._trouble.is_set() or self._settling) and self._all_connected()

    def start(self) -> None:
        self._task = asyncio.create_task(self._settle(), name="threadline-redis-shards")

    async def close(self) -> None:
        for task in (self._task, *self._catchups):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        while self._shards:
            _name, shard = self._shards.popitem()
            await shard.close()

    def subscribe(self, channels: Iterable[str]) -> None:
        new = [ch for ch in channels if ch not in self.channels]
        self.channels.update(new)
        if self._trouble.is_set() or self._settling:
            self._trouble.set()  # the settling task's next round routes every wanted one
            return
        try:
            plan = self._plan(new)
        except REDIS_ERRORS:
            self._trouble.set()  # no slot map yet, or a slot without a master
            return
        for node, group in plan.values():
            self._shard(node).subscribe(group)

    def unsubscribe(self, channels: Iterable[str]) -> None:
        gone = [ch for ch in channels if ch in self.channels]
        self.channels.difference_update(gone)
        for shard in self._shards.values():
            shard.unsubscribe(gone)  # (each sends only the ones it holds)

    # -- routing --------------------------------------------------------------------------
    def _plan(self, channels: Iterable[str]) -> dict[str, tuple[ClusterNode, list[str]]]:
        """The master each channel's slot belongs to, from the client's slot map."""
        plan: dict[str, tuple[ClusterNode, list[str]]] = {}
        for channel in channels:
            node = self._cluster.get_node_from_key(channel)
            if node is None:
                raise RedisClusterException("a slot has no master")
            plan.setdefault(node.name, (node, []))[1].append(channel)
        return plan

    def _shard(self, node: ClusterNode) -> Subscriber:
        shard = self._shards.get(node.name)
        if shard is None:
            address = (str(node.host), int(node.port))

            async def locate() -> tuple[str, int]:
                return address

            shard = Subscriber(
                self._target,
                None,  # a PING, not a published heartbeat, proves the connection
                self._on_message,
                self._on_reconnect,
                None,
                locate=locate,
                sharded=True,
                on_lost=self._lost,
                on_down=self._trouble.set,
                slot_of=self._cluster.keyslot,
            )
            shard.start()
            self._shards[node.name] = shard
        return shard

    def _lost(self, channel: str) -> None:
        # Still wanted: its slot moved to another master, which must take it.
        if channel in self.channels:
            self._trouble.set()

    async def _settle(self) -> None:
        """Whenever a shard is in trouble: ask the cluster for its slot map again and move
        every channel to the master that owns its slot now, until every shard is connected,
        catching up from the database after each move (what was published meanwhile is
        gone), asking less often the longer it lasts."""
        while True:
            await self._trouble.wait()
            try:
                await self._settle_episode()
            except Exception:
                # A bug, not Redis (whose errors each round handles): seen, and retried,
                # rather than the task ending and no channel ever moving again.
                log.exception("re-routing Redis Cluster channels failed; trying again")
                self._settling = False
                self._trouble.set()
                await asyncio.sleep(RETRY_MAX_SECONDS)

    async def _settle_episode(self) -> None:
        """Rounds until every wanted channel is subscribed on a connected shard, each after
        a longer pause than the last: a node that answers from a stale map (a replica that
        has not heard of a move yet) sends channels back and forth, and each round catches
        up every open page from the database."""
        self._settling, wait, rounds, said = True, RETRY_SECONDS, 0, False
        while self._trouble.is_set():
            if rounds:
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX_SECONDS)
            rounds += 1
            self._trouble.clear()  # trouble from now on is seen by the next round
            moved = await self._reroute(quiet=rounds > 1)
            if moved is not None:
                deadline = time.monotonic() + SETTLE_SECONDS
                # (Polled: the shards' connected flags are theirs to set.)
                while time.monotonic() < deadline and not self._all_connected():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                if moved:
                    log.log(
                        logging.DEBUG if said else logging.WARNING,  # (once an episode)
                        "Redis Cluster channels moved to new masters; catching up",
                    )
                    said = True
                    self._catch_up()
            if moved is None or not self._all_connected():
                self._trouble.set()
        self._settling = False

    def _catch_up(self) -> None:
        # (Every time: one already running may have read the pages before this move.)
        catchup = asyncio.ensure_future(self._on_reconnect())
        self._catchups.add(catchup)
        catchup.add_done_callback(self._catchups.discard)

    def _all_connected(self) -> bool:
        return all(shard.connected for shard in self._shards.values())

    async def _reroute(self, *, quiet: bool) -> bool | None:
        """Apply the cluster's current slot map: whether any channel changed shard, or
        ``None`` when no map could be had."""
        try:
            # (The client's slot map, asked again now: its own refresh waits for errors.)
            await self._cluster.nodes_manager.initialize()
            plan = self._plan(self.channels)
        except REDIS_ERRORS as exc:
            if not quiet:  # once per episode, not every round
                log.warning("Redis Cluster slot map unavailable (%s); asking again", exc)
            return None
        moved = False
        for name in list(self._shards):
            shard = self._shards[name]
            keep = set(plan[name][1]) if name in plan else set()
            if not keep:
                moved = moved or bool(shard.channels)
                await shard.close()  # (then forgotten: a cancel meanwhile leaks nothing)
                del self._shards[name]
                continue
            gone = [ch for ch in shard.channels if ch not in keep]
            if gone:
                moved = True
                shard.unsubscribe(gone)
        for node, group in plan.values():
            shard = self._shard(node)
            missing = [ch for ch in group if ch not in shard.channels]
            if missing:
                moved = True
                shard.subscribe(missing)
        return moved
