"""One reader's websocket: a byte-bounded send queue drained by its own writer task."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from typing import Any

from starlette.types import Send

from server.live.protocol import Close

log = logging.getLogger("threadline.live")
_ids = itertools.count(1)
CLOSE_TIMEOUT = 2.0


class Conn:
    """A subscribed socket. ``push`` never blocks: a reader that cannot keep up is dropped
    (close 1013) rather than slowing the fan-out to everyone else on the page."""

    __slots__ = ("_force", "_handler", "_send", "_waiter", "author_hash", "close_code",
                 "close_reason", "closed", "floor", "id", "ip", "last_seen", "limit", "queue",
                 "queued", "room", "typing_at", "writer")

    def __init__(self, send: Send, *, node_id: str, ip: str, limit: int) -> None:
        self.id = f"{node_id}.{next(_ids)}"
        self.ip = ip
        self.limit = limit
        self._send = send
        self.queue: deque[str] = deque()
        self.queued = 0
        self.closed = False
        self.close_code = 0
        self.close_reason = ""
        self.floor = 0  # frames with seq <= floor were already delivered (replay overlap)
        self.room: Any = None
        self.author_hash: str | None = None
        self.typing_at = 0.0
        self.last_seen = time.monotonic()
        self._force: asyncio.TimerHandle | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._handler = asyncio.current_task()
        self.writer = asyncio.create_task(self._write())

    def push(self, text: str) -> None:
        if self.closed:
            return
        size = len(text)
        if self.queued + size > self.limit:
            self.drop(Close.TRY_AGAIN, "too slow: send queue full, reconnect and resume")
            return
        self.queue.append(text)
        self.queued += size
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def drop(self, code: int, reason: str) -> None:
        """Close from the server side. The writer sends the close frame; if it is stuck in a
        send to a peer that reads nothing, a timer stops it and the handler instead."""
        if self.closed:
            return
        self.closed = True
        self.close_code, self.close_reason = code, reason
        self.queue.clear()
        self.queued = 0
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._force = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT * 2, self._stop_all)

    def _stop_all(self) -> None:
        # The peer reads nothing, so not even the close frame fits: ending the handler ends
        # the ASGI call, which frees this socket's room, presence and queue.
        if not self.writer.done():
            self.writer.cancel()
        if self._handler is not None and not self._handler.done():
            self._handler.cancel("threadline: dropping a client that does not read")

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
                text = queue.popleft()
                self.queued -= len(text)
                await send({"type": "websocket.send", "text": text})
        except Exception:  # noqa: BLE001 -- the client went away; its handler sees that too
            self.closed = True
            return
        if self.close_code:
            await self._close()

    async def _close(self) -> None:
        try:
            await asyncio.wait_for(self._send({"type": "websocket.close", "code": self.close_code,
                                               "reason": self.close_reason[:120]}),
                                   CLOSE_TIMEOUT)
        except Exception:  # noqa: BLE001 -- timeout, or already closed
            self._stop_all()

    async def stop(self) -> None:
        self.closed = True
        if self._force is not None:
            self._force.cancel()
        if not self.writer.done():
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.writer
