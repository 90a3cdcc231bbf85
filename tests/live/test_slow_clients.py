"""Slow HTTP clients (slowloris) are cut off after THREADLINE_REQUEST_TIMEOUT; honest ones,
keep-alive connections and websockets are not. A websocket dropped for not reading does not
keep its socket's buffers once it is closed: it is reset."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import psutil
import pytest

from tests.support.api import ORIGIN
from tests.support.db import Databases
from tests.support.live import running_one, sqlite_with_site
from tests.support.metrics import TOKEN, scrape
from tests.support.net import http_client, tcp, ws_connect
from tests.support.servers import ServerProcess
from tests.support.ws import RawClient

pytestmark = pytest.mark.slow
SITE = "slow"
LIMIT = 15.0  # far past the 1 s deadline: only a server without one keeps the socket


@pytest.fixture(scope="module")
async def slow_db(databases: Databases) -> str:
    return await sqlite_with_site(databases, SITE)


@pytest.fixture(scope="module")
def server(slow_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_one(
        slow_db,
        tmp_path_factory.mktemp("slow"),
        THREADLINE_REQUEST_TIMEOUT="1",
        THREADLINE_WS_QUEUE_BYTES="16384",
        THREADLINE_METRICS_TOKEN=TOKEN,
    ) as proc:
        yield proc


async def trickle_until_closed(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, drip: bytes
) -> bytes:
    """Send ``drip`` a byte at a time until the server hangs up; what it said first."""

    async def drip_feed() -> None:
        with contextlib.suppress(OSError):
            while True:
                for byte in drip:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(0.2)

    feeder = asyncio.create_task(drip_feed())
    try:
        return await asyncio.wait_for(reader.read(), LIMIT)  # read() returns at EOF
    finally:
        feeder.cancel()


async def test_headers_sent_a_byte_at_a_time_are_cut_off(server: ServerProcess) -> None:
    async with tcp(server.port) as (reader, writer):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        said = await trickle_until_closed(reader, writer, b"X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n")
        assert said == b""  # closed without an answer


async def test_blank_lines_between_requests_do_not_keep_a_connection(server: ServerProcess) -> None:
    async with tcp(server.port) as (reader, writer):
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LIMIT)
        assert head.startswith(b"HTTP/1.1 200")
        # A parser skips bare CRLFs without starting a request; each one would otherwise
        # restart uvicorn's keep-alive timer, forever.
        await trickle_until_closed(reader, writer, b"\r\n")


async def test_a_connection_that_never_speaks_is_closed(server: ServerProcess) -> None:
    async with tcp(server.port) as (reader, _):
        assert await asyncio.wait_for(reader.read(), LIMIT) == b""


async def test_a_body_sent_a_byte_at_a_time_is_cut_off(server: ServerProcess) -> None:
    async with tcp(server.port) as (reader, writer):
        writer.write(
            f"POST /api/v1/sites/{SITE}/comments HTTP/1.1\r\nHost: x\r\n"
            f"Origin: {ORIGIN}\r\nContent-Type: application/json\r\n"
            "Content-Length: 5000\r\n\r\n".encode()
        )
        await trickle_until_closed(reader, writer, b'{"page": "p", "body": "')


async def test_honest_clients_keep_alive_and_websockets_outlive_the_deadline(
    server: ServerProcess,
) -> None:
    async with tcp(server.port) as (reader, writer):
        for _ in range(3):  # one keep-alive connection, idle under uvicorn's 5 s between
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LIMIT)
            assert head.startswith(b"HTTP/1.1 200")
            length = int(
                next(
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            await reader.readexactly(length)
            await asyncio.sleep(1.5)  # longer than the deadline, between requests
    async with ws_connect(f"{server.ws_url}?v=1&site={SITE}", origin=ORIGIN) as ws:
        await ws.send('{"type": "subscribe", "page": "p", "seq": 0}')
        await asyncio.sleep(2.5)  # well past the deadline: a websocket has no such limit
        await ws.send('{"type": "sync", "seq": 0}')
        syncs = 0
        while syncs < 2:  # one answering the subscribe, one the sync sent after the wait
            frame = str(await asyncio.wait_for(ws.recv(), LIMIT))
            syncs += '"type":"sync"' in frame.replace(" ", "")


def server_holds(server: ServerProcess, client_port: int) -> bool:
    """Whether the server process still has a socket to this client port, in any state."""
    return any(
        c.raddr and c.raddr.port == client_port
        for c in psutil.Process(server.pid).net_connections(kind="tcp")
    )


async def test_a_reader_that_never_reads_costs_little_and_is_reset(server: ServerProcess) -> None:
    stuck = RawClient(server.port, SITE)
    port = stuck.sock.getsockname()[1]
    stuck.send_text('{"type": "subscribe", "page": "never-reads", "seq": 0}')
    body = "€" * 4990  # 15 KB frames
    async with http_client(timeout=30) as http:
        for i in range(400):
            r = await http.post(
                f"{server.url}/api/v1/sites/{SITE}/comments",
                json={"page": "never-reads", "body": f"{i:04} {body}"},
                headers={"Origin": ORIGIN},
            )
            assert r.status_code == 201, r.text
            if (await scrape(http, server.url))["threadline_slow_clients_dropped_total"]:
                break
        else:
            pytest.fail("the reader was never dropped")
    # The socket's kernel buffer is bounded (left to autotune on loopback it takes ~270 of
    # these frames, 4 MB, before the server's own queue even starts to fill).
    assert i < 40, f"{i + 1} frames of 15 KB went out before the drop"
    # Then it is reset rather than left flushing to a peer that never reads.
    async with asyncio.timeout(30):
        while server_holds(server, port):
            await asyncio.sleep(0.5)
    stuck.close()
