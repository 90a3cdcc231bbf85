"""Engines and transactions: SQLite (WAL, on the event loop, BEGIN IMMEDIATE retried without
blocking) and PostgreSQL (asyncpg, snapshot reads)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from server.core.errors import Conflict, DuplicateKey, Unavailable
from server.store.connection import AwaitableSyncConnection
from server.store.tx import SqlTx

log = logging.getLogger("threadline.store")
NUMBERED_KEPT = 10_000  # committed events' numbers kept for their publish, at most
T = TypeVar("T")

# How long a SQLite transaction waits for another process's write lock before the request
# gets a 503; it waits in asyncio.sleep, so the event loop keeps serving meanwhile.
SQLITE_LOCK_WAIT = 15.0


def async_url(url: str) -> str:
    """``postgresql://...`` as SQLAlchemy's asyncpg URL."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        return Path(url.removeprefix("sqlite:///").split("?")[0])
    return None


class SqlStore:
    """Hands out read and write transactions; the only place that knows the engine."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._sqlite: Engine | None = None
        self._pg: AsyncEngine | None = None
        if self.dialect == "sqlite":
            self._sqlite = _sqlite_engine(url, pool_size, echo)
        else:
            # hide_parameters: a database error printed with its traceback would otherwise
            # carry the comment text and names it was binding into the log.
            self._pg = create_async_engine(
                async_url(url),
                echo=echo,
                hide_parameters=True,
                pool_size=pool_size,
                max_overflow=pool_size // 2,
                pool_timeout=5,
                pool_recycle=1800,
                connect_args={"timeout": 5, "command_timeout": 15},
            )
            event.listen(self._pg.sync_engine, "checkout", _replace_closed)
            event.listen(self._pg.sync_engine, "handle_error", _disconnects)
        self._outage = Outage()
        # One write transaction at a time per process on SQLite: the file has one writer, and
        # queueing here is fair where SQLite's lock is first-come-whoever-polls-first.
        self._write_lock = asyncio.Lock() if self.dialect == "sqlite" else None
        # Committed events' seq and page count, read back by ``write`` until published.
        self._numbered: dict[int, tuple[int, int]] = {}

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[SqlTx]:
        async with _translate_errors(self._outage):
            if self._sqlite is not None:
                with self._sqlite.connect() as conn:
                    await _sqlite_begin(conn, write=False)
                    yield SqlTx(AwaitableSyncConnection(conn), self.dialect)
                    conn.rollback()
                return
            assert self._pg is not None
            async with self._pg.connect() as aconn:
                # One snapshot for the whole read, like SQLite's deferred transaction.
                aconn = await aconn.execution_options(isolation_level="REPEATABLE READ")
                async with aconn.begin():
                    yield SqlTx(aconn, self.dialect)

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[SqlTx]:
        async with _translate_errors(self._outage):
            if self._sqlite is not None:
                assert self._write_lock is not None
                async with self._write_lock:
                    with self._sqlite.connect() as conn:
                        await _sqlite_begin(conn, write=True)
                        try:
                            yield SqlTx(AwaitableSyncConnection(conn), self.dialect)
                        except BaseException:
                            conn.rollback()
                            raise
                        # The commit is where SQLite writes and fsyncs (and now and then
                        # checkpoints): a slow disk stalls this writer, not the event loop.
                        await asyncio.to_thread(conn.commit)
                return
            assert self._pg is not None
            async with self._pg.connect() as aconn:
                tx = SqlTx(aconn, self.dialect)
                async with aconn.begin():
                    yield tx
                if tx.unnumbered:
                    await self._read_back(tx)

    async def _read_back(self, tx: SqlTx) -> None:
        """The numbers the commit gave this transaction's events (migration 0015), read on
        its own connection before the connection goes back to the pool: publishing them
        needs no second connection, so a saturated pool never delays or drops a publish.
        Should the read fail, publishing reads them again (``Services.settled``)."""
        try:
            found = await tx.event_positions(tx.unnumbered)
        except Exception as error:  # noqa: BLE001 -- committed; the publish reads them again
            log.warning(
                "reading back %d committed event number(s) failed (%s); publishing reads "
                "them again",
                len(tx.unnumbered),
                type(error).__name__,
            )
            return
        self._numbered.update(found)
        while len(self._numbered) > NUMBERED_KEPT:  # never taken (nobody published them)
            del self._numbered[next(iter(self._numbered))]

    def numbered(self, event_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        return {i: self._numbered.pop(i) for i in event_ids if i in self._numbered}

    async def run_sync(self, fn: Callable[..., T], *args: Any, write: bool = False) -> T:
        """``fn(sync_connection, *args)`` inside a transaction: migrations and schema checks."""
        async with _translate_errors(self._outage):
            if self._sqlite is not None:
                lock = self._write_lock if write else None
                async with lock or contextlib.nullcontext():
                    with self._sqlite.connect() as conn:
                        await _sqlite_begin(conn, write=write)
                        result = fn(conn, *args)
                        conn.commit()
                        return result
            assert self._pg is not None
            async with self._pg.connect() as aconn, aconn.begin():
                return await aconn.run_sync(fn, *args)

    async def ping(self) -> None:
        async with self.read() as tx:
            await tx.conn.execute(text("SELECT 1"))

    async def connect_once(self) -> None:
        """Open one connection, read, and close it, raising the driver's own error (not
        ``Unavailable``): for checks that explain what is wrong with the URL."""
        if self._sqlite is not None:
            with self._sqlite.connect() as conn:
                conn.exec_driver_sql("SELECT 1 FROM sqlite_schema LIMIT 1").close()
            return
        assert self._pg is not None
        async with self._pg.connect() as aconn:
            await aconn.exec_driver_sql("SELECT 1")

    def create_file(self) -> None:
        """Create the SQLite file if it is missing, in a directory that must exist. Only
        migrations call this: every other connection opens an existing file or fails, so a
        mistyped path never leaves an empty database behind."""
        path = sqlite_path(self.url)
        if path is not None and not path.exists():
            sqlite3.connect(path).close()

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.dispose()
        if self._pg is not None:
            await self._pg.dispose()


# SQLSTATEs of a transaction the database rolled back to let another through: a deadlock
# victim, a serialization failure. Retrying the whole request is the documented remedy.
RETRYABLE = frozenset({"40P01", "40001"})
QUERY_CANCELED = "57014"
# SQLSTATEs of a database that cannot serve now, whatever was asked: the connection could
# not be made or was lost (08...), the server is shutting down, crashed or starting up
# (57P01-57P03), it has no connection left (53300), or this connection still reaches a
# primary that a failover demoted (25006, read-only). A restart or a failover answers these,
# not only a dropped socket; the connection is dropped with them (``_disconnects``). Not
# here: a cancelled or timed-out statement, a full disk, a protocol error, which are faults
# to see in the log, not an outage to wait out.
UNAVAILABLE_STATES = frozenset(
    {"08000", "08001", "08003", "08004", "08006", "57P01", "57P02", "57P03", "53300", "25006"}
)


class Outage:
    """Whether the database answers, as this process's transactions find it: an outage is
    logged as one warning when it starts and one line when it ends, however many requests
    it refuses in between (each raises ``Unavailable``: HTTP answers 503 with Retry-After)."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.refused = 0

    def failed(self, error: BaseException) -> None:
        self.refused += 1
        if self.since is not None:
            log.debug("database still unavailable (%s)", _reason(error))
            return
        self.since, self.refused = time.monotonic(), 1
        log.warning(
            "database unavailable (%s); refusing what needs it (to be retried) until it "
            "answers again",
            _reason(error),
        )

    def answered(self) -> None:
        if self.since is None:
            return
        log.info(
            "database answering again after %.1f s; %d transaction(s) refused meanwhile",
            time.monotonic() - self.since,
            self.refused,
        )
        self.since = None


def _reason(error: BaseException) -> str:
    """The root cause in one short line, e.g. ``ConnectionRefusedError: [Errno 111] ...``:
    never SQLAlchemy's statement, parameters or link, never a traceback."""
    while error.__cause__ is not None:
        error = error.__cause__
    lines = str(error).split("(Background on this error")[0].strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(getattr(error, "orig", error), "sqlstate", None)
    return state if isinstance(state, str) else None


def _is_outage(error: BaseException) -> bool:
    """A database that is not there to answer (as opposed to one that answered with a
    fault): a connection refused, reset or lost, or one of ``UNAVAILABLE_STATES``."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    cause: BaseException | None = error
    for _ in range(8):  # down the chain of causes (the driver's error, the socket's)
        if cause is None:
            break
        if _sqlstate(cause) in UNAVAILABLE_STATES:
            return True
        if isinstance(cause, OSError) and not isinstance(cause, TimeoutError):
            return True  # (ConnectionError is an OSError)
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return False


def _disconnects(context: Any) -> None:
    """SQLAlchemy's error hook: a connection that met one of ``UNAVAILABLE_STATES`` is
    dropped from the pool, not handed to the next request (a demoted primary's read-only
    connections would otherwise fail every write for up to ``pool_recycle``)."""
    if _sqlstate(context.original_exception) in UNAVAILABLE_STATES:
        context.is_disconnect = True


def _replace_closed(dbapi_conn: Any, record: Any, proxy: Any) -> None:
    """A pooled connection whose socket the server closed (a restart, a failover, an idle
    timeout) is replaced as it is drawn, with no round trip (asyncpg knows it is closed),
    rather than failing the request that drew it once the database is back."""
    driver = record.driver_connection
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


@contextlib.asynccontextmanager
async def _translate_errors(outage: Outage) -> AsyncIterator[None]:
    try:
        yield
    except IntegrityError as exc:
        if "idempotency_key" in str(exc.orig):
            raise DuplicateKey(
                "duplicate_idempotency_key", "a concurrent post used this key"
            ) from exc
        raise Conflict("conflict", "the data changed concurrently; try again") from exc
    except (OperationalError, InterfaceError, PoolTimeout, OSError) as exc:
        if _is_outage(exc):
            outage.failed(exc)
        else:
            # Busy (SQLite's lock, the pool), timed out or a fault: each one in the log.
            log.warning("database error, asked to retry: %s", _reason(exc))
        raise Unavailable(
            "database_unavailable", "the database is busy or unreachable; try again shortly"
        ) from exc
    except DBAPIError as exc:
        sqlstate = _sqlstate(exc)
        if exc.connection_invalidated or sqlstate in UNAVAILABLE_STATES:
            outage.failed(exc)
            raise Unavailable(
                "database_unavailable", "the database is unreachable; try again shortly"
            ) from exc
        if sqlstate == QUERY_CANCELED:
            # A statement timeout or a cancel by an operator: worth retrying, worth seeing.
            log.error("a statement was cancelled by the database (%s)", sqlstate)
            raise Unavailable(
                "database_busy", "the database took too long; try again shortly"
            ) from exc
        if sqlstate in RETRYABLE:
            # PostgreSQL chose this transaction to break a deadlock (or a serialization
            # failure): it rolled back whole, so the same request again will do.
            log.warning("transaction rolled back by the database (%s); asked to retry", sqlstate)
            raise Unavailable(
                "database_conflict", "the database is busy; try again shortly"
            ) from exc
        raise
    else:
        outage.answered()


def _sqlite_engine(url: str, pool_size: int, echo: bool) -> Engine:
    path = sqlite_path(url)
    kwargs: dict[str, Any] = {
        "echo": echo,
        "hide_parameters": True,  # as for PostgreSQL
        # busy_timeout 0: a locked file must never block the event loop;
        # _sqlite_begin waits for the lock in asyncio.sleep instead.
        "connect_args": {"check_same_thread": False, "timeout": 0},
    }
    if path is None:
        kwargs["poolclass"] = StaticPool  # one in-memory database, shared
    else:
        # mode=rw: a missing file is an error, never a new empty database (create_file).
        uri = f"file:{quote(str(path))}?mode=rw"

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=0)

        kwargs.update(pool_size=pool_size, max_overflow=pool_size, creator=connect)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself, so writes can be IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # synchronous=FULL: a comment acknowledged to its author survives a power cut, not
        # only a crash; an fsync per commit is well under a millisecond on an SSD.
        # secure_delete=FAST: erased text is zeroed in the pages it leaves, where that costs
        # no extra I/O, instead of lingering in the file's free space.
        for pragma in (
            "journal_mode=WAL",
            "busy_timeout=0",
            "synchronous=FULL",
            "foreign_keys=ON",
            "secure_delete=FAST",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred read-then-write transaction in WAL can fail with SQLITE_BUSY at its
        # first write; taking the write lock up front makes the wait happen at BEGIN.
        write = conn.get_execution_options().get("threadline_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        if not write:
            # The read snapshot starts at the first read: take it now, where a busy file
            # (a checkpoint restarting the WAL, recovery) can still be waited out.
            conn.exec_driver_sql("SELECT 1 FROM sqlite_schema LIMIT 1").close()

    return engine


async def _sqlite_begin(conn: Connection, *, write: bool) -> None:
    """BEGIN (IMMEDIATE for writes), waiting out other processes' locks without blocking."""
    if write:
        conn.execution_options(threadline_write=True)
    deadline = time.monotonic() + SQLITE_LOCK_WAIT
    pause = 0.001
    while True:
        try:
            conn.begin()
            return
        except OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
            conn.rollback()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)


def _is_busy(exc: OperationalError) -> bool:
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message
