"""The physical-limit references: python-websockets, no framework.

``null``: one process; /_bench/start broadcasts in-process (no Redis): the fan-out ceiling.
``a``: publishes to Redis on /_bench/start.  ``b``: reads Redis pub/sub (one lean hiredis
reader) and broadcasts each message to the page's sockets with websockets.broadcast().

Run: python -m bench.sut.bare ROLE PORT [REDIS_PORT]"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from http import HTTPStatus
from urllib.parse import urlsplit

import hiredis
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

from bench.sut.common import open_loop, spawn, start_params

rooms: dict[str, set[ServerConnection]] = defaultdict(set)


def resp(conn: ServerConnection, status: int, body: bytes = b"") -> Response:
    r = conn.respond(HTTPStatus(status), body.decode())
    return r


async def handler(conn: ServerConnection) -> None:
    page = urlsplit(conn.request.path).query.removeprefix("page=") if conn.request else "p"
    rooms[page].add(conn)
    try:
        await conn.send("ready")
        await conn.wait_closed()
    finally:
        rooms[page].discard(conn)


def command(*parts: str) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        data = p.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def redis_publisher(redis_port: int) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", redis_port)

    async def drain() -> None:  # discard PUBLISH replies so they never back up
        while await reader.read(65536):
            pass

    spawn(drain())
    return writer


async def subscriber(redis_port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", redis_port)
    writer.write(command("PSUBSCRIBE", "bench:*"))
    parser = hiredis.Reader()
    while data := await reader.read(262144):
        parser.feed(data)
        while (msg := parser.gets()) is not False:
            if isinstance(msg, list) and msg[0] == b"pmessage":
                page = msg[2].decode().removeprefix("bench:")
                broadcast(rooms.get(page, ()), msg[3].decode())


def main() -> None:
    role, port = sys.argv[1], int(sys.argv[2])
    redis_port = int(sys.argv[3]) if len(sys.argv) > 3 else 0

    async def run() -> None:
        publisher = await redis_publisher(redis_port) if role == "a" else None

        def process_request(conn: ServerConnection, request: Request) -> Response | None:
            parts = urlsplit(request.path)
            if parts.path != "/_bench/start":
                return None
            rate, count, page, size = start_params(parts.query)

            async def send(text: str, _i: int) -> None:
                if publisher is not None:
                    # Pipelined; we never wait for Redis's answer on the hot path.
                    publisher.write(command("PUBLISH", f"bench:{page}", text))
                else:
                    broadcast(rooms.get(page, ()), text)

            spawn(open_loop(rate, count, size, send))
            return resp(conn, 202, b"started")

        if role == "b":
            spawn(subscriber(redis_port))
        async with serve(
            handler,
            "127.0.0.1",
            port,
            process_request=process_request,
            compression=None,
            max_size=65536,
        ):
            await asyncio.get_running_loop().create_future()

    import uvloop

    uvloop.run(run())


if __name__ == "__main__":
    main()
