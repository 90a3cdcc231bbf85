"""uvicorn's HTTP protocol, hardened against clients that hold sockets.

uvicorn times out idle keep-alive connections, but not a request that arrives a byte at a
time (slowloris) or a connection that opens and never sends: each holds a socket and a
place under ``limit_concurrency`` forever. Here every request, its headers and body, must
arrive within ``THREADLINE_REQUEST_TIMEOUT`` seconds of its first byte (of the connection,
for the first one), or the connection is closed, and reset ``ABORT_AFTER`` seconds later if
the client is not reading either. A websocket's deadline ends at its upgrade; a slow
application is not cut off, only a slow client.

The bounds it enforces (a head's size, connections per client) are in
``server.runtime.limits``."""

from __future__ import annotations

import asyncio

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from server.runtime.limits import (
    ABORT_AFTER,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_TARGET,
    Refusal,
    connection_key,
    head_too_large,
    open_connections,
    request_timeout,
    settings,
    target_too_long,
    too_many_connections,
    too_many_headers,
)


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    deadline: asyncio.TimerHandle | None = None
    # Bytes received for the header block being read (a head, or a chunked body's trailers),
    # never fewer than it has, None while none is open; and the bytes of the head's target
    # and headers parsed so far, as the limit counts them and at the fewest they took.
    block: int | None = None
    head_size = 0
    head_least = 0
    # In the read being parsed: how many of its bytes, at least, came before the parser's
    # position, and before the block that opened in it (None while none has).
    spent = 0
    opened_at: int | None = None
    refused = False
    linger: asyncio.TimerHandle | None = None
    slot: str | None = None  # the connection_key this connection is counted under

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        key = connection_key(self.client[0], settings().trusted_proxies) if self.client else None
        if key is not None:
            limit = settings().http_max_per_ip
            if open_connections[key] >= limit:
                # Refused ones linger a few seconds: they must not take places under
                # uvicorn's global limit_concurrency either.
                self.connections.discard(self)
                self._refuse(too_many_connections(limit))
                return
            open_connections[key] += 1
            self.slot = key
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # answered: what still comes is read and dropped until the client leaves
        # Between requests too: bytes that begin no request (a bare CRLF, which the parser
        # skips) would otherwise cancel uvicorn's keep-alive timer forever.
        if self.deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()
        earlier, self.spent, self.opened_at = self.block, 0, None
        try:
            self._feed(data)
            if self.block is not None:
                # An unfinished header: httptools holds it all. A block that opened in this
                # read (behind a request it completed) holds the read from where it opened.
                self.block = (
                    len(data) - self.opened_at
                    if self.opened_at is not None
                    else (earlier or 0) + len(data)
                )
                if self.block > MAX_HEAD_BYTES:
                    raise head_too_large()
        except Refusal as refusal:
            self._refuse(refusal)

    def _feed(self, data: bytes) -> None:
        """uvicorn's ``data_received``, except that a limit hit in a parser callback is
        answered as such, not as an invalid request (400) with a warning logged."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, Refusal):
                raise exc.__context__ from None
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_size = self.head_least = 0
        self._open()
        if self.deadline is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_TARGET:
            raise target_too_long()
        self._count(len(url), len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= MAX_HEADERS:
            raise too_many_headers()
        # Counted as "name: value\r\n"; it took at least "name:value".
        self._count(len(name) + len(value) + 4, len(name) + len(value) + 1)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        # The head's bytes in this read, at least: all of it if it opened here, else what
        # it has beyond the most it can have had in earlier reads.
        before = 0 if self.opened_at is not None else (self.block or 0)
        self.spent += max(0, self.head_least - before)
        self.block = None
        if self.parser.should_upgrade() and self._should_upgrade():
            self._disarm()  # a websocket now: it has pings and its own limits
        super().on_headers_complete()

    def on_chunk_header(self) -> None:
        self._open()  # the last chunk's trailers may follow: a header block again

    def on_body(self, body: bytes) -> None:
        self.block = None  # a chunk with data, not the trailers
        self.spent += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self.block = None  # until the next request's head begins
        self._disarm()
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._release()  # a websocket now, counted by the hub's own per-IP limit
        super().handle_websocket_upgrade()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._release()
        if self.linger is not None:
            self.linger.cancel()
        super().connection_lost(exc)

    def _release(self) -> None:
        if self.slot is not None:
            open_connections[self.slot] -= 1
            if open_connections[self.slot] <= 0:
                del open_connections[self.slot]
            self.slot = None

    def _open(self) -> None:
        """A header block begins in the read being parsed, after at least ``spent`` of its
        bytes (the framing of what came before is not counted: the block is counted long)."""
        self.block, self.opened_at = 0, self.spent

    def _count(self, size: int, least: int) -> None:
        # A whole head arriving at once is parsed before data_received can look at it.
        self.head_size += size
        self.head_least += least
        if self.head_size > MAX_HEAD_BYTES:
            raise head_too_large()

    def _refuse(self, refusal: Refusal) -> None:
        """Answer, then close once the client has read it. Closing a socket with unread
        input resets it, and a reset can destroy the answer before the client reads it; so
        the rest of the input is read and dropped until the client closes (uvicorn's
        eof_received then closes ours) or ``ABORT_AFTER`` seconds pass."""
        self.refused = True
        self._disarm()
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # The app is still answering an earlier request (pipelined) or this one (a
            # trailer): an answer of ours would interleave with its; just hang up.
            self.transport.close()
            return
        self.transport.write(refusal.response(self.server_state.default_headers))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self.linger = self.loop.call_later(ABORT_AFTER, self.transport.abort)

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
