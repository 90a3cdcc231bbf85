"""uvicorn's websocket protocol: a bounded send buffer, and resets for silent peers.

Websockets keep a fixed kernel send buffer (``WS_SNDBUF``). Left to autotune, Linux lets a
socket whose peer stops reading buffer up to 4 MB (``tcp_wmem``) before the reader's own
queue fills and it is dropped; comment events are small, and this is ample even for a
reader far away. A reader that does not answer the close that drops it (or a keepalive
ping) is reset, not left open with full buffers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

WS_SNDBUF = 64 * 1024  # the kernel doubles it for its bookkeeping


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
        if message.get("type") == "websocket.accept" and self.handshake_complete:
            # The handshake's request and response (their header objects) are read only to
            # accept: kept, they were ~4 KiB of every open socket's ~23 (tracemalloc, issue
            # 19). The app keeps what it needs in its scope.
            self.request = self.response = None  # type: ignore[assignment]
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
