"""Real server processes in pairs over Redis, and one-off servers with a site."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET, env_for
from tests.support.db import Databases
from tests.support.servers import ServerProcess

site_numbers = itertools.count(1)


@dataclass
class Pair:
    a: ServerProcess
    b: ServerProcess
    store: SqlStore
    http: httpx.AsyncClient

    async def site(self) -> str:
        site_id = f"live{next(site_numbers)}"
        await add_site(command_services(self.store, SECRET), site_id, origins=[ORIGIN])
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


async def sqlite_with_site(databases: Databases, site: str) -> str:
    """A new SQLite database with one site allowing ``ORIGIN``."""
    url: str = await databases.create("sqlite")
    store = SqlStore(url)
    await add_site(command_services(store, SECRET), site, origins=[ORIGIN])
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
