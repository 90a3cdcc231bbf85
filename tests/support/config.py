"""Settings and environments for a test server: one secret, test proxies, no rate limits."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from server.core.context import command_services
from server.core.moderators import revoke_moderator
from server.settings import Settings
from server.store.database import SqlStore
from tests.support.db import Databases

BACKENDS = ["sqlite", "postgresql"]


SECRET = "test-secret-key-that-is-long-enough-0123456789"


# The test clients' own addresses: in-process (ASGI) and over loopback.
TEST_PROXIES = ("203.0.113.7", "127.0.0.0/8")


class LazyDatabases(Databases):
    """Start PostgreSQL only when a test asks for it."""

    def __init__(self, workdir: Path, pg: Any) -> None:
        super().__init__(workdir, None)
        self._pg_factory = pg

    async def create(self, backend: str) -> str:
        if backend == "postgresql" and self.pg is None:
            self.pg = self._pg_factory()
        return await super().create(backend)


def settings_for(db_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": db_url,
        "secret_key": SECRET,
        "data_dir": str(data_dir),
        "password_profile": "test",
        "rate_limit": 0,
        "page_rate_limit": 0,
        "min_submit_ms": 0,
        # Tests speak for readers on many networks through X-Forwarded-For.
        "trusted_proxies": TEST_PROXIES,
    }
    values.update(overrides)
    return Settings(**values)


def env_for(db_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        "THREADLINE_ENV": "test",
        "THREADLINE_DATABASE_URL": db_url,
        "THREADLINE_SECRET_KEY": SECRET,
        "THREADLINE_DATA_DIR": str(data_dir),
        "THREADLINE_LOG_LEVEL": "info",
        "THREADLINE_RATE_LIMIT": "0",
        "THREADLINE_PAGE_RATE_LIMIT": "0",
        "THREADLINE_MIN_SUBMIT_MS": "0",
        "THREADLINE_TRUSTED_PROXIES": ",".join(TEST_PROXIES),
    }
    env.update(overrides)
    return env


@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    import os

    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def has(binary: str) -> bool:
    return shutil.which(binary) is not None


async def remove_moderator(store: SqlStore, email: str, site_id: str | None = None) -> None:
    """What `threadline moderator remove` does: the audited use-case, as the operator."""
    await revoke_moderator(command_services(store, SECRET), email, site_id)
