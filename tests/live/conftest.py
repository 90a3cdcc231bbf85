"""Two real server processes on PostgreSQL, fanning out through one real Redis."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.core.sites import add_site
from server.store.database import SqlStore
from tests.conftest import env_for
from tests.support.api import ORIGIN
from tests.support.db import Databases
from tests.support.net import http_client
from tests.support.servers import ServerProcess
from tests.support.services import RedisServer

_sites = itertools.count(1)


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    store: SqlStore
    http: httpx.AsyncClient

    async def site(self) -> str:
        site_id = f"live{next(_sites)}"
        await add_site(self.store, site_id, origins=[ORIGIN])
        return site_id

    async def post(
        self, server: ServerProcess, site: str, page: str = "p", body: str = "hi", **extra: object
    ) -> dict[str, object]:
        r = await self.http.post(
            f"{server.url}/api/v1/sites/{site}/comments", json={"page": page, "body": body, **extra}
        )
        assert r.status_code == 201, r.text
        data: dict[str, object] = r.json()
        return data


def start_pair(
    db_url: str, redis_url: str, data_dir: Path, **env: str
) -> tuple[ServerProcess, ServerProcess]:
    settings = env_for(db_url, data_dir, THREADLINE_REDIS_URL=redis_url, **env)
    a = ServerProcess(settings, log=Path("a.log")).start()
    b = ServerProcess(settings, log=Path("b.log")).start()
    return a, b


@pytest.fixture(scope="module")
async def live_db(databases: Databases) -> str:
    url: str = await databases.create("postgresql")
    return url


async def sqlite_with_site(databases: Databases, site: str) -> str:
    """A new SQLite database with one site allowing ``ORIGIN``."""
    url: str = await databases.create("sqlite")
    store = SqlStore(url)
    await add_site(store, site, origins=[ORIGIN])
    await store.close()
    return url


@contextlib.contextmanager
def running_one(db_url: str, data_dir: Path, **env: str) -> Iterator[ServerProcess]:
    """One `threadline serve` process on ``db_url``, with its data in ``data_dir``."""
    proc = ServerProcess(env_for(db_url, data_dir, **env)).start()
    try:
        yield proc
    finally:
        proc.terminate()


@contextlib.contextmanager
def running_pair(
    db_url: str, redis_url: str, data_dir: Path, **env: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    a, b = start_pair(db_url, redis_url, data_dir, **env)
    try:
        yield a, b
    finally:
        a.terminate()
        b.terminate()


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
