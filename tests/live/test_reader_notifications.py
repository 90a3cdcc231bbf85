"""A reader's unread notifications count, live, across two processes (PostgreSQL, real
Redis): a reply posted through one process reaches the reader's socket on the other within a
second; every socket of a reader follows a mark-read made anywhere; other readers hear
nothing; a burst of reactions is a handful of frames ending at the database's count."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from server.broker.channels import reader_channel
from server.live.readers import EVERY
from server.store.database import SqlStore
from tests.support.api import fanned_out
from tests.support.db import Databases
from tests.support.live import Pair, start_pair
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import RedisServer
from tests.support.ws import Reader

pytestmark = pytest.mark.slow

networks = itertools.count(1)


def notifications(socket: Reader) -> list[dict[str, Any]]:
    return [f for f in socket.frames if f["type"] == "notifications"]


def unread(socket: Reader) -> int | None:
    """The count the socket's latest notifications frame gave."""
    frames = notifications(socket)
    return frames[-1]["data"]["unread"] if frames else None


class Author:
    """A reader on a network of their own, keeping the author token their first post gave."""

    def __init__(self, pair: Pair, site: str) -> None:
        n = next(networks)
        self.pair, self.site = pair, site
        self.ip = f"100.{80 + n // 250}.{n % 250}.7"
        self.token: str | None = None

    def headers(self) -> dict[str, str]:
        out = {"X-Forwarded-For": self.ip}
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return out

    async def post(
        self, server: ServerProcess, body: str, page: str = "p", parent: int | None = None
    ) -> int:
        payload: dict[str, Any] = {"page": page, "body": body}
        if parent is not None:
            payload["parent"] = parent
        r = await self.pair.http.post(
            f"{server.url}/api/v1/sites/{self.site}/comments", json=payload, headers=self.headers()
        )
        assert r.status_code == 201, r.text
        self.token = self.token or r.json()["author_token"]
        return int(r.json()["comment"]["id"])

    async def socket(self, server: ServerProcess, page: str = "p") -> Reader:
        """A socket subscribed with this reader's token, once it has its first count."""
        socket = await Reader.open(server.ws_url, self.site, page, token=self.token)
        await socket.next("notifications")
        return socket


async def test_a_reply_through_b_reaches_the_reader_on_a_within_a_second(pair: Pair) -> None:
    site = await pair.site()
    alice, bob = Author(pair, site), Author(pair, site)
    comment = await alice.post(pair.a, "tell me")
    socket = await alice.socket(pair.a)
    # A newly joined socket gets the current count once, in the common envelope.
    assert notifications(socket) == [
        {"type": "notifications", "page": "p", "seq": 0, "data": {"unread": 0}}
    ]
    await bob.post(pair.b, "told you", parent=comment)
    await socket.wait(lambda: unread(socket) == 1, timeout=1.0)
    assert notifications(socket)[-1] == {
        "type": "notifications",
        "page": "p",
        "seq": 0,
        "data": {"unread": 1},
    }
    await socket.close()


async def test_every_socket_of_a_reader_follows_a_mark_read_made_on_one(pair: Pair) -> None:
    site = await pair.site()
    alice, bob = Author(pair, site), Author(pair, site)
    comment = await alice.post(pair.a, "tell me")
    on_a = await alice.socket(pair.a, "p")
    on_b = await alice.socket(pair.b, "q")  # another page, the other process
    await bob.post(pair.a, "one", parent=comment)
    await bob.post(pair.b, "two", parent=comment, page="p")
    reply_of_carol = await Author(pair, site).post(pair.b, "three", parent=comment)
    assert reply_of_carol
    for socket in (on_a, on_b):
        # Bob's two replies are two notifications, Carol's a third.
        await socket.wait(lambda s=socket: unread(s) == 3)
    r = await pair.http.post(
        f"{pair.a.url}/api/v1/sites/{site}/notifications/read",
        json={"all": True},
        headers=alice.headers(),
    )
    assert r.status_code == 200, r.text
    for socket in (on_a, on_b):  # every tab shows the same count within a second
        await socket.wait(lambda s=socket: unread(s) == 0, timeout=1.0)
    assert notifications(on_b)[-1]["page"] == "q"
    # A reply again, then deleting it (through the other process): both sockets follow.
    await bob.post(pair.b, "four", parent=comment)
    for socket in (on_a, on_b):
        await socket.wait(lambda s=socket: unread(s) == 1)
    listed = await pair.http.get(
        f"{pair.b.url}/api/v1/sites/{site}/notifications", headers=alice.headers()
    )
    newest = listed.json()["notifications"][0]
    assert newest["read"] is False
    gone = await pair.http.delete(
        f"{pair.b.url}/api/v1/sites/{site}/notifications/{newest['id']}",
        headers=alice.headers(),
    )
    assert gone.status_code == 204, gone.text
    for socket in (on_a, on_b):
        await socket.wait(lambda s=socket: unread(s) == 0)
    for socket in (on_a, on_b):
        await socket.close()


async def test_a_reader_of_another_identity_hears_nothing(pair: Pair) -> None:
    site = await pair.site()
    alice, bob, carol = Author(pair, site), Author(pair, site), Author(pair, site)
    comment = await alice.post(pair.a, "tell me")
    await carol.post(pair.b, "i am carol")
    alices = await alice.socket(pair.a)
    carols = [await carol.socket(server) for server in (pair.a, pair.b)]
    anonymous = await Reader.open(pair.a.ws_url, site, "p")
    await bob.post(pair.b, "to alice", parent=comment)
    await alices.wait(lambda: unread(alices) == 1)
    # By then carol's sockets on the same process had it too, were it theirs: and the
    # doorbell went to every process at once.
    await asyncio.sleep(EVERY * 2)
    for socket in carols:
        assert notifications(socket) == [
            {"type": "notifications", "page": "p", "seq": 0, "data": {"unread": 0}}
        ]
    assert notifications(anonymous) == []  # no token: no count, ever
    for socket in [alices, *carols, anonymous]:
        await socket.close()


async def test_a_burst_of_reactions_is_a_handful_of_frames_ending_at_the_count(
    pair: Pair,
) -> None:
    site = await pair.site()
    alice = Author(pair, site)
    comment = await alice.post(pair.a, "react to me")
    sockets = [await alice.socket(pair.a), await alice.socket(pair.b, "q")]
    gate = asyncio.Semaphore(40)
    failures: list[str] = []

    async def react(n: int) -> None:
        server = (pair.a, pair.b)[n % 2]
        async with gate:
            r = await pair.http.put(
                f"{server.url}/api/v1/sites/{site}/comments/{comment}/reaction",
                json={"reaction": "up"},
                headers={"X-Forwarded-For": f"100.{120 + n // 250}.{n % 250}.9"},
            )
        if r.status_code != 200:
            failures.append(r.text)

    began = time.monotonic()
    await asyncio.gather(*(react(n) for n in range(200)))
    assert failures == []
    async with pair.store.read() as tx:
        stored = await tx.unread_notifications(site, await _author_hash(pair, site, comment))
    assert stored == 1  # one summary row, unread
    for socket in sockets:
        await socket.wait(lambda s=socket: unread(s) == 1, timeout=20)
    window = time.monotonic() - began
    # Coalesced: the first count, then at most one per EVERY per process, plus slack.
    bound = math.ceil(window / EVERY) + 4
    counts = [len(notifications(s)) for s in sockets]
    assert all(2 <= n <= bound for n in counts), (counts, bound, window)
    assert max(counts) <= 20  # whatever the machine: never one per reaction
    for socket in sockets:
        assert socket.durable() == []  # never a durable event, never a seq
        assert all(f["seq"] == 0 for f in notifications(socket))
        told = [f["data"]["unread"] for f in notifications(socket)]
        assert all(a != b for a, b in itertools.pairwise(told))  # never the same twice
        await socket.close()


async def _author_hash(pair: Pair, site: str, comment_id: int) -> str:
    async with pair.store.read() as tx:
        found = await tx.find_comment(comment_id)
    assert found is not None and found.author_hash is not None
    return found.author_hash


async def test_after_a_redis_outage_every_reader_is_read_again(
    databases: Databases, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    redis = RedisServer(tmp_path_factory.mktemp("redis-readers"))
    redis.start()
    db_url = await databases.create("postgresql")
    store = SqlStore(db_url, pool_size=1)
    a, b = start_pair(db_url, redis.url, tmp_path)
    try:
        async with http_client(timeout=30) as http:
            pair = Pair(a, b, store, http)
            site = await pair.site()
            alice, bob = Author(pair, site), Author(pair, site)
            comment = await alice.post(a, "tell me")
            reply = await bob.post(b, "told you", parent=comment)
            await fanned_out(store)  # the servers' fan-out has told alice
            socket = await alice.socket(a)
            assert unread(socket) == 1
            redis.stop()
            # A change no doorbell tells of (as one rung during the outage would be lost):
            # only reading every reader again after the reconnect shows it.
            async with store.write() as tx:
                found = await tx.find_comment(comment)
                assert found is not None and found.author_hash is not None
                await tx.mark_notifications_read(site, found.author_hash, None, 1)
            assert reply
            redis.start()
            await socket.wait(lambda: unread(socket) == 0, timeout=30)
            await socket.close()
    finally:
        a.terminate()
        b.terminate()
        redis.stop()
        await store.close()


async def test_one_subscription_per_process_while_a_reader_has_sockets_none_after(
    pair: Pair, redis_server: RedisServer
) -> None:
    site = await pair.site()
    alice = Author(pair, site)
    comment = await alice.post(pair.a, "tell me")
    assert comment
    channel = reader_channel(site, await _author_hash(pair, site, comment))
    redis = Redis.from_url(redis_server.url)

    async def subscribers() -> int:
        [(_, count)] = await redis.pubsub_numsub(channel)
        return int(count)

    async def until(count: int) -> None:
        async with asyncio.timeout(10):
            while await subscribers() != count:
                await asyncio.sleep(0.05)

    try:
        sockets = [
            await alice.socket(server, page)
            for server, page in ((pair.a, "p"), (pair.a, "q"), (pair.b, "p"))
        ]
        await until(2)  # one per process, however many sockets each holds
        await sockets[0].close()
        await asyncio.sleep(EVERY)
        assert await subscribers() == 2  # A still holds one of alice's sockets
        for socket in sockets[1:]:
            await socket.close()
        await until(0)  # the last socket took the subscription with it, on both
    finally:
        await redis.aclose()
