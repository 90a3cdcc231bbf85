"""Websocket test clients: a recording reader, and a raw client that misbehaves."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.support.api import ORIGIN
from tests.support.net import tcp_socket, ws_connect


@dataclass
class Reader:
    """A subscribed websocket that records every frame it receives."""

    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        ws_url: str,
        site: str,
        page: str = "p",
        *,
        seq: int | None = None,
        origin: str = ORIGIN,
        token: str | None = None,
        wait_sync: bool = True,
    ) -> Reader:
        ws = await ws_connect(
            f"{ws_url}?site={site}",
            origin=origin,
            open_timeout=10,
            max_size=2**20,
        )
        reader = cls(ws)
        reader._task = asyncio.create_task(reader._read())
        msg: dict[str, Any] = {"type": "subscribe", "page": page}
        if seq is not None:
            msg["seq"] = seq
        if token is not None:
            msg["token"] = token
        await ws.send(json.dumps(msg))
        if wait_sync:
            await reader.next("sync")
        return reader

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                self.frames.append(json.loads(message))
                self._changed.set()
        except ConnectionClosed:
            pass
        finally:
            if self.ws.close_code is not None:
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason or ""
            else:
                self.close_code = 1006
            self._changed.set()

    async def wait(self, predicate: Any, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                if predicate():
                    return
                await self._changed.wait()

    async def next(self, kind: str, timeout: float = 10.0, after: int = 0) -> dict[str, Any]:
        """The first frame of ``kind`` at index >= ``after``."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            found[:] = [f for f in self.frames[after:] if f["type"] == kind]
            return bool(found)

        await self.wait(seen, timeout)
        return found[0]

    def durable(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"].startswith("comment.")]

    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.durable()]

    async def until_seq(self, seq: int, timeout: float = 15.0) -> None:
        await self.wait(lambda: bool(self.seqs()) and self.seqs()[-1] >= seq, timeout)

    def presence(self) -> int | None:
        counts = [f["data"]["count"] for f in self.frames if f["type"] == "presence"]
        return counts[-1] if counts else None

    async def closed(self, timeout: float = 10.0) -> tuple[int | None, str]:
        await self.wait(lambda: self.close_code is not None, timeout)
        return self.close_code, self.close_reason

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def close(self) -> None:
        await self.ws.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class RawClient:
    """A websocket spoken by hand over a blocking socket: it can stop reading entirely."""

    def __init__(self, port: int, site: str, *, origin: str = ORIGIN, rcvbuf: int = 4096) -> None:
        self.sock = tcp_socket(port, rcvbuf=rcvbuf)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws?site={site} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
            ).encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            response += self.sock.recv(1)
        assert response.startswith(b"HTTP/1.1 101"), response

    def send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def drain_until_closed(self, timeout: float = 30.0) -> bytes:
        """Read everything the server sent, until it closes the TCP connection (or resets
        it: this client never answers a close frame)."""
        self.sock.settimeout(timeout)
        data = bytearray()
        with contextlib.suppress(ConnectionResetError):
            while chunk := self.sock.recv(1 << 20):
                data += chunk
        return bytes(data)

    def close(self) -> None:
        self.sock.close()
