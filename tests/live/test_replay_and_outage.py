"""Nothing is lost: resume after a disconnect, gap recovery, a Redis outage, a restart."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET
from tests.support.db import Databases
from tests.support.live import Pair, start_pair
from tests.support.net import http_client
from tests.support.services import RedisServer
from tests.support.ws import Reader

pytestmark = pytest.mark.slow


async def test_reconnect_with_last_seq_replays_exactly_what_was_missed(pair: Pair) -> None:
    site = await pair.site()
    for i in range(5):
        await pair.post(pair.a, site, body=f"before {i}")
    reader = await Reader.open(pair.b.ws_url, site, seq=0)
    await reader.until_seq(5)
    last = reader.seqs()[-1]
    await reader.close()
    for i in range(50):
        await pair.post(pair.a if i % 2 else pair.b, site, body=f"missed {i}")
    again = await Reader.open(pair.a.ws_url, site, seq=last)
    await again.until_seq(55)
    assert again.seqs() == list(range(6, 56))
    assert [f["data"]["comment"]["body"] for f in again.durable()] == [
        f"missed {i}" for i in range(50)
    ]
    await asyncio.sleep(0.3)
    assert again.seqs() == list(range(6, 56))  # nothing twice
    await again.close()


async def test_client_that_sees_a_gap_gets_the_missing_events(pair: Pair) -> None:
    site = await pair.site()
    for i in range(10):
        await pair.post(pair.a, site, body=f"c{i}")
    reader = await Reader.open(pair.b.ws_url, site, seq=10)
    assert reader.seqs() == []
    mark = len(reader.frames)
    await reader.send({"type": "sync", "seq": 4})  # say it lost 5..10
    await reader.next("sync", after=mark)
    assert reader.seqs() == [5, 6, 7, 8, 9, 10]
    r = await pair.http.get(
        f"{pair.a.url}/api/v1/sites/{site}/events", params={"page": "p", "after": 7}
    )
    assert [e["seq"] for e in r.json()["events"]] == [8, 9, 10]
    await reader.close()


async def test_redis_outage_loses_no_comment_and_readers_converge(
    databases: Databases, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    redis = RedisServer(tmp_path_factory.mktemp("redis-outage"))
    redis.start()
    db_url = await databases.create("postgresql")
    store = SqlStore(db_url, pool_size=1)
    await add_site(command_services(store, SECRET), "outage", origins=[ORIGIN])
    a, b = start_pair(db_url, redis.url, tmp_path)
    try:
        readers = [await Reader.open(srv.ws_url, "outage", seq=0) for srv in (a, b, a, b)]
        statuses: list[int] = []
        async with http_client(timeout=30) as http:

            async def post(i: int) -> None:
                server = (a, b)[i % 2]
                r = await http.post(
                    f"{server.url}/api/v1/sites/outage/comments",
                    json={"page": "p", "body": f"c{i}"},
                )
                statuses.append(r.status_code)

            for i in range(30):
                await post(i)
            redis.stop()
            for i in range(30, 90):  # posted while Redis is down
                await post(i)
            redis.start()
            for i in range(90, 120):
                await post(i)
        assert statuses == [201] * 120
        for reader in readers:
            await reader.until_seq(120, timeout=30)
            assert reader.seqs() == list(range(1, 121))
            bodies = [f["data"]["comment"]["body"] for f in reader.durable()]
            assert bodies == [f"c{i}" for i in range(120)]
        for reader in readers:
            await reader.close()
    finally:
        a.terminate()
        b.terminate()
        redis.stop()
        await store.close()


async def test_sigterm_closes_sockets_with_1012_so_clients_resume_elsewhere(
    databases: Databases, redis_server: RedisServer, tmp_path: Path
) -> None:
    db_url = await databases.create("postgresql")
    store = SqlStore(db_url, pool_size=1)
    await add_site(command_services(store, SECRET), "restart", origins=[ORIGIN])
    await store.close()
    a, b = start_pair(db_url, redis_server.url, tmp_path)
    try:
        readers = [await Reader.open(a.ws_url, "restart", seq=0) for _ in range(20)]
        assert a.proc is not None
        a.proc.send_signal(signal.SIGTERM)
        for reader in readers:
            code, _ = await reader.closed(timeout=15)
            assert code == 1012
        # uvicorn re-raises the signal after a clean shutdown, as process managers expect.
        assert a.proc.wait(15) == -signal.SIGTERM
        assert a.log is not None
        log = a.log.read_text()
        assert "Traceback" not in log
        assert "ERROR" not in log
        async with http_client() as http:
            r = await http.post(
                f"{b.url}/api/v1/sites/restart/comments",
                json={"page": "p", "body": "after the restart"},
            )
        resumed = await Reader.open(b.ws_url, "restart", seq=0)
        await resumed.until_seq(r.json()["page"]["seq"])
        await resumed.close()
    finally:
        a.kill()
        b.terminate()
