"""A PostgreSQL that cannot serve (down, shutting down, starting up, restarted) is
``Unavailable`` to every caller, never another error; the same store serves again as soon
as it is back; and the outage is logged as one warning and one line when it ends, with no
traceback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator, Iterator

import pytest

from server.core.errors import Unavailable
from server.store.database import SqlStore
from tests.support.services import PostgresCluster, unavailable

STORE_LOG = "threadline.store"
NEGOTIATIONS = (80877103, 80877104)  # SSLRequest, GSSENCRequest: both answered "N"


async def _starting_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """What a PostgreSQL in crash recovery answers a client: FATAL 57P03."""
    try:
        while True:
            length, code = struct.unpack("!ii", await reader.readexactly(8))
            if code not in NEGOTIATIONS:
                await reader.readexactly(length - 8)  # the startup message's parameters
                break
            writer.write(b"N")
        fields = b"SFATAL\0VFATAL\0C57P03\0Mthe database system is starting up\0\0"
        writer.write(b"E" + struct.pack("!i", len(fields) + 4) + fields)
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def database_starting_up() -> AsyncIterator[str]:
    """The URL of a loopback server that answers every connection as a PostgreSQL that is
    starting up does."""
    server = await asyncio.start_server(_starting_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A cluster of this test's own: it goes down, which the shared one must never do."""
    cluster = PostgresCluster()
    if cluster.bindir is None:
        unavailable("PostgreSQL server binaries (initdb)")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def store_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == STORE_LOG and r.levelno >= level]


async def test_a_database_starting_up_is_unavailable_not_an_unknown_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """57P03 arrives as SQLAlchemy's bare ``DBAPIError`` (no connection to invalidate): it
    used to escape as a 500."""
    caplog.set_level(logging.DEBUG, STORE_LOG)
    async with database_starting_up() as url:
        store = SqlStore(url, pool_size=1)
        try:
            for _ in range(3):
                with pytest.raises(Unavailable) as refused:
                    await store.ping()
                assert refused.value.code == "database_unavailable"
        finally:
            await store.close()
    warnings = store_records(caplog, logging.WARNING)
    assert [r.getMessage() for r in warnings] == [
        "database unavailable (CannotConnectNowError: the database system is starting up); "
        "refusing what needs it (to be retried) until it answers again"
    ]
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_restarted_database_is_served_again_by_the_same_store_at_once(
    own_cluster: PostgresCluster, caplog: pytest.LogCaptureFixture
) -> None:
    """Every pooled connection died with the server. Restarted while nothing asked, none of
    them may fail a request once it is back (each drawn used to, once, with a 503); asked
    while it is down, the store refuses, and says so once, then once that it is back."""
    caplog.set_level(logging.INFO, STORE_LOG)
    store = SqlStore(own_cluster.admin_url, pool_size=3)
    try:
        await asyncio.gather(*(store.ping() for _ in range(3)))  # three pooled connections
        await asyncio.to_thread(own_cluster.restart, down=0.2)
        await asyncio.gather(*(store.ping() for _ in range(3)))
        assert not store_records(caplog, logging.INFO)

        await asyncio.to_thread(own_cluster.shut_down)
        for _ in range(3):
            with pytest.raises(Unavailable):
                await store.ping()
        await asyncio.to_thread(own_cluster.start_again)
        await asyncio.gather(*(store.ping() for _ in range(3)))
    finally:
        await store.close()
    lines = [r.getMessage() for r in store_records(caplog, logging.INFO)]
    assert len(lines) == 2, lines
    assert lines[0].startswith("database unavailable (ConnectionRefusedError: ")
    assert lines[1].startswith("database answering again after ")
    assert lines[1].endswith("; 3 transaction(s) refused meanwhile")
    assert not [r for r in caplog.records if r.exc_info]
