"""Sentinel (issue #20): two server processes find the master through three sentinels,
deliver comments, typing and presence across processes, and follow a failover: the master
is killed mid-stream, its replica promoted, and every reader ends with every comment once,
in order, with writers posting throughout."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET
from tests.support.db import Databases
from tests.support.live import start_pair
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import SentinelSet
from tests.support.ws import Reader

pytestmark = pytest.mark.slow


async def test_two_processes_deliver_through_sentinel_and_follow_a_failover(
    databases: Databases, sentinels: SentinelSet, tmp_path: Path
) -> None:
    db_url = await databases.create("postgresql")
    store = SqlStore(db_url, pool_size=1)
    await add_site(command_services(store, SECRET), "watched", origins=[ORIGIN])
    a, b = start_pair(db_url, sentinels.url, tmp_path)
    readers: list[Reader] = []
    try:
        on_a = await Reader.open(a.ws_url, "watched", seq=0)
        on_b = await Reader.open(b.ws_url, "watched", seq=0)
        readers += [on_a, on_b]
        # Presence and typing cross processes through the master the sentinels name.
        await on_a.wait(lambda: on_a.presence() == 2)
        await on_b.wait(lambda: on_b.presence() == 2)
        await on_a.send({"type": "typing"})
        assert (await on_b.next("typing"))["data"] is None
        readers += [await Reader.open(server.ws_url, "watched", seq=0) for server in (a, b)]
        statuses: list[int] = []
        async with http_client(timeout=30) as http:

            async def post(i: int, server: ServerProcess | None = None) -> None:
                server = server or (a, b)[i % 2]
                r = await http.post(
                    f"{server.url}/api/v1/sites/watched/comments",
                    json={"page": "p", "body": f"c{i}"},
                )
                statuses.append(r.status_code)

            # Live across processes before the failover: posted on A, read on B.
            await post(0, a)
            await on_b.until_seq(1, timeout=5)
            for i in range(1, 20):
                await post(i)
            first = sentinels.master()
            assert first is not None
            sentinels.kill(first)
            for i in range(20, 60):  # posted while the sentinels notice and promote
                await post(i)
                await asyncio.sleep(0.05)
            await asyncio.to_thread(
                sentinels.wait_until, lambda: sentinels.master() not in (first, None)
            )
            promoted = sentinels.master()
            assert promoted == sentinels.replica_port
            for i in range(60, 80):
                await post(i)
            for reader in readers:
                await reader.until_seq(80, timeout=30)
                assert reader.seqs() == list(range(1, 81))
                bodies = [f["data"]["comment"]["body"] for f in reader.durable()]
                assert bodies == [f"c{i}" for i in range(80)]
            # Both processes' subscribers moved to the new master, and delivery through it
            # is live again: posted on A, on B at once.
            await asyncio.to_thread(
                sentinels.wait_until, lambda: sentinels.subscribers(promoted) >= 2
            )
            await post(80, a)
            await on_b.until_seq(81, timeout=5)
        assert statuses == [201] * 81
    finally:
        for reader in readers:
            await reader.close()
        a.terminate()
        b.terminate()
        await store.close()
