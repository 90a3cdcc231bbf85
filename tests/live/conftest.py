"""Two real server processes on PostgreSQL, fanning out through one real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from server.store.database import SqlStore
from tests.support.cluster import RedisClusterSet
from tests.support.db import Databases
from tests.support.live import (
    Pair,
    running_pair,
)
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import RedisServer, SentinelSet, running


@pytest.fixture(scope="module")
async def live_db(databases: Databases) -> str:
    url: str = await databases.create("postgresql")
    return url


@pytest.fixture(scope="module")
def servers(
    live_db: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with running_pair(live_db, redis_server.url, tmp_path_factory.mktemp("pair")) as both:
        yield both


@pytest.fixture
async def pair(servers: tuple[ServerProcess, ServerProcess], live_db: str) -> AsyncIterator[Pair]:
    store = SqlStore(live_db, pool_size=2)
    async with http_client(timeout=30) as http:
        yield Pair(servers[0], servers[1], store, http)
    await store.close()


@pytest.fixture
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterSet]:
    """A Redis Cluster of the test's own: three masters, a replica each."""
    found = RedisClusterSet(tmp_path_factory.mktemp("cluster"))
    with running(found, None if found.exe else "redis-server and redis-cli"):
        yield found


@pytest.fixture
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSet]:
    """A master, its replica and three sentinels of the test's own."""
    found = SentinelSet(tmp_path_factory.mktemp("sentinel"))
    with running(found, None if found.exe else "redis-server"):
        yield found
