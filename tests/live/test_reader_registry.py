"""The reader registry on its own, over the real store: one broker subscription per reader
however many sockets (refcounted, none leaked whatever order joins, leaves and slow
subscriptions interleave in), doorbells coalesced into one read per reader, a newcomer told
the known count without a read, other processes' doorbells only, and a reconnect re-reading
every reader."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson

from server.broker.channels import reader_channel
from server.broker.memory import MemoryBroker
from server.live.frames import Frame
from server.live.readers import EVERY, ReaderRegistry
from tests.support.api import Api


class Socket:
    """The part of a LiveConnection the registry uses: what was pushed to it, as JSON."""

    def __init__(self) -> None:
        self.closed = False
        self.room: Any = None
        self.reader: Any = None
        self.pushed: list[Frame] = []
        self.changed = asyncio.Event()

    def push(self, frame: Frame) -> None:
        self.pushed.append(frame)
        self.changed.set()

    def counts(self) -> list[int]:
        return [orjson.loads(f.data)["data"]["unread"] for f in self.pushed]

    async def wait(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.pushed) < count:
                self.changed.clear()
                await self.changed.wait()


class SlowBroker(MemoryBroker):
    """Subscriptions that take until the test lets them through, and a log of them."""

    def __init__(self) -> None:
        super().__init__("node-a")
        self.gate = asyncio.Event()
        self.gate.set()
        self.calls: list[tuple[str, str]] = []

    async def subscribe(self, channel: str) -> None:
        self.calls.append(("subscribe", channel))
        await self.gate.wait()
        await super().subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        self.calls.append(("unsubscribe", channel))
        await self.gate.wait()
        await super().unsubscribe(channel)

    @property
    def channels(self) -> set[str]:
        return set(self._channels)


async def settled(registry: ReaderRegistry) -> None:
    """Every subscription change started has finished."""
    while registry._syncing:
        await asyncio.gather(*registry._syncing.values())


def idle(registry: ReaderRegistry) -> bool:
    """No read is under way or due."""
    worker = registry._worker
    return (worker is None or worker.done()) and not registry._due


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not predicate():
            await asyncio.sleep(0.01)


async def seeded(api: Api, unread: int) -> tuple[str, str, int]:
    """A site and a reader of it with ``unread`` unread notifications."""
    site = await api.new_site()
    posted = await api.post(site, body="mine")
    async with api.store.read() as tx:
        comment = await tx.find_comment(int(posted["comment"]["id"]))
    assert comment is not None and comment.author_hash is not None
    for n in range(unread):  # each by a reader of their own: each tells the author
        await api.post(site, body=f"reply {n}", parent=comment.id)
    await api.fanned_out()  # what a server does a moment after the posts
    async with api.store.read() as tx:
        assert await tx.unread_notifications(site, comment.author_hash) == unread
    return site, comment.author_hash, comment.id


async def test_one_subscription_per_reader_until_the_last_socket_leaves(asgi_api: Api) -> None:
    site, reader, _ = await seeded(asgi_api, 0)
    broker = SlowBroker()
    registry = ReaderRegistry(broker, asgi_api.store, broker.node_id)
    channel = reader_channel(site, reader)
    first, second, other = Socket(), Socket(), Socket()
    await registry.join(first, site, reader)
    await registry.join(second, site, reader)
    await registry.join(other, site, "someone-else")
    assert broker.calls.count(("subscribe", channel)) == 1
    assert channel in broker.channels and registry.connections == 3
    registry.leave(first)
    await settled(registry)
    assert channel in broker.channels  # one socket still reads
    registry.leave(second)
    registry.leave(second)  # twice: no harm
    await settled(registry)
    assert channel not in broker.channels and channel not in registry.by_channel
    assert broker.calls.count(("unsubscribe", channel)) == 1
    registry.leave(other)
    await settled(registry)
    assert broker.channels == set() and registry.subscribed == set()
    assert registry.by_channel == {} and registry._due == {}
    await registry.close()


async def test_leaving_and_joining_during_a_slow_subscription_leaks_nothing(
    asgi_api: Api,
) -> None:
    site, reader, _ = await seeded(asgi_api, 0)
    broker = SlowBroker()
    registry = ReaderRegistry(broker, asgi_api.store, broker.node_id)
    channel = reader_channel(site, reader)
    broker.gate.clear()
    socket = Socket()
    joining = asyncio.create_task(registry.join(socket, site, reader))
    await asyncio.sleep(0.01)
    registry.leave(socket)  # gone before the broker answered
    broker.gate.set()
    await joining
    await settled(registry)
    assert channel not in broker.channels and registry.subscribed == set()
    assert socket.pushed == []  # left before it was told anything
    # Leave and join again while the unsubscription is slow: subscribed at the end.
    await registry.join(socket, site, reader)
    broker.gate.clear()
    registry.leave(socket)
    again = Socket()
    rejoining = asyncio.create_task(registry.join(again, site, reader))
    await asyncio.sleep(0.01)
    broker.gate.set()
    await rejoining
    await settled(registry)
    assert channel in broker.channels and registry.subscribed == {channel}
    registry.leave(again)
    await settled(registry)
    assert broker.channels == set()
    await registry.close()


async def test_doorbells_are_one_read_and_a_newcomer_is_told_without_one(
    asgi_api: Api,
) -> None:
    site, reader, comment = await seeded(asgi_api, 2)
    broker = MemoryBroker("node-a")
    loop = asyncio.get_running_loop()
    # On the loop's clock: when a read is due can be compared with the loop's timers.
    registry = ReaderRegistry(broker, asgi_api.store, broker.node_id, clock=loop.time)
    channel = reader_channel(site, reader)
    first = Socket()
    await registry.join(first, site, reader)
    await first.wait(1)
    assert first.counts() == [2] and registry.reads == 1
    # A newcomer is told the known count at once, without reading it again.
    second = Socket()
    await registry.join(second, site, reader)
    assert second.counts() == [2] and registry.reads == 1
    await asgi_api.post(site, body="a third reply", parent=comment)  # (rings elsewhere)
    await asgi_api.fanned_out()
    # Fifteen doorbells in a row (some from this process, which other processes skip): one
    # read, one frame to each socket, after the interval since the last read.
    for _ in range(5):
        registry.rang(channel)
        registry.on_message(channel, b"node-b")
        registry.on_message(channel, b"node-a")  # its own doorbell: ignored
    # The read waits out the interval since the last one began, however soon they rang.
    entry = registry.by_channel[channel]
    assert entry.timer is not None and entry.last is not None
    assert entry.timer.when() >= entry.last + EVERY - 0.001
    await second.wait(2)
    assert registry.reads == 2 and first.counts() == [2, 3] and second.counts() == [2, 3]
    # A doorbell that finds the count where it was reads it, and tells nobody again.
    registry.rang(channel)
    # ``reads`` counts a read when made, before its transaction ends and its counts go out:
    # wait for the worker too, or the next doorbell lands while this read is still telling.
    await until(lambda: registry.reads == 3 and idle(registry))
    assert first.counts() == [2, 3] and second.counts() == [2, 3]
    # A doorbell rung while a read is pending means the newcomer waits for that read.
    registry.rang(channel)
    third = Socket()
    await registry.join(third, site, reader)
    assert third.pushed == [] or registry.reads == 4  # not the count known before it rang
    await third.wait(1)
    assert third.counts() == [3] and registry.reads == 4
    assert first.counts() == [2, 3] and second.counts() == [2, 3]
    for socket in (first, second, third):
        registry.leave(socket)
    await registry.close()


async def test_a_reconnect_reads_every_reader_again_in_one_batch(asgi_api: Api) -> None:
    site, reader, _ = await seeded(asgi_api, 1)
    broker = MemoryBroker("node-a")
    registry = ReaderRegistry(broker, asgi_api.store, broker.node_id)
    sockets = [Socket() for _ in range(4)]
    hashes = [reader, "h1", "h2", "h3"]
    for socket, author in zip(sockets, hashes, strict=True):
        await registry.join(socket, site, author)
    for socket in sockets:
        await socket.wait(1)
    assert [s.counts() for s in sockets] == [[1], [0], [0], [0]]
    reads = registry.reads
    # A change no doorbell told of (one lost in the outage), then the reconnect.
    async with asgi_api.store.write() as tx:
        await tx.mark_notifications_read(site, reader, None, 1)
    registry.all_rang()
    await until(lambda: registry.reads == reads + 4)
    # Everyone read again; only the socket whose count changed is told.
    await sockets[0].wait(2)
    assert [s.counts() for s in sockets] == [[1, 0], [0], [0], [0]]
    # A doorbell for a reader with no socket here costs nothing.
    registry.rang(reader_channel(site, "nobody"))
    assert registry._due == {} and all(r.timer is None for r in registry.by_channel.values())
    for socket in sockets:
        registry.leave(socket)
    await settled(registry)
    assert registry.by_channel == {} and registry.subscribed == set()
    await registry.close()


async def test_once_closed_nothing_new_starts(asgi_api: Api) -> None:
    site, reader, _ = await seeded(asgi_api, 1)
    broker = SlowBroker()
    registry = ReaderRegistry(broker, asgi_api.store, broker.node_id)
    channel = reader_channel(site, reader)
    socket = Socket()
    await registry.join(socket, site, reader)
    await socket.wait(1)
    registry.rang(channel)
    await registry.close()
    # Shutting down: the pending read was dropped, doorbells start none, and the sockets
    # closing now start no unsubscription (the closing broker drops them all).
    assert registry.by_channel[channel].timer is None
    registry.rang(channel)
    assert registry.by_channel[channel].timer is None
    calls = len(broker.calls)
    registry.leave(socket)
    assert registry._syncing == {} and len(broker.calls) == calls
    assert registry.by_channel == {} and socket.counts() == [1]
