"""One client address cannot take every HTTP connection of a process: over
THREADLINE_HTTP_MAX_PER_IP it gets 429 before its request is read, while other addresses are
served; places free up as connections close; websockets hand their place over to their own
limit; trusted proxies are not counted."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator

import psutil
import pytest

from tests.support.db import Databases
from tests.support.live import running_one, sqlite_with_site
from tests.support.net import CLIENT_IP, OTHER_CLIENT_IP, open_tcp
from tests.support.servers import ServerProcess
from tests.support.ws import Reader

pytestmark = pytest.mark.slow
SITE = "capped"
CAP = 4
PROXY = "127.0.0.4"
LIMIT = 15.0


@pytest.fixture(scope="module")
async def capped_db(databases: Databases) -> str:
    return await sqlite_with_site(databases, SITE)


@pytest.fixture(scope="module")
def server(capped_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # A long request deadline: held connections must outlive the test, not time out.
    with running_one(
        capped_db,
        tmp_path_factory.mktemp("capped"),
        THREADLINE_HTTP_MAX_PER_IP=str(CAP),
        THREADLINE_REQUEST_TIMEOUT="120",
        THREADLINE_TRUSTED_PROXIES=PROXY,
    ) as proc:
        yield proc


async def get(server: ServerProcess, source: str) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection from ``source``: status, headers, body."""
    reader, writer = await open_tcp(server.port, source=source)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        said = await asyncio.wait_for(reader.read(), LIMIT)
    finally:
        writer.close()
    head, _, body = said.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return (int(lines[0].split()[1]), dict(line.lower().split(": ", 1) for line in lines[1:]), body)


@contextlib.asynccontextmanager
async def held(
    server: ServerProcess, source: str, count: int
) -> AsyncIterator[list[asyncio.StreamWriter]]:
    """``count`` connections from ``source``, each answered once (so the server has counted
    it) and then kept open by the start of another request."""
    writers = []
    try:
        for _ in range(count):
            reader, writer = await open_tcp(server.port, source=source)
            writers.append(writer)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LIMIT)
            assert head.startswith(b"HTTP/1.1 200"), head
            writer.write(b"GET /healthz HTTP/1.1\r\n")  # unfinished: no keep-alive timeout
        yield writers
    finally:
        ports = {writer.get_extra_info("sockname")[1] for writer in writers}
        for writer in writers:
            writer.close()
        await released(server, ports)


async def released(server: ServerProcess, ports: set[int]) -> None:
    """Until the server holds no socket to these client ports: their places are free again
    (it closes a socket right after counting its connection out)."""
    process = psutil.Process(server.pid)
    async with asyncio.timeout(LIMIT):
        while any(c.raddr and c.raddr.port in ports for c in process.net_connections(kind="tcp")):
            await asyncio.sleep(0.05)


async def served_again(server: ServerProcess, source: str) -> None:
    """The server frees a place when it sees the close; ask until it has."""
    async with asyncio.timeout(LIMIT):
        while (await get(server, source))[0] != 200:
            await asyncio.sleep(0.05)


async def test_one_address_is_capped_and_others_are_served(server: ServerProcess) -> None:
    async with held(server, CLIENT_IP, CAP) as writers:
        status, headers, body = await get(server, CLIENT_IP)
        assert status == 429
        assert headers["retry-after"].isdigit() and headers["connection"] == "close"
        assert json.loads(body)["error"]["code"] == "too_many_connections"
        assert (await get(server, OTHER_CLIENT_IP))[0] == 200
        writers[0].close()
        await served_again(server, CLIENT_IP)  # one place freed


async def test_websockets_hand_their_place_over_to_their_own_limit(server: ServerProcess) -> None:
    # More websockets than HTTP places: each upgrade gives its HTTP place back.
    readers = [await Reader.open(server.ws_url, SITE, "p") for _ in range(CAP + 2)]
    try:
        async with held(server, CLIENT_IP, CAP):
            assert (await get(server, CLIENT_IP))[0] == 429
    finally:
        ports = {reader.ws.local_address[1] for reader in readers}
        for reader in readers:
            await reader.close()
        await released(server, ports)


async def test_trusted_proxies_are_not_counted(server: ServerProcess) -> None:
    async with held(server, PROXY, CAP + 2):
        assert (await get(server, PROXY))[0] == 200
