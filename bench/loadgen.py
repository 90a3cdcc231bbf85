"""The lean load generator: many websocket readers per process, several processes.

Each child is `python -m bench.loadgen CONFIG.json`. It opens its readers
(raw RFC 6455 on uvloop, no client library), prints ``ready`` once every reader joined its
page, waits for ``collect SECONDS COUNT`` on stdin, records until it has COUNT messages per
reader or time runs out, and prints one JSON line of results. Messages carry
``@t<scheduled monotonic ns>@i<index>@``: latency is measured from the publisher's schedule,
so a slow publisher cannot hide behind it (no coordinated omission).

``source_addresses`` in the config (optional) spreads the readers' sockets over several
loopback source addresses (Linux routes all of 127/8 to lo): each source address has its own
~28,000 ephemeral ports, so tens of thousands of readers do not run out of them."""

from __future__ import annotations

import array
import asyncio
import base64
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.wsclient import mask_frame

T_MARK = b"@t"
I_MARK = b"@i"

PING_EVERY = 25.0  # seconds, as the widget (widget/src/live.js)


@dataclass(frozen=True)
class Adapter:
    """How one kind of server speaks: where to connect, how to join, when it is ready."""

    name: str
    path: str  # may contain {page}
    join: str | None  # first frame to send, may contain {page}
    ready: bytes  # a text frame starting with this means "joined"
    origin: str = "http://bench.test"


ADAPTERS = {
    "threadline": Adapter(
        "threadline",
        "/ws?site=bench",
        '{{"type":"subscribe","page":"{page}","seq":null}}',
        b'{"type":"sync"',
    ),
    "bare": Adapter("bare", "/?page={page}", None, b"ready"),
    "null": Adapter("null", "/?page={page}", None, b"ready"),
    "broadcaster": Adapter("broadcaster", "/ws?page={page}", None, b"ready"),
    "channels": Adapter("channels", "/ws?page={page}", None, b"ready"),
    "socketio": Adapter(
        "socketio", "/socket.io/?EIO=4&transport=websocket&page={page}", None, b'42["ready"'
    ),
    "asgi": Adapter("asgi", "/ws?page={page}", None, b"ready"),
}


@dataclass
class Stats:
    """What one child saw: parallel arrays of message index and latency (microseconds from
    the scheduled publish time), aggregated only after the window closes."""

    indexes: array.array = field(default_factory=lambda: array.array("l"))  # type: ignore[type-arg]
    latencies: array.array = field(default_factory=lambda: array.array("l"))  # type: ignore[type-arg]
    other_frames: int = 0
    errors: int = 0
    closed: int = 0
    # Close codes the servers sent (1013: dropped as too slow), as strings for JSON.
    close_codes: dict[str, int] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def per_message(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for index, latency in zip(self.indexes, self.latencies, strict=True):
            seen = out.get(index)
            if seen is None:
                out[index] = [1, latency]
            else:
                seen[0] += 1
                if latency > seen[1]:
                    seen[1] = latency
        return out


class Conn(asyncio.Protocol):
    __slots__ = ("adapter", "buf", "is_open", "joined", "on_joined", "page", "stats", "transport")

    def __init__(
        self, adapter: Adapter, page: str, stats: Stats, on_joined: Callable[[], None]
    ) -> None:
        self.adapter, self.page, self.stats, self.on_joined = adapter, page, stats, on_joined
        self.buf = b""
        self.is_open = False
        self.joined = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        path = self.adapter.path.format(page=self.page)
        transport.write(  # type: ignore[attr-defined]
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {self.adapter.origin}\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        if self.buf:
            data = self.buf + data
            self.buf = b""
        if not self.is_open:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buf = data
                return
            if not data.startswith(b"HTTP/1.1 101"):
                self.stats.errors += 1
                assert self.transport is not None
                self.transport.close()
                return
            data = data[end + 4 :]
            self.is_open = True
            if self.adapter.join is not None:
                self.send(self.adapter.join.format(page=self.page).encode())
        # One pass over the chunk with an offset: no per-frame copies or deletions. Frames
        # that arrive in one read arrived at the same time: one clock read for all of them.
        now = time.monotonic_ns() // 1000
        size = len(data)
        pos = 0
        find = data.find
        indexes, latencies = self.stats.indexes, self.stats.latencies
        while size - pos >= 2:
            opcode, n = data[pos] & 0x0F, data[pos + 1] & 0x7F
            start = pos + 2
            if n == 126:
                if size - pos < 4:
                    break
                n = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(data[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + n
            if end > size:
                break
            pos = end
            if opcode == 1:
                t = find(T_MARK, start, end)
                if t >= 0:
                    e = find(b"@", t + 2, end)
                    i = find(I_MARK, e, end)
                    latencies.append(now - int(data[t + 2 : e]) // 1000)
                    indexes.append(int(data[i + 2 : find(b"@", i + 2, end)]))
                else:
                    self.text(data[start:end])
            elif opcode == 9:
                assert self.transport is not None
                self.transport.write(mask_frame(10, data[start:end]))
            elif opcode == 8:
                self.stats.closed += 1
                code = str(int.from_bytes(data[start : start + 2], "big")) if n >= 2 else "none"
                self.stats.close_codes[code] = self.stats.close_codes.get(code, 0) + 1
                assert self.transport is not None
                self.transport.close()
                return
        if pos < size:
            self.buf = data[pos:]

    def text(self, payload: bytes) -> None:
        if payload == b"2":  # Engine.IO ping
            self.send(b"3")
            return
        if payload.startswith(b"0{"):  # Engine.IO open: join the default namespace
            self.send(b"40")
            return
        self.stats.other_frames += 1
        if not self.joined and payload.startswith(self.adapter.ready):
            self.joined = True
            self.on_joined()

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(mask_frame(1, data))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.is_open:
            self.stats.closed += 1


def raise_open_files_limit() -> int:
    """The soft limit on open descriptors raised to the hard one: a child holding ~12,000
    sockets would otherwise hit a soft limit below what the system lets it have."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return int(soft)


async def child(config: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    raise_open_files_limit()
    adapter = ADAPTERS[config["adapter"]]
    stats = Stats()
    joined = 0
    all_joined = loop.create_future()
    total = len(config["pages"])

    def on_joined() -> None:
        nonlocal joined
        joined += 1
        if joined == total and not all_joined.done():
            all_joined.set_result(None)

    conns: list[Conn] = []
    gate = asyncio.Semaphore(config.get("concurrency", 64))
    # None (the default): the kernel picks the source address, 127.0.0.1, as it always did.
    sources: list[str] = config.get("source_addresses") or []

    async def open_one(page: str, number: int) -> None:
        # Round robin, so every source address carries the same share of the ports.
        local = (sources[number % len(sources)], 0) if sources else None
        async with gate:
            for _ in range(5):
                try:
                    conn = Conn(adapter, page, stats, on_joined)
                    await loop.create_connection(
                        lambda c=conn: c,
                        config["host"],
                        config["port"],
                        local_addr=local,
                    )
                    conns.append(conn)
                    return
                except OSError:
                    stats.errors += 1
                    await asyncio.sleep(0.2)

    await asyncio.gather(*(open_one(p, n) for n, p in enumerate(config["pages"])))
    if config["adapter"] == "threadline":
        # Every reader pings as the widget does (every 25 s): Threadline closes a socket
        # silent for 75 s, and a long step would otherwise lose its first readers midway.
        async def ping_like_the_widget() -> None:
            spent = 0.0
            while True:
                await asyncio.sleep(max(0.0, PING_EVERY - spent))  # the first after the joins
                started = loop.time()
                for number, conn in enumerate(list(conns)):
                    if conn.is_open:  # never into a handshake still under way
                        conn.send(b'{"type":"ping"}')
                    if number % 500 == 499:  # spread over the interval, not one burst
                        await asyncio.sleep(PING_EVERY * 500 / max(len(conns), 1))
                spent = loop.time() - started

        stats.tasks.append(asyncio.create_task(ping_like_the_widget()))
    typing_every = config.get("typing_every")
    if typing_every:
        # The first reader of each page types now and then (Threadline only).
        typists = {c.page: c for c in reversed(conns)}.values()

        async def type_now_and_then() -> None:
            while True:
                await asyncio.sleep(typing_every)
                for conn in typists:
                    conn.send(b'{"type":"typing"}')

        stats.tasks.append(asyncio.create_task(type_now_and_then()))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(all_joined), config.get("join_timeout", 60))
    print(json.dumps({"ready": joined, "errors": stats.errors}), flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().split()
        if not line or line[0] == "quit":
            break
        if line[0] == "collect":
            seconds, expected = float(line[1]), int(line[2])
            stats.latencies = array.array("l")
            stats.indexes = array.array("l")
            before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.monotonic()
            want = expected * len(conns)
            while time.monotonic() - started < seconds and len(stats.latencies) < want:
                await asyncio.sleep(0.02)
            after = resource.getrusage(resource.RUSAGE_SELF)
            elapsed = time.monotonic() - started
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            print(
                json.dumps(
                    {
                        "latencies": base64.b64encode(stats.latencies.tobytes()).decode(),
                        "per_message": stats.per_message(),
                        "connections": len(conns),
                        "cpu": cpu / max(elapsed, 1e-6),
                        "closed": stats.closed,
                        "errors": stats.errors,
                        "other": stats.other_frames,
                        "close_codes": stats.close_codes,
                    }
                ),
                flush=True,
            )
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()


def main() -> None:
    # The config comes in a file: stdin carries only commands, read by the event loop.
    with open(sys.argv[1]) as fh:
        config = json.load(fh)
    try:
        import uvloop

        uvloop.run(child(config))
    except ImportError:  # pragma: no cover -- uvloop comes with uvicorn[standard]
        asyncio.run(child(config))


if __name__ == "__main__":
    main()
