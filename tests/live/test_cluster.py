"""Redis Cluster (issue #20): two server processes on a 3-master, 3-replica cluster deliver
comments, typing and presence across processes through sharded pub/sub (each page's channel
subscribed, and published to, on the master that owns its slot only; no PUBLISH), and follow
a failover: the master owning the busiest page is killed mid-stream, its replica promoted,
and every reader ends with every comment once, in order, with writers posting throughout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from server.broker.channels import page_channel
from server.broker.redis import RedisBroker
from server.broker.targets import parse_target
from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.cluster import RedisClusterSet
from tests.support.config import SECRET
from tests.support.db import Databases, page_of
from tests.support.live import start_pair
from tests.support.metrics import TOKEN, scrape
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import free_port, running
from tests.support.ws import Reader

pytestmark = pytest.mark.slow

PAGES = [f"page-{n}" for n in range(8)]  # enough for every shard to own some


def page_channels(redis_cluster: RedisClusterSet) -> dict[str, set[int]]:
    """Each page channel a node has a sharded subscription to, and which masters."""
    seen: dict[str, set[int]] = {}
    for port in redis_cluster.masters():
        for channel in redis_cluster.shard_channels(port):
            if channel.startswith("tl:p:"):
                seen.setdefault(channel, set()).add(port)
    return seen


async def test_two_processes_deliver_through_cluster_shards_and_follow_a_failover(
    databases: Databases, redis_cluster: RedisClusterSet, tmp_path: Path
) -> None:
    db_url = await databases.create("postgresql")
    store = SqlStore(db_url, pool_size=1)
    await add_site(command_services(store, SECRET), "sharded", origins=[ORIGIN])
    a, b = start_pair(db_url, redis_cluster.url, tmp_path, THREADLINE_METRICS_TOKEN=TOKEN)
    readers: list[Reader] = []
    try:
        # A reader on every page in each process: every page is wanted by both.
        on_a = {p: await Reader.open(a.ws_url, "sharded", p, seq=0) for p in PAGES}
        on_b = {p: await Reader.open(b.ws_url, "sharded", p, seq=0) for p in PAGES}
        readers += [*on_a.values(), *on_b.values()]
        busiest = PAGES[0]
        # Presence and typing cross processes through the page's shard.
        await on_a[busiest].wait(lambda: on_a[busiest].presence() == 2)
        await on_b[busiest].wait(lambda: on_b[busiest].presence() == 2)
        await on_a[busiest].send({"type": "typing"})
        assert (await on_b[busiest].next("typing"))["data"] is None
        await asyncio.to_thread(redis_cluster.reset_stats)

        statuses: list[int] = []
        async with http_client(timeout=30) as http:

            async def post(page: str, i: int, server: ServerProcess | None = None) -> None:
                server = server or (a, b)[i % 2]
                r = await http.post(
                    f"{server.url}/api/v1/sites/sharded/comments",
                    json={"page": page, "body": f"{page} c{i}"},
                )
                statuses.append(r.status_code)

            for page in PAGES:  # live across processes: posted on A, read on B
                await post(page, 0, a)
                await on_b[page].until_seq(1, timeout=5)
            before = await scrape(http, b.url)
            assert before["threadline_broker_connected"] == 1

            # Sharded pub/sub only, each page on its own shard: every page channel is
            # subscribed on exactly one master, the one owning its slot, and no node saw a
            # PUBLISH (which Redis Cluster copies to every node).
            channels = page_channels(redis_cluster)
            assert len(channels) == len(PAGES)
            for channel, ports in channels.items():
                assert ports == {redis_cluster.master_of(channel)}, channel
            owners = {redis_cluster.master_of(channel) for channel in channels}
            assert len(owners) == 3  # the pages spread over all three shards
            for port in redis_cluster.masters():
                calls = await asyncio.to_thread(redis_cluster.command_calls, port)
                assert calls.get("publish", 0) == 0
                assert calls.get("spublish", 0) > 0  # each shard carried its own pages

            page_id, _ = await page_of(store, "sharded", busiest)
            busiest_channel = page_channel("sharded", page_id)
            assert busiest_channel in channels
            victim = redis_cluster.master_of(busiest_channel)
            for i in range(1, 20):
                await post(busiest, i)
            redis_cluster.kill(victim)
            for i in range(20, 60):  # posted while the cluster notices and promotes
                await post(busiest, i)
                await post(PAGES[1 + i % (len(PAGES) - 1)], i)
                await asyncio.sleep(0.05)
            promoted = await asyncio.to_thread(redis_cluster.wait_promoted, victim)
            for i in range(60, 80):
                await post(busiest, i)
            for reader in (on_a[busiest], on_b[busiest]):
                await reader.until_seq(80, timeout=30)
                assert reader.seqs() == list(range(1, 81))
                bodies = [f["data"]["comment"]["body"] for f in reader.durable()]
                assert bodies == [f"{busiest} c{i}" for i in range(80)]
            for page in PAGES[1:]:  # the other pages, on whichever shard, complete too
                _, final = await page_of(store, "sharded", page)
                for reader in (on_a[page], on_b[page]):
                    await reader.until_seq(final, timeout=30)
                    assert reader.seqs() == list(range(1, final + 1))
            # Both processes subscribe the busiest page on the promoted replica now, and
            # delivery through it is live again: posted on A, on B at once.
            await asyncio.to_thread(
                redis_cluster.wait_until,
                lambda: busiest_channel in redis_cluster.shard_channels(promoted),
            )
            await post(busiest, 80, a)
            await on_b[busiest].until_seq(81, timeout=5)
            # What an operator watches: B's subscriptions are live again, and it caught up.
            after = await scrape(http, b.url)
            assert after["threadline_broker_connected"] == 1
            assert (
                after["threadline_broker_catch_ups_total"]
                > before["threadline_broker_catch_ups_total"]
            )
        assert set(statuses) == {201}
    finally:
        for reader in readers:
            await reader.close()
        a.terminate()
        b.terminate()
        await store.close()


async def until(done: Callable[[], bool], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not done():
            await asyncio.sleep(0.05)


async def test_a_channel_follows_its_slot_when_the_cluster_reshards(
    redis_cluster: RedisClusterSet,
) -> None:
    """A slot moved to another master (resharding): the old owner unsubscribes its shard
    channels, the subscriber asks for the new map, subscribes there and catches up."""
    heard: list[bytes] = []
    caught_up = asyncio.Event()

    async def catch_up() -> None:
        caught_up.set()

    sender = RedisBroker(parse_target(redis_cluster.url), "sender")
    listener = RedisBroker(parse_target(redis_cluster.url), "listener")
    await sender.start(lambda _channel, _message: None, catch_up)
    await listener.start(lambda _channel, message: heard.append(message), catch_up)
    try:
        channel = page_channel("moving", 1)
        await listener.subscribe(channel)
        source = redis_cluster.master_of(channel)
        await until(lambda: channel in redis_cluster.shard_channels(source))
        await sender.publish(channel, b"before")
        await until(lambda: heard == [b"before"])

        target = next(port for port in redis_cluster.masters() if port != source)
        await asyncio.to_thread(redis_cluster.move_slot, channel, target)
        await until(caught_up.is_set)
        # (A replica asked for the map may still name the old owner: then the SSUBSCRIBE
        # meets MOVED and the map is asked again until it names the new one.)
        await until(lambda: channel in redis_cluster.shard_channels(target))
        assert channel not in redis_cluster.shard_channels(source)
        await sender.publish(channel, b"after")  # (the sender's map learns from MOVED)
        await until(lambda: heard == [b"before", b"after"])
        assert listener.connected
        await listener.ping()  # (every master answers: ready)
    finally:
        await sender.close()
        await listener.close()


async def test_a_cluster_that_does_not_answer_leaves_the_process_serving() -> None:
    """No node answers (at start, and later): the process starts, rate limits and presence
    fall back to the process, publishing drops and goes on, and nothing raises."""
    broker = RedisBroker(parse_target(f"redis+cluster://127.0.0.1:{free_port()}"), "alone")

    async def nothing() -> None:
        return None

    await broker.start(lambda _channel, _message: None, nothing)
    try:
        channel = page_channel("alone", 1)
        await broker.subscribe(channel)
        assert await broker.hit("post:1", 1, 10.0) == 0
        assert await broker.hit("post:1", 1, 10.0) > 0  # counted here, as with no Redis
        await broker.set_presence(channel, 2)
        assert await broker.presence([channel]) == {channel: 2}
        for n in range(3):
            await broker.publish(channel, b"%d" % n)
            await asyncio.sleep(0.3)
        publishers = [t for t in broker._tasks if t.get_name() == "threadline-publisher"]
        assert publishers and not publishers[0].done()  # (it died with the first error)
        assert not broker.connected
    finally:
        await broker.close()


async def test_a_cluster_behind_a_password_is_used_with_the_urls_credentials(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every node asks for a password: the slot map, each shard's subscriber, each master's
    publishing client and the presence and rate-limit commands all log in with the URL's."""
    guarded = RedisClusterSet(tmp_path_factory.mktemp("guarded"), password="s3cret-Pa55")
    with running(guarded, None if guarded.exe else "redis-server and redis-cli"):
        with pytest.raises(redis.AuthenticationError):  # (the password is really asked)
            redis.Redis(port=guarded.masters()[0]).ping()
        heard: list[bytes] = []

        async def nothing() -> None:
            return None

        sender = RedisBroker(parse_target(guarded.url), "sender")
        listener = RedisBroker(parse_target(guarded.url), "listener")
        await sender.start(lambda _channel, _message: None, nothing)
        await listener.start(lambda _channel, message: heard.append(message), nothing)
        try:
            channels = [page_channel("guarded", n) for n in range(6)]
            for channel in channels:
                await listener.subscribe(channel)
            await until(lambda: listener.connected)
            await until(lambda: sum(len(guarded.shard_channels(p)) for p in guarded.masters()) == 6)
            for n, channel in enumerate(channels):
                await sender.publish(channel, b"%d" % n)
            await until(lambda: sorted(heard) == [b"%d" % n for n in range(6)])
            await sender.set_presence(channels[0], 2)
            assert await listener.presence([channels[0]]) == {channels[0]: 2}
            assert await sender.hit("post:g", 1, 10.0) == 0
            assert await listener.hit("post:g", 1, 10.0) > 0  # counted in the cluster
        finally:
            await sender.close()
            await listener.close()
