"""Services for benchmarks: a private PostgreSQL cluster and Redis, Threadline servers."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from server.core.context import command_services
from server.core.sites import add_site
from server.store.database import SqlStore
from server.store.migrate import migrate
from tests.support.config import SECRET
from tests.support.servers import ServerProcess
from tests.support.services import PostgresCluster, RedisServer

if TYPE_CHECKING:
    from bench.baseline import Tree

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "http://bench.test"
QUICK = os.environ.get("BENCH_QUICK") == "1"
_dbs = itertools.count(1)


class Services:
    """Started once for a whole `make bench` run."""

    def __init__(
        self,
        pg: PostgresCluster | None = None,
        redis: RedisServer | None = None,
        work: Path | None = None,
    ) -> None:
        # Given services (the test suite's, for the harness smoke test) are used, not owned.
        self.owned = pg is None and redis is None
        self.work = work or Path(tempfile.mkdtemp(prefix="tl-bench-"))
        self.pg = pg or PostgresCluster()
        self.redis = redis or RedisServer(self.work)
        # BENCH_BASELINE: the other revision's tree (bench.baseline), exported once per run.
        self.baseline: Tree | None = None

    def start(self) -> None:
        if self.owned:
            self.pg.start()
            self.redis.start()

    def stop(self) -> None:
        if self.owned:
            self.redis.stop()
            self.pg.stop()

    async def database(self, backend: str = "postgresql", *, migrated: bool = True) -> str:
        """A new, empty database; migrated by this tree's code unless told not to (a baseline
        tree migrates its own)."""
        n = next(_dbs)
        if backend == "sqlite":
            url = f"sqlite:///{self.work}/db{n}.db"
        else:
            conn = await asyncpg.connect(self.pg.admin_url)
            try:
                await conn.execute(f"CREATE DATABASE bench{n}")
            finally:
                await conn.close()
            url = self.pg.url(f"bench{n}")
        if not migrated:
            return url
        store = SqlStore(url, pool_size=2)
        await migrate(store)
        await store.close()
        return url

    async def site(self, db_url: str, site_id: str, **kwargs: Any) -> SqlStore:
        store = SqlStore(db_url, pool_size=4)
        await add_site(command_services(store, SECRET), site_id, origins=[ORIGIN], **kwargs)
        return store

    def server(self, db_url: str, *, redis: bool = True, **env: str) -> ServerProcess:
        settings = {
            "THREADLINE_ENV": "test",
            "THREADLINE_DATABASE_URL": db_url,
            "THREADLINE_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            "THREADLINE_DATA_DIR": str(self.work),
            "THREADLINE_LOG_LEVEL": "warning",
            "THREADLINE_RATE_LIMIT": "0",
            "THREADLINE_PAGE_RATE_LIMIT": "0",
            "THREADLINE_MIN_SUBMIT_MS": "0",
            "THREADLINE_WS_MAX_PER_IP": "100000",
            # Every load-generating client comes from 127.0.0.1.
            "THREADLINE_HTTP_MAX_PER_IP": "100000",
        }
        if redis:
            settings["THREADLINE_REDIS_URL"] = self.redis.url
        settings.update(env)
        return ServerProcess(settings, log=self.work / f"server-{next(_dbs)}.log")


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    redis_version = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True, check=False
    ).stdout.split()[2:3]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mb": mem,
        "python": platform.python_version(),
        "os": platform.platform(),
        "redis": redis_version[0].removeprefix("v=") if redis_version else "?",
        "quick": QUICK,
    }


def run(coro: Any) -> Any:
    return asyncio.run(coro)
