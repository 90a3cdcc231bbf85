"""The tests' clients to real servers connect from their own loopback address, so that a
server writing its client's address to a log is caught by the session's log check (the
servers bind 127.0.0.1, which their logs may name). Linux routes all of 127.0.0.0/8 to lo."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
from websockets.asyncio.client import connect

CLIENT_IP = "127.0.0.2"
OTHER_CLIENT_IP = "127.0.0.3"  # a second client, for per-address limits


def http_client(*, source: str = CLIENT_IP, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client whose connections come from ``source``."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(transport=transport, **kwargs)


def ws_connect(url: str, *, source: str = CLIENT_IP, **kwargs: Any) -> connect:
    """websockets' ``connect`` (await it, or use it with ``async with``) from ``source``."""
    return connect(url, local_addr=(source, 0), **kwargs)


async def open_tcp(
    port: int, *, source: str = CLIENT_IP
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


@contextlib.asynccontextmanager
async def tcp(
    port: int, *, source: str = CLIENT_IP
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A raw connection from ``source``, closed on the way out whatever the server did."""
    reader, writer = await open_tcp(port, source=source)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def tcp_socket(port: int, *, source: str = CLIENT_IP, rcvbuf: int | None = None) -> socket.socket:
    """A connected blocking socket from ``source``."""
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock
