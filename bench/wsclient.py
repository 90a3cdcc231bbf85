"""A lean websocket client on a raw asyncio Protocol.

A full client library costs tens of microseconds per frame, enough to make the load
generator the bottleneck. This speaks just enough RFC 6455 for readers: handshake, masked
text frames out, unmasked frames in, ping/pong, close. Durable frames are recognised by
their leading bytes and their ``seq`` read without parsing JSON."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

DURABLE = b'{"type":"comment.'
SEQ = b'"seq":'


def mask_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    # XOR with the repeated 4-byte mask, via one big integer (fast enough, no numpy).
    repeated = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")
    return header + mask + masked


def seq_of(payload: bytes) -> int:
    i = payload.index(SEQ) + len(SEQ)
    j = payload.index(b",", i)
    return int(payload[i:j])


@dataclass
class Reader(asyncio.Protocol):
    """One subscribed socket. ``seqs`` holds every durable seq received, in arrival order;
    ``times`` their arrival (monotonic ns)."""

    path: str
    origin: str
    subscribe: dict[str, object]
    on_frame: Callable[[Reader, bytes], None] | None = None
    seqs: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    other: int = 0
    close_code: int | None = None
    closed: asyncio.Future[None] | None = None
    synced: asyncio.Future[None] | None = None
    transport: asyncio.Transport | None = None
    _buf: bytearray = field(default_factory=bytearray)
    _open: bool = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        key = base64.b64encode(os.urandom(16)).decode()
        peer_host, peer_port = transport.get_extra_info("peername")[:2]
        host = f"{peer_host}:{peer_port}"
        transport.write(  # type: ignore[attr-defined]  # a BaseTransport that writes
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: {self.origin}\r\n\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if not self._open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:12])
            del buf[: end + 4]
            if not status.startswith(b"HTTP/1.1 101"):
                self._finish(-int(status[9:12] or b"0"))
                return
            self._open = True
            assert self.transport is not None
            self.transport.write(mask_frame(1, orjson.dumps(self.subscribe)))
        self._frames()

    def _frames(self) -> None:
        buf = self._buf
        while len(buf) >= 2:
            opcode, n = buf[0] & 0x0F, buf[1] & 0x7F
            start = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, start = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, start = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < start + n:
                return
            payload = bytes(buf[start : start + n])
            del buf[: start + n]
            if opcode == 1:
                self._text(payload)
            elif opcode == 9:
                assert self.transport is not None
                self.transport.write(mask_frame(10, payload))
            elif opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self._finish(code)
                return

    def _text(self, payload: bytes) -> None:
        if payload.startswith(DURABLE):
            self.seqs.append(seq_of(payload))
            self.times.append(time.monotonic_ns())
        else:
            self.other += 1
            if (
                payload.startswith(b'{"type":"sync"')
                and self.synced is not None
                and not self.synced.done()
            ):
                self.synced.set_result(None)
        if self.on_frame is not None:
            self.on_frame(self, payload)

    def send_json(self, message: dict[str, object]) -> None:
        if self.transport is not None and self._open and not self.transport.is_closing():
            self.transport.write(mask_frame(1, orjson.dumps(message)))

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(self.close_code or 1006)

    def _finish(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
        if self.transport is not None:
            self.transport.close()
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)
        if self.synced is not None and not self.synced.done():
            self.synced.set_exception(ConnectionError(f"closed with {code}"))

    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else int(self.subscribe.get("seq") or 0)  # type: ignore[call-overload]


async def connect(
    host: str,
    port: int,
    site: str,
    page: str,
    *,
    seq: int | None = 0,
    origin: str,
    timeout: float = 10.0,
    on_frame: Callable[[Reader, bytes], None] | None = None,
    seqs: list[int] | None = None,
    times: list[int] | None = None,
) -> Reader:
    """Open, subscribe, and wait for the server's ``sync`` (replay done). Pass ``seqs`` and
    ``times`` to keep one record across reconnections."""
    loop = asyncio.get_running_loop()
    subscribe: dict[str, object] = {"type": "subscribe", "page": page}
    if seq is not None:
        subscribe["seq"] = seq
    reader = Reader(
        f"/ws?site={site}",
        origin,
        subscribe,
        on_frame,
        seqs if seqs is not None else [],
        times if times is not None else [],
    )
    reader.closed, reader.synced = loop.create_future(), loop.create_future()
    try:
        async with asyncio.timeout(timeout):
            await loop.create_connection(lambda: reader, host, port)
            await reader.synced
    except BaseException:
        if reader.transport is not None:
            reader.transport.abort()
        raise
    return reader
