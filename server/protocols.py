"""uvicorn's HTTP and websocket protocols, hardened against clients that hold sockets.

uvicorn times out idle keep-alive connections, but not a request that arrives a byte at a
time (slowloris) or a connection that opens and never sends: each holds a socket and a
place under ``limit_concurrency`` forever. Here every request, its headers and body, must
arrive within ``THREADLINE_REQUEST_TIMEOUT`` seconds of its first byte (of the connection,
for the first one), or the connection is closed, and reset ``ABORT_AFTER`` seconds later if
the client is not reading either. A websocket's deadline ends at its upgrade; a slow
application is not cut off, only a slow client.

Websockets keep a fixed kernel send buffer (``WS_SNDBUF``). Left to autotune, Linux lets a
socket whose peer stops reading buffer up to 4 MB (``tcp_wmem``) before the reader's own
queue fills and it is dropped; comment events are small, and this is ample even for a
reader far away. A reader that does not answer the close that drops it (or a keepalive
ping) is reset, not left open with full buffers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from server.settings import Settings

ABORT_AFTER = 5.0
WS_SNDBUF = 64 * 1024  # the kernel doubles it for its bookkeeping


@cache
def request_timeout() -> float:
    # Read the way server.app builds the app: this class is named in uvicorn's options and
    # instantiated by uvicorn in each worker process, with no way to pass it arguments.
    return float(Settings.from_env(os.environ).request_timeout)


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        # Between requests too: bytes that begin no request (a bare CRLF, which the parser
        # skips) would otherwise cancel uvicorn's keep-alive timer forever.
        if self.deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        if self.parser.should_upgrade() and self._should_upgrade():
            self._disarm()  # a websocket now: it has pings and its own limits
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self.deadline = self.loop.call_later(request_timeout(), self._expired)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expired(self) -> None:
        self.deadline = None
        if self.flow.read_paused:  # the server stopped reading (a slow app), not the client
            self._arm()
            return
        if not self.transport.is_closing():
            self.transport.close()
            # A client that neither sends nor reads would keep the socket open flushing.
            self.loop.call_later(ABORT_AFTER, self.transport.abort)


class WebSocketProtocol(WebSocketsSansIOProtocol):
    lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, WS_SNDBUF)
        super().connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        super().connection_lost(exc)

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message.get("type") == "websocket.close" and self.close_timer is not None:
            # uvicorn closes the transport when the peer has not answered the close frame
            # in time, and a close waits to flush, which a peer that reads nothing never
            # lets happen: the socket would stay open, buffers full, as long as the peer
            # lives. It is reset instead.
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self._reset)

    def keepalive_timeout(self) -> None:
        closing = self.close_sent or self.transport.is_closing()  # then uvicorn does nothing
        super().keepalive_timeout()  # a close frame and a close: the same story
        if not closing:
            self._reset()

    def _reset(self) -> None:
        """Close with a reset (``SO_LINGER`` 0): nothing more is sent, and the kernel frees
        the socket's buffers at once instead of retrying them to a peer that reads none."""
        self.close_timer = None
        if self.lost:  # closed meanwhile: its descriptor may already be another socket's
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()
