"""Engines and transactions for SQLite (WAL, busy timeout, BEGIN IMMEDIATE) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from server.core.errors import Conflict, DuplicateKey, Unavailable
from server.store.tx import SqlTx

log = logging.getLogger("threadline.store")


def async_url(url: str) -> str:
    """``sqlite:///x`` and ``postgresql://...`` as SQLAlchemy async driver URLs."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///").split("?")[0])
    return None


class SqlStore:
    """Hands out read and write transactions; the only place that knows the engine."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        kwargs: dict[str, Any] = {"echo": echo}
        path = sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            kwargs["pool_size"] = pool_size
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size // 2, pool_timeout=5,
                          pool_recycle=1800, connect_args={"timeout": 5,
                                                           "command_timeout": 15})
        if url.endswith(":memory:"):
            kwargs = {"poolclass": NullPool}
        self.engine: AsyncEngine = create_async_engine(async_url(url), **kwargs)
        # One write transaction at a time per process on SQLite: its file lock would make
        # concurrent writers sleep in the busy handler instead of queueing fairly here.
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[SqlTx]:
        async with _translate_errors(), self.engine.connect() as conn:
            if self.dialect == "postgresql":
                # One snapshot for the whole read, like SQLite's deferred transaction.
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                yield SqlTx(conn, self.dialect)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[SqlTx]:
        lock = self._write_lock or contextlib.nullcontext()
        async with _translate_errors(), lock, self.engine.connect() as conn:
            conn = await conn.execution_options(threadline_write=True)
            async with conn.begin():
                yield SqlTx(conn, self.dialect)

    async def ping(self) -> None:
        async with _translate_errors(), self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()

    @contextlib.asynccontextmanager
    async def raw(self) -> AsyncIterator[AsyncConnection]:
        """A plain connection for migrations and tests."""
        async with self.engine.connect() as conn:
            yield conn


@contextlib.asynccontextmanager
async def _translate_errors() -> AsyncIterator[None]:
    try:
        yield
    except IntegrityError as exc:
        if "idempotency_key" in str(exc.orig):
            raise DuplicateKey("duplicate_idempotency_key", "a concurrent post used this key") \
                from exc
        raise Conflict("conflict", "the data changed concurrently; try again") from exc
    except (OperationalError, InterfaceError, PoolTimeout, OSError) as exc:
        log.warning("database unavailable: %s", exc)
        raise Unavailable("database_unavailable",
                          "the database is busy or unreachable; try again shortly") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise Unavailable("database_unavailable", "the database connection was lost") \
                from exc
        raise


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself, so writes can be IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # busy_timeout: several processes on one file take turns through SQLite's busy
        # handler, which polls; a writer can wait out another process's whole burst.
        for pragma in ("journal_mode=WAL", "busy_timeout=15000", "synchronous=FULL",
                       "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # In WAL a deferred read-then-write transaction can fail with SQLITE_BUSY despite
        # the busy timeout; taking the write lock up front makes it wait instead.
        write = conn.get_execution_options().get("threadline_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
