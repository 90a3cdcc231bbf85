"""One live websocket (a reader's or a moderator's), and how a shared frame reaches it.

A ``Frame`` is built once per event and shared by every socket of every page in this
process. Under uvicorn's websockets-sansio protocol a socket writes that frame's wire bytes
straight to its transport (server frames are never masked, and compression is off, so the
bytes are the same for everyone); the transport's own buffer is the bounded send queue. Under
any other ASGI server a socket falls back to an ASGI writer task with a byte-bounded queue."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from typing import Any

from starlette.types import Scope, Send

from server.http.sockets import RAW_SEND
from server.live.frames import Close, Frame

log = logging.getLogger("threadline.live")
_ids = itertools.count(1)
CLOSE_TIMEOUT = 2.0


class LiveConnection:
    """An accepted socket the live layer pushes frames to. ``push`` never blocks: a reader
    that cannot keep up is dropped (close 1013) rather than slowing the fan-out to everyone
    else on the page."""

    __slots__ = (
        "_closing",
        "_force",
        "_handler",
        "_send",
        "author_hash",
        "close_code",
        "close_reason",
        "closed",
        "floor",
        "id",
        "ip",
        "last_seen",
        "limit",
        "reader",
        "room",
        "typing_at",
    )

    def __init__(self, send: Send, *, node_id: str, ip: str, limit: int) -> None:
        self.id = f"{node_id}.{next(_ids)}"
        self.ip = ip
        self.limit = limit
        self._send = send
        self.closed = False
        self.close_code = 0
        self.close_reason = ""
        self.floor = 0  # frames with seq <= floor were already delivered (replay overlap)
        self.room: Any = None
        self.author_hash: str | None = None
        self.reader: Any = None  # its entry in the reader registry, when it has a reader
        self.typing_at = 0.0
        self.last_seen = time.monotonic()
        self._force: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None
        self._handler = asyncio.current_task()

    def push(self, frame: Frame) -> None:
        raise NotImplementedError

    def drop(self, code: int, reason: str) -> None:
        """Close from the server side. If the close frame cannot be written (the peer reads
        nothing), a timer stops the socket and its handler instead."""
        if self.closed:
            return
        self.closed = True
        self.close_code, self.close_reason = code, reason
        self._dropped()
        self._force = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT * 2, self._stop_all)

    def _dropped(self) -> None:
        self._closing = asyncio.create_task(self._close())

    async def _close(self) -> None:
        try:
            await asyncio.wait_for(
                self._send(
                    {
                        "type": "websocket.close",
                        "code": self.close_code,
                        "reason": self.close_reason[:120],
                    }
                ),
                CLOSE_TIMEOUT,
            )
        except Exception:  # noqa: BLE001 -- timeout, or already closed
            self._stop_all()

    def _stop_all(self) -> None:
        # Ending the handler ends the ASGI call, which frees this socket's room, presence
        # and queue.
        if self._handler is not None and not self._handler.done():
            self._handler.cancel("threadline: dropping a client that does not read")

    async def stop(self) -> None:
        self.closed = True
        if self._force is not None:
            self._force.cancel()


class DirectConnection(LiveConnection):
    """Writes shared wire frames straight to uvicorn's transport: no task, no queue."""

    __slots__ = ("_proto", "_transport")

    def __init__(self, send: Send, proto: Any, **kwargs: Any) -> None:
        super().__init__(send, **kwargs)
        self._proto = proto
        self._transport = proto.transport

    def push(self, frame: Frame) -> None:
        if self.closed:
            return
        transport = self._transport
        if transport.is_closing() or self._proto.close_sent:
            self.closed = True
            return
        if transport.get_write_buffer_size() > self.limit:
            self.drop(Close.TRY_AGAIN, "too slow: send queue full, reconnect and resume")
            return
        transport.write(frame.wire)

    def _stop_all(self) -> None:
        # The peer does not read: waiting to flush its buffer would wait forever.
        self._transport.abort()
        super()._stop_all()


class AsgiConnection(LiveConnection):
    """The portable path: a byte-bounded queue drained by a writer task through ASGI."""

    __slots__ = ("_waiter", "queue", "queued", "writer")

    def __init__(self, send: Send, **kwargs: Any) -> None:
        super().__init__(send, **kwargs)
        self.queue: deque[Frame] = deque()
        self.queued = 0
        self._waiter: asyncio.Future[None] | None = None
        self.writer = asyncio.create_task(self._write())

    def push(self, frame: Frame) -> None:
        if self.closed:
            return
        size = len(frame)
        if self.queued + size > self.limit:
            self.drop(Close.TRY_AGAIN, "too slow: send queue full, reconnect and resume")
            return
        self.queue.append(frame)
        self.queued += size
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _dropped(self) -> None:
        self.queue.clear()
        self.queued = 0
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)  # the writer wakes, sees closed, sends the close frame

    async def _write(self) -> None:
        send, queue = self._send, self.queue
        loop = asyncio.get_running_loop()
        try:
            while not self.closed:
                if not queue:
                    self._waiter = loop.create_future()
                    await self._waiter
                    self._waiter = None
                    continue
                frame = queue.popleft()
                self.queued -= len(frame)  # bytes, as counted in push
                await send({"type": "websocket.send", "text": frame.text})
        except Exception:  # noqa: BLE001 -- the client went away; its handler sees that too
            self.closed = True
            return
        if self.close_code:
            await self._close()

    def _stop_all(self) -> None:
        if not self.writer.done():
            self.writer.cancel()
        super()._stop_all()

    async def stop(self) -> None:
        await super().stop()
        if not self.writer.done():
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.writer


def open_live_connection(scope: Scope, send: Send, **kwargs: Any) -> LiveConnection:
    """The fastest connection the server allows."""
    raw = scope.get(RAW_SEND)
    proto = getattr(raw, "__self__", None)
    if (
        proto is not None
        and hasattr(proto, "transport")
        and hasattr(proto, "close_sent")
        and any(c.__name__ == "WebSocketsSansIOProtocol" for c in type(proto).__mro__)
    ):
        return DirectConnection(send, proto, **kwargs)
    return AsgiConnection(send, **kwargs)
