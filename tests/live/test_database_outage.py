"""PostgreSQL down or restarted (issue #20). Held down: the API answers 503 with Retry-After
and the JSON error, sockets are told to try again (1013), the log says so once, without a
traceback. Restarted under load (two servers on a private cluster, 100 readers on both,
writers posting throughout): never a 5xx but 503; once it is back the same processes serve
again, every accepted comment is in the database once and every reader has every event in
order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.faults import postgres_restart, run
from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET
from tests.support.db import Databases
from tests.support.live import running_one, start_pair
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import PostgresCluster, RedisServer, running
from tests.support.ws import Reader

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
COMMENTS, READERS, WRITERS = 400, 100, 6


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    redis = RedisServer(tmp_path_factory.mktemp("redis-db-outage"))
    with running(redis, None if redis.exe else "redis-server"):
        yield redis


def log_of(server: ServerProcess) -> str:
    assert server.log is not None
    return server.log.read_text(encoding="utf-8", errors="replace")


async def new_site(db_url: str, site: str) -> None:
    store = SqlStore(db_url, pool_size=1)
    try:
        await add_site(command_services(store, SECRET), site, origins=[ORIGIN])
    finally:
        await store.close()


async def test_while_the_database_is_down_posts_get_503_and_sockets_1013(
    own_pg_cluster: PostgresCluster, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    db_url = await Databases(tmp_path_factory.mktemp("db-down"), own_pg_cluster).create(
        "postgresql"
    )
    await new_site(db_url, "down")
    comments = "/api/v1/sites/down/comments"
    with running_one(db_url, tmp_path) as server:
        async with http_client(base_url=server.url, timeout=15) as http:
            r = await http.post(comments, json={"page": "p", "body": "before"})
            assert r.status_code == 201, r.text
            # Its room opens at seq 1 with nothing in memory: a replay from 0 reads the table.
            reader = await Reader.open(server.ws_url, "down", "p", seq=1)
            await asyncio.to_thread(own_pg_cluster.shut_down)
            try:
                refused = await http.post(comments, json={"page": "p", "body": "during"})
                await reader.send({"type": "sync", "seq": 0})
                replay = await reader.closed()
                newcomer = await Reader.open(server.ws_url, "down", "new", wait_sync=False)
                subscribe = await newcomer.closed()
            finally:
                await asyncio.to_thread(own_pg_cluster.start_again)
            again = await http.post(comments, json={"page": "p", "body": "after"})
            back = await Reader.open(server.ws_url, "down", "p", seq=0)
            await back.until_seq(2)
            await back.close()
        pid = server.pid
        assert server.proc is not None and server.proc.poll() is None
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["code"] == "database_unavailable"
    # Try again later (1013), not a policy violation (1008), which clients never retry.
    assert replay[0] == 1013 and replay[1].startswith("database_unavailable"), replay
    assert subscribe[0] == 1013 and subscribe[1].startswith("database_unavailable"), subscribe
    assert again.status_code == 201 and server.pid == pid
    assert back.seqs() == [1, 2]
    log = log_of(server)
    assert "Traceback" not in log
    assert log.count("database unavailable (") == 1, log  # once for the whole outage
    assert log.count("database answering again after ") == 1


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_restart_answers_503_and_loses_nothing(
    mode: str,
    own_pg_cluster: PostgresCluster,
    own_redis: RedisServer,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db_url = await Databases(tmp_path_factory.mktemp("db-outage"), own_pg_cluster).create(
        "postgresql"
    )
    setup = SqlStore(db_url, pool_size=1)
    await add_site(command_services(setup, SECRET), "outage", origins=[ORIGIN])
    await setup.close()
    store = SqlStore(db_url, pool_size=1)  # first connects after the restart, to count
    # All readers come from 127.0.0.1: lift the per-IP socket cap for this run.
    a, b = start_pair(db_url, own_redis.url, tmp_path, THREADLINE_WS_MAX_PER_IP="1000")
    pids = (a.pid, b.pid)
    after: list[int] = []
    try:
        with capsys.disabled():
            outcome = await run(
                [a, b],
                None,
                store,
                "outage",
                comments_total=COMMENTS,
                readers=READERS,
                writers=WRITERS,
                origin=ORIGIN,
                faults=[postgres_restart(own_pg_cluster, 0.4, down=1.0, mode=mode)],
            )
            print(
                f"\n[db-outage] {len(outcome.accepted)} accepted in {outcome.post_seconds:.1f}s, "
                f"{outcome.unavailable} answered 503 over {outcome.refused_seconds:.1f}s "
                f"(longest wait between accepted posts {outcome.longest_stall:.1f}s), "
                f"{outcome.transport_errors} transport errors, readers converged "
                f"{outcome.converge_seconds:.1f}s after the last post, "
                f"{sum(f.drops for f in outcome.followers)} reader drops"
            )
        async with http_client(timeout=15) as http:
            for server in (a, b):  # the same processes serve writes again
                r = await http.post(
                    f"{server.url}/api/v1/sites/outage/comments",
                    json={"page": "after", "body": "back"},
                )
                after.append(r.status_code)
        assert a.proc is not None and b.proc is not None
        running = (a.proc.poll(), b.proc.poll())
    finally:
        a.terminate()
        b.terminate()
        await store.close()
    assert len(outcome.faults) == 1  # the restart happened
    assert running == (None, None) and (a.pid, b.pid) == pids  # never restarted
    assert after == [201, 201]
    assert len(outcome.accepted) == COMMENTS  # every post was eventually accepted
    assert outcome.rows == COMMENTS  # and is in the database exactly once
    assert outcome.duplicate_keys == 0
    assert outcome.missing_keys == 0
    assert outcome.final_seq == COMMENTS
    assert outcome.server_errors == 0  # no 5xx but 503
    assert outcome.unavailable > 0  # the writers did meet the outage
    assert outcome.unavailable_without_retry_after == 0
    assert outcome.refused_seconds < 10  # and it ended with the database's
    assert outcome.readers_complete == READERS  # every reader has 1..N, in order, no repeats
    for server in (a, b):
        log = log_of(server)
        assert "Traceback" not in log
        # One warning when it starts, one line when it ends (a transaction that slipped
        # through the shutdown may split it in two, no more).
        assert 1 <= log.count("database unavailable (") <= 2
        assert log.count("database unavailable (") == log.count("database answering again")
