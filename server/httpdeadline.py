"""uvicorn's HTTP protocol with a deadline for receiving each request.

uvicorn times out idle keep-alive connections, but not a request that arrives a byte at a
time (slowloris) or a connection that opens and never sends: each holds a socket and a
place under ``limit_concurrency`` forever. Here every request, its headers and body, must
arrive within ``THREADLINE_REQUEST_TIMEOUT`` seconds of its first byte (of the connection,
for the first one), or the connection is closed. A websocket's deadline ends at its upgrade;
a slow application is not cut off, only a slow client."""

from __future__ import annotations

import asyncio
import os
from functools import cache

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.settings import Settings


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
        if not self.transport.is_closing():
            self.transport.close()
