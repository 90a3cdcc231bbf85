"""Request heads are bounded: an endless header, too many headers, a head or a URL too long
are answered 431 or 414 and the connection closed, and a few clients streaming megabytes of
header bytes cannot grow the server. Honest requests, keep-alive and websockets still work."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator

import psutil
import pytest

from server.runtime.limits import MAX_HEAD_BYTES, MAX_HEADERS, MAX_TARGET
from tests.support.api import ORIGIN
from tests.support.db import Databases
from tests.support.live import running_one, sqlite_with_site
from tests.support.net import tcp
from tests.support.servers import ServerProcess
from tests.support.ws import Reader

pytestmark = pytest.mark.slow
SITE = "heads"
DEADLINE = 10.0  # the server's request timeout, in seconds
LIMIT = 30.0  # seconds to wait for an answer
MiB = 1024 * 1024
ENDLESS_HEADER = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: "
ENDLESS_TRAILER = (
    f"POST /api/v1/sites/{SITE}/comments HTTP/1.1\r\nHost: x\r\n"
    f"Origin: {ORIGIN}\r\nContent-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Endless: "
).encode()


@pytest.fixture(scope="module")
async def heads_db(databases: Databases) -> str:
    return await sqlite_with_site(databases, SITE)


@pytest.fixture(scope="module")
def server(heads_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_one(
        heads_db, tmp_path_factory.mktemp("heads"), THREADLINE_REQUEST_TIMEOUT=str(int(DEADLINE))
    ) as proc:
        yield proc


async def send(writer: asyncio.StreamWriter, data: bytes, total: int = 0) -> int:
    """``data``, then ``total`` more bytes of header value; what got through before the
    server hung up."""
    sent = 0
    with contextlib.suppress(OSError):
        writer.write(data)
        await writer.drain()
        sent = len(data)
        block = b"a" * 65536
        while sent < len(data) + total:
            writer.write(block)
            await writer.drain()
            sent += len(block)
    return sent


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], dict[str, object]]:
    """Everything the server says until it closes: status, headers, JSON body."""
    said = await asyncio.wait_for(reader.read(), LIMIT)  # read() returns at EOF
    assert said, "the server closed without an answer"
    head, _, body = said.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


async def response(reader: asyncio.StreamReader) -> bytes:
    """One response on a keep-alive connection: its head, its body read past."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), LIMIT)
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    await asyncio.wait_for(reader.readexactly(length), LIMIT)
    return head


def request(target: str = "/healthz", *headers: str) -> bytes:
    return "".join(
        [f"GET {target} HTTP/1.1\r\nHost: x\r\n", *(f"{h}\r\n" for h in headers), "\r\n"]
    ).encode()


def chunked_post(*chunks: bytes, trailer: bytes = b"") -> bytes:
    head = (
        f"POST /api/v1/sites/{SITE}/comments HTTP/1.1\r\nHost: x\r\nOrigin: {ORIGIN}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)
    return head + body + b"0\r\n" + (trailer + b"\r\n" if trailer else b"") + b"\r\n"


async def refused_with(server: ServerProcess, data: bytes, more: int = 0) -> tuple[int, str]:
    async with tcp(server.port) as (reader, writer):
        await send(writer, data, more)
        status, headers, body = await answer(reader)
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/json"
    return status, str(body["error"]["code"])  # type: ignore[index]


async def test_an_unfinished_giant_header_is_answered_431_and_closed(server: ServerProcess) -> None:
    assert await refused_with(server, ENDLESS_HEADER, 4 * MiB) == (431, "headers_too_large")


async def test_too_many_headers_are_431(server: ServerProcess) -> None:
    data = request("/healthz", *(f"X-H{i}: v" for i in range(20000)))
    assert await refused_with(server, data) == (431, "too_many_headers")


async def test_a_head_too_large_in_one_piece_is_431(server: ServerProcess) -> None:
    data = request("/healthz", f"Cookie: c={'x' * MAX_HEAD_BYTES}")
    assert await refused_with(server, data) == (431, "headers_too_large")


async def test_a_url_too_long_is_414(server: ServerProcess) -> None:
    assert await refused_with(server, request(f"/healthz?q={'x' * MAX_TARGET}")) == (
        414,
        "url_too_long",
    )


async def test_a_giant_trailer_is_cut_off(server: ServerProcess) -> None:
    async with tcp(server.port) as (reader, writer):
        await send(writer, ENDLESS_TRAILER, 4 * MiB)
        # The app is already waiting for this request's end: no answer, a hang-up (seen as
        # a reset or a broken pipe when the client was still sending).
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(reader.read(), LIMIT) == b""


async def test_honest_requests_near_the_limits_keep_alive(server: ServerProcess) -> None:
    big_but_fine = [
        request(f"/healthz?q={'x' * (MAX_TARGET - 100)}"),
        request("/healthz", *(f"X-H{i}: v" for i in range(MAX_HEADERS - 2))),
        request("/healthz", f"Cookie: c={'x' * (MAX_HEAD_BYTES - 1024)}"),
        chunked_post(b'{"page": "p", ', b'"body": "chunked"}', trailer=b"X-Trailer: fine"),
    ]
    async with tcp(server.port) as (reader, writer):  # one keep-alive connection for them all
        for data in big_but_fine:
            writer.write(data)
            head = await response(reader)
            assert head.split()[1] in (b"200", b"201"), head[:200]
    reader_ws = await Reader.open(server.ws_url, SITE, "p", seq=0)
    await reader_ws.until_seq(1)  # the chunked post, replayed to a websocket
    await reader_ws.close()


async def test_a_head_begun_behind_a_pipelined_request_counts_from_its_first_byte(
    server: ServerProcess,
) -> None:
    # One read holds a whole request and 24 KiB of the next one's header; further reads
    # carry the header past the limit. The next request's bytes in the first read counted
    # for nothing once the first request completed in it.
    first_read = request() + ENDLESS_HEADER + b"a" * (24 * 1024)
    async with tcp(server.port) as (reader, writer):
        writer.write(first_read)
        await writer.drain()
        assert (await response(reader)).split()[1] == b"200"
        writer.write(b"a" * (24 * 1024))
        await writer.drain()
        status, _, body = await answer(reader)
    assert (status, body["error"]["code"]) == (431, "headers_too_large")  # type: ignore[index]


async def test_a_trailer_begun_in_the_read_that_ends_the_body_counts_from_its_first_byte(
    server: ServerProcess,
) -> None:
    # The body ends and a 40 KiB trailer begins in one read: over the limit, cut off at
    # once. Counted from the next read only, it would be held until the request deadline.
    async with tcp(server.port) as (reader, writer):
        writer.write(ENDLESS_TRAILER + b"a" * (40 * 1024))
        await writer.drain()
        # The app is waiting for this request's end: no answer, a hang-up, well before the
        # deadline would have closed the connection anyway.
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(reader.read(), DEADLINE / 2) == b""


async def test_honest_pipelined_requests_near_the_limit_are_all_answered(
    server: ServerProcess,
) -> None:
    # Each head is near the limit and they arrive together: none counts the others' bytes.
    near = request("/healthz", f"Cookie: c={'x' * (MAX_HEAD_BYTES - 1024)}")
    async with tcp(server.port) as (reader, writer):
        writer.write(near * 4)
        await writer.drain()
        for _ in range(4):
            assert (await response(reader)).split()[1] == b"200"


@pytest.mark.parametrize("where", ["head", "trailer", "pipelined head"])
async def test_megabytes_of_header_bytes_do_not_grow_the_server(
    server: ServerProcess, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Eight clients each stream 16 MiB of one header value (in the head, in a chunked
    body's trailer, or in a head behind a pipelined request). Unbounded, the server would
    hold all 128 MiB."""
    start = {
        "head": ENDLESS_HEADER,
        "trailer": ENDLESS_TRAILER,
        "pipelined head": request() + ENDLESS_HEADER,
    }[where]
    process = psutil.Process(server.pid)
    before = peak = process.memory_info().rss
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.02)

    async def attack() -> None:
        async with tcp(server.port) as (reader, writer):
            await send(writer, start, 16 * MiB)
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(reader.read(), LIMIT)  # until the server hangs up

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(attack() for _ in range(8)))
    done.set()
    await sampler
    peak = max(peak, process.memory_info().rss)
    grew = (peak - before) / MiB
    with capsys.disabled():
        print(
            f"\n[heads] {where}: server RSS {before / MiB:.0f} MiB before, peak "
            f"{peak / MiB:.0f} MiB while 8 clients streamed 16 MiB of header bytes each"
        )
    assert grew < 32, f"the server grew by {grew:.0f} MiB"
