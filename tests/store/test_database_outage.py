"""A PostgreSQL that cannot serve (down, shutting down, starting up, restarted) is
``Unavailable`` to every caller, never another error; the same store serves again as soon
as it is back; and the outage is logged as one warning and one line when it ends, with no
traceback."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import struct
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from server.core.comments import Draft, post_comment
from server.core.context import Limits
from server.core.errors import Unavailable
from server.core.models import Site
from server.core.privacy import ip_hash
from server.store.database import SqlStore
from tests.support.api import ORIGIN
from tests.support.config import SECRET
from tests.support.core import core_services
from tests.support.db import Databases
from tests.support.services import PostgresCluster, free_port

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
    own_pg_cluster: PostgresCluster, caplog: pytest.LogCaptureFixture
) -> None:
    """Every pooled connection died with the server. Restarted while nothing asked, none of
    them may fail a request once it is back (each drawn used to, once, with a 503); asked
    while it is down, the store refuses, and says so once, then once that it is back."""
    caplog.set_level(logging.INFO, STORE_LOG)
    store = SqlStore(own_pg_cluster.admin_url, pool_size=3)
    try:
        await asyncio.gather(*(store.ping() for _ in range(3)))  # three pooled connections
        await asyncio.to_thread(own_pg_cluster.restart, down=0.2)
        await asyncio.gather(*(store.ping() for _ in range(3)))
        assert not store_records(caplog, logging.INFO)

        await asyncio.to_thread(own_pg_cluster.shut_down)
        for _ in range(3):
            with pytest.raises(Unavailable):
                await store.ping()
        await asyncio.to_thread(own_pg_cluster.start_again)
        await asyncio.gather(*(store.ping() for _ in range(3)))
    finally:
        await store.close()
    lines = [r.getMessage() for r in store_records(caplog, logging.INFO)]
    assert len(lines) == 2, lines
    assert lines[0].startswith("database unavailable (ConnectionRefusedError: ")
    assert lines[1].startswith("database answering again after ")
    assert lines[1].endswith("; 3 transaction(s) refused meanwhile")
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_cancelled_statement_is_a_fault_to_see_not_an_outage(
    databases: Databases, caplog: pytest.LogCaptureFixture
) -> None:
    """A statement timeout (57014) is answered "try again" but logged as an error each
    time: no outage begins, and the next request logs no "answering again"."""
    caplog.set_level(logging.INFO, STORE_LOG)
    store = SqlStore(await databases.create("postgresql"), pool_size=1)

    async def too_slow() -> None:
        async with store.read() as tx:
            await tx.conn.execute(text("SET LOCAL statement_timeout = 10"))
            await tx.conn.execute(text("SELECT pg_sleep(1)"))

    try:
        with pytest.raises(Unavailable) as refused:
            await too_slow()
        assert refused.value.code == "database_busy"
        await store.ping()
    finally:
        await store.close()
    lines = [(r.levelno, r.getMessage()) for r in store_records(caplog, logging.INFO)]
    assert lines == [(logging.ERROR, "a statement was cancelled by the database (57014)")]


async def test_a_read_only_connection_after_a_failover_is_dropped_not_reused(
    databases: Databases,
) -> None:
    """A failover that leaves pooled connections on the demoted, now read-only, primary
    (25006): the write is refused as unavailable and that connection leaves the pool, so
    the next request gets a fresh one instead of the same refusal for half an hour."""
    store = SqlStore(await databases.create("postgresql"), pool_size=1)

    async def write_on_a_demoted_primary() -> None:
        async with store.write() as tx:
            # What a demoted primary does to every write of a connection still on it.
            await tx.conn.execute(text("SET TRANSACTION READ ONLY"))
            await tx.conn.execute(text("INSERT INTO sites (id) VALUES ('x')"))

    try:
        async with store.read() as tx:
            before = (await tx.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        with pytest.raises(Unavailable) as refused:
            await write_on_a_demoted_primary()
        assert refused.value.code == "database_unavailable"
        async with store.read() as tx:
            after = (await tx.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert after != before
    finally:
        await store.close()


async def test_posts_refused_by_an_outage_do_not_spend_the_rate_limits() -> None:
    """Retries during an outage are answered 503, never 429, and leave the client's and the
    page's budgets as they were: once the database is back nobody is refused for them."""
    store = SqlStore(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", pool_size=1)
    svc = core_services(store, Limits(rate_limit=2, page_rate_limit=3, min_submit_ms=0))
    site = Site(id="s", name="s", origins=(ORIGIN,))
    try:
        for _ in range(6):
            with pytest.raises(Unavailable):
                await post_comment(
                    svc, site, Draft(page="p", body="hi"), token=None, client_ip="192.0.2.9"
                )
    finally:
        await store.close()
    client = f"post:s:{ip_hash(SECRET, '192.0.2.9')}"
    assert await svc.limiter.peek(client) == 0
    page = hashlib.sha256(b"p").hexdigest()[:24]
    assert await svc.limiter.peek(f"page:s:{page}") == 0
